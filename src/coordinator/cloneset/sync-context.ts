/**
 * What the CloneSet executors share during one reconcile: the writers (client, recorder, expectations), the
 * defaulted CloneSet, its active Pods as the cache shows them, the resolved revisions and `now`. Built by the
 * reconciler (cloneset-controller.ts), read-only for the executors.
 */
import type { CloneSet } from '../../api/cloneset-types.js';
import type { FeatureGates } from '../../api/feature-gates.js';
import type { KubeObject } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import type { LifecycleHook } from '../../api/workload-common-types.js';
import type { ControllerExpectations, EventRecorder, KubeClient, ReconcileContext } from '../../kube/index.js';
import type { ControllerRevision } from './revision.js';

export interface ResolvedRevisions {
  current: ControllerRevision;
  update: ControllerRevision;
  /** The CloneSet's revisions after this reconcile's revision writes (for a Pod's own revision). */
  all: readonly ControllerRevision[];
  collisionCount: number;
}

export interface CloneSetSyncContext {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly expectations: ControllerExpectations;
  readonly gates: Pick<FeatureGates, 'enabled'>;
  /** `namespace/name`, the expectations' owner key. */
  readonly key: string;
  /** The CloneSet with the mutating webhook's defaults applied (spec §3.1), a private copy. */
  readonly cs: CloneSet;
  /** Active Pods controlled by the CloneSet (cache objects: never mutate). */
  readonly pods: readonly Pod[];
  readonly now: number;
  readonly rc: ReconcileContext;
  /** In [0, 1), for instance ids. */
  readonly random: () => number;
  /** Creations or deletions in flight at once within one batch; Pod updates in flight at once. */
  readonly writeConcurrency: number;
}

/** A lifecycle hook holds the Pod: one of its labelsHandler pairs or finalizersHandler finalizers is on it (§2.4). */
export function isPodHooked(hook: LifecycleHook | undefined, pod: Pod): boolean {
  if (!hook) return false;
  const labels = pod.metadata.labels ?? {};
  for (const [k, v] of Object.entries(hook.labelsHandler ?? {})) if (labels[k] === v) return true;
  const finalizers = pod.metadata.finalizers ?? [];
  return (hook.finalizersHandler ?? []).some((f) => finalizers.includes(f));
}

export function podKeyName(pod: Pod): string {
  return pod.metadata.name ?? '';
}

/** A Pod as the client reads and writes it. */
export type PodObject = Pod & KubeObject;
/** A ControllerRevision as the client reads and writes it. */
export type RevisionObject = ControllerRevision & KubeObject;
