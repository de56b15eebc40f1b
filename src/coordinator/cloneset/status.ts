/**
 * CloneSet status after a reconcile (spec §5.4, §5.5), pure. Our currentRevision rule (spec/README.md, main):
 * `status.currentRevision` becomes the update revision when every active Pod is on it and their number equals
 * `spec.replicas`; readiness is not required (v0.9.0 also required every Pod ready, and compared with the observed
 * Pod count, so a CloneSet with 0 Pods "converged" before it had scaled).
 */
import type { CloneSet, CloneSetStatus } from '../../api/cloneset-types.js';
import { selectorFromLabelSelector, selectorToString } from '../../api/label-selector.js';
import type { Pod } from '../../api/pod-types.js';
import { isPodActive, isPodK8sReady, isPodUpdateReady, readySinceMs } from './pod-state.js';
import { isPodOnRevision } from './revision.js';

export interface StatusInput {
  cloneSet: CloneSet;
  /** The CloneSet's Pods (inactive ones are ignored). */
  pods: readonly Pod[];
  /** Full revision names. */
  updateRevision: string;
  currentRevision: string;
  collisionCount: number;
  now: number;
}

/** `status.labelSelector` (for the scale subresource / HPA); undefined when the selector is invalid. */
export function labelSelectorString(cs: CloneSet): string | undefined {
  try {
    return selectorToString(selectorFromLabelSelector(cs.spec.selector ?? {}, 'spec.selector'));
  } catch {
    return undefined;
  }
}

/** §5.5 counters and revisions, with our currentRevision rule. Conditions are carried over from the old status. */
export function computeStatus(input: StatusInput): CloneSetStatus {
  const { cloneSet: cs, updateRevision, now } = input;
  const minReadySeconds = cs.spec.minReadySeconds ?? 0;
  const status: CloneSetStatus = {
    replicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0, updatedReadyReplicas: 0,
  };
  for (const pod of input.pods) {
    if (!isPodActive(pod)) continue;
    status.replicas++;
    const ready = isPodUpdateReady(pod, 0, now);
    if (ready) status.readyReplicas++;
    if (isPodUpdateReady(pod, minReadySeconds, now)) status.availableReplicas++;
    if (isPodOnRevision(pod, updateRevision)) {
      status.updatedReplicas++;
      if (ready) status.updatedReadyReplicas++;
    }
  }
  if (cs.metadata.generation !== undefined) status.observedGeneration = cs.metadata.generation;
  status.updateRevision = updateRevision;
  const converged = status.updatedReplicas === status.replicas && status.replicas === (cs.spec.replicas ?? 1);
  status.currentRevision = converged ? updateRevision : input.currentRevision;
  status.collisionCount = input.collisionCount;
  const selector = labelSelectorString(cs);
  if (selector !== undefined) status.labelSelector = selector;
  if (cs.status?.conditions && cs.status.conditions.length > 0) status.conditions = structuredClone(cs.status.conditions);
  return status;
}

const COMPARED_FIELDS = [
  'replicas', 'readyReplicas', 'availableReplicas', 'updatedReadyReplicas', 'updatedReplicas', 'updateRevision',
  'currentRevision', 'labelSelector',
] as const satisfies readonly (keyof CloneSetStatus)[];

/**
 * §5.5 write rule: write when observedGeneration increased or a counter, a revision or the selector changed. We
 * also write when collisionCount changed, since revision names depend on it (upstream folds it into the same
 * update only incidentally).
 */
export function statusNeedsUpdate(old: CloneSetStatus | undefined, next: CloneSetStatus): boolean {
  if (old === undefined) return true;
  if ((next.observedGeneration ?? 0) > (old.observedGeneration ?? 0)) return true;
  if ((next.collisionCount ?? 0) !== (old.collisionCount ?? 0)) return true;
  return COMPARED_FIELDS.some((f) => old[f] !== next[f]);
}

/**
 * When minReadySeconds > 0 and a Pod is ready but not yet available, the ms until the first such Pod becomes
 * available (the reconcile should requeue then); undefined when nothing is waiting.
 */
export function minReadyRequeueMs(cs: CloneSet, pods: readonly Pod[], now: number): number | undefined {
  const m = cs.spec.minReadySeconds ?? 0;
  if (m <= 0) return undefined;
  let soonest: number | undefined;
  for (const pod of pods) {
    if (!isPodActive(pod) || !isPodK8sReady(pod)) continue;
    const since = readySinceMs(pod);
    if (since === undefined) continue;
    const wait = since + m * 1000 - now;
    if (wait > 0 && (soonest === undefined || wait < soonest)) soonest = wait;
  }
  return soonest;
}
