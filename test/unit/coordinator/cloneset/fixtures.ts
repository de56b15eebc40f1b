/**
 * Builders for the CloneSet core tests, shaped like upstream's `createTestCloneSet` / `createTestPod` helpers
 * (spec §3.7): a ready Pod is Running with Ready=True.
 */
import type { CloneSet } from '../../../../src/api/cloneset-types.js';
import { parseFeatureGates, type FeatureGates } from '../../../../src/api/feature-gates.js';
import type { IntOrString } from '../../../../src/api/meta.js';
import type { Pod } from '../../../../src/api/pod-types.js';
import {
  CONTROLLER_REVISION_HASH_LABEL, LIFECYCLE_STATE_LABEL, SPECIFIED_DELETE_LABEL,
} from '../../../../src/api/well-known-keys.js';
import type { LifecycleState } from '../../../../src/api/workload-common-types.js';

/** A fixed "now" (epoch ms) for every test; Pods become ready well before it. */
export const NOW = Date.parse('2021-05-19T12:00:00Z');
export const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

export const GATES_DEFAULT: FeatureGates = parseFeatureGates('');
export const GATES_ROLLBACK: FeatureGates = parseFeatureGates('CloneSetPartitionRollback=true');

export function createTestCloneSet(
  replicas: number, partition: IntOrString, maxUnavailable: IntOrString, maxSurge: IntOrString,
): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1',
    kind: 'CloneSet',
    metadata: { name: 'sample', namespace: 'default', uid: 'uid-sample', generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'sample' } },
      template: {
        metadata: { labels: { app: 'sample' } },
        spec: { containers: [{ name: 'main', image: 'nginx:1.9.1' }] },
      },
      updateStrategy: { type: 'InPlaceIfPossible', partition, maxUnavailable, maxSurge },
      revisionHistoryLimit: 10,
    },
  };
}

let seq = 0;

export interface PodOptions {
  name?: string;
  lifecycle?: LifecycleState;
  ready?: boolean;
  specified?: boolean;
  labels?: Record<string, string>;
}

/** `createTestPod(revision, lifecycleState, ready, specifiedDelete)`. */
export function createTestPod(revision: string, lifecycle: LifecycleState | '' = 'Normal', ready = true, specified = false, name?: string): Pod {
  seq++;
  const labels: Record<string, string> = { app: 'sample', [CONTROLLER_REVISION_HASH_LABEL]: revision };
  if (lifecycle) labels[LIFECYCLE_STATE_LABEL] = lifecycle;
  if (specified) labels[SPECIFIED_DELETE_LABEL] = 'true';
  return {
    metadata: { name: name ?? `pod-${seq}`, namespace: 'default', labels, creationTimestamp: iso(NOW - 3600_000) },
    spec: { nodeName: 'node-1', containers: [{ name: 'main', image: 'nginx:1.9.1' }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: iso(NOW - 600_000) }],
    },
  };
}

/** `n` Pods made by `make`. */
export function times(n: number, make: () => Pod): Pod[] {
  return Array.from({ length: n }, make);
}
