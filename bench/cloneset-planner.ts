/**
 * The CloneSet planner's cost, in process: `calculateDiffs` + `chooseUpdateCandidates` over synthetic Pods of one
 * CloneSet mid-update (half the Pods on the update revision, all Running and Ready, maxUnavailable 20%), the
 * work one reconcile of a large CloneSet does before it writes anything. Pure functions: no API server involved.
 */
import { performance } from 'node:perf_hooks';
import type { CloneSet } from '../src/api/cloneset-types.js';
import { sandboxFeatureGates } from '../src/api/feature-gates.js';
import type { Pod } from '../src/api/pod-types.js';
import {
  CLONESET_INSTANCE_ID_LABEL, CONTROLLER_REVISION_HASH_LABEL, INPLACE_UPDATE_READY_CONDITION, LIFECYCLE_STATE_LABEL,
} from '../src/api/well-known-keys.js';
import { calculateDiffs } from '../src/coordinator/cloneset/diffs.js';
import { chooseUpdateCandidates } from '../src/coordinator/cloneset/pod-order.js';
import { summarise, type Summary } from './stats.js';

export interface PlannerResult {
  pods: number;
  iterations: number;
  /** One calculateDiffs + chooseUpdateCandidates, ms. */
  planMs: Summary;
  /** What the last plan decided (a sanity check that the work is real). */
  updateNum: number;
  chosen: number;
}

const CURRENT = 'bench-6b8f9c7d4';
const UPDATE = 'bench-5c7d9f8b6';

function syntheticPods(n: number, nodes: number, now: number): Pod[] {
  const t = new Date(now - 3_600_000).toISOString();
  return Array.from({ length: n }, (_, i) => {
    const id = `x${i.toString(36).padStart(4, '0')}`;
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: `bench-${id}`, namespace: 'default', uid: `uid-${i}`, creationTimestamp: t,
        labels: {
          app: 'bench', [CLONESET_INSTANCE_ID_LABEL]: id, [LIFECYCLE_STATE_LABEL]: 'Normal',
          [CONTROLLER_REVISION_HASH_LABEL]: i % 2 === 0 ? UPDATE : CURRENT,
        },
      },
      spec: { nodeName: `node-${i % nodes}`, containers: [{ name: 'main', image: 'nginx:alpine' }], readinessGates: [{ conditionType: INPLACE_UPDATE_READY_CONDITION }] },
      status: {
        phase: 'Running',
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: t },
          { type: INPLACE_UPDATE_READY_CONDITION, status: 'True', lastTransitionTime: t },
        ],
        containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'nginx:alpine', imageID: '', state: { running: { startedAt: t } } }],
      },
    } as unknown as Pod;
  });
}

export function runPlannerBench(pods: number, iterations: number): PlannerResult {
  const now = Date.UTC(2026, 0, 1);
  const cs = {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name: 'bench', namespace: 'default', uid: 'cs-uid', generation: 2 },
    spec: {
      replicas: pods, selector: { matchLabels: { app: 'bench' } },
      template: { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] } },
      updateStrategy: { type: 'InPlaceIfPossible', partition: 0, maxUnavailable: '20%' },
    },
  } as unknown as CloneSet;
  const list = syntheticPods(pods, 200, now);
  const gates = sandboxFeatureGates('');
  const samples: number[] = [];
  let updateNum = 0;
  let chosen = 0;
  // Warm-up (JIT), not recorded.
  for (let i = 0; i < 50; i++) {
    const d = calculateDiffs(cs, list, CURRENT, UPDATE, gates, now);
    chooseUpdateCandidates(cs, list, d, CURRENT, UPDATE, now);
  }
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const d = calculateDiffs(cs, list, CURRENT, UPDATE, gates, now);
    const c = chooseUpdateCandidates(cs, list, d, CURRENT, UPDATE, now);
    samples.push(performance.now() - t0);
    updateNum = d.updateNum;
    chosen = c.pods.length;
  }
  return { pods, iterations, planMs: summarise(samples), updateNum, chosen };
}
