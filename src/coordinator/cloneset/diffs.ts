/**
 * The core computation of the CloneSet controller (spec §3.2, upstream `calculateDiffsWithExpectation`): from the
 * CloneSet, its active Pods and the two revisions, how many Pods to create or delete (and of which revision), how
 * many ready Pods may be deleted, how many surge Pods to use, and how many Pods to move between revisions.
 *
 * Our decisions (spec/README.md), where v0.9.0 differs:
 * - the scale-down count excludes Pods already specified for deletion (main), so specified deletion and scale-in
 *   do not overshoot and then re-create;
 * - maxSurge is 0 while `updateStrategy.paused` (main, upstream #1153);
 * - a partition percentage is rounded up but leaves at least one Pod updated unless it is exactly "100%"
 *   (main, upstream #954).
 */
import type { CloneSet } from '../../api/cloneset-types.js';
import { DEFAULT_CLONESET_MAX_UNAVAILABLE } from '../../api/cloneset-types.js';
import type { FeatureGates } from '../../api/feature-gates.js';
import { intOrPercentValue, tryScaledValue } from '../../api/int-or-string.js';
import type { IntOrString } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import { isPodActive, isPodReady, isSpecifiedDelete, podLifecycleState } from './pod-state.js';
import { isPodOnRevision } from './revision.js';

/** The record of §3.2. Every field is an integer; a zero record means "nothing to do". */
export interface ExpectationDiffs {
  /** > 0: create that many Pods; < 0: delete that many (beyond the specified ones). */
  scaleNum: number;
  /** Of scaleNum, how many are of the current (old) revision; same sign as scaleNum or 0. */
  scaleNumOldRevision: number;
  /** How many *ready* Pods may be deleted this round. */
  deleteReadyLimit: number;
  /** Surge Pods in use above spec.replicas. */
  useSurge: number;
  /** Of useSurge, how many are of old revisions. */
  useSurgeOldRevision: number;
  /** > 0: move that many Pods to updateRevision; < 0: move that many back to currentRevision (rollback). */
  updateNum: number;
  /** Max not-ready Pods while updating (surplus Pods add budget). */
  updateMaxUnavailable: number;
}

export const EMPTY_DIFFS: Readonly<ExpectationDiffs> = Object.freeze({
  scaleNum: 0, scaleNumOldRevision: 0, deleteReadyLimit: 0, useSurge: 0, useSurgeOldRevision: 0, updateNum: 0,
  updateMaxUnavailable: 0,
});

export function isEmptyDiffs(d: ExpectationDiffs): boolean {
  return (Object.keys(EMPTY_DIFFS) as (keyof ExpectationDiffs)[]).every((k) => d[k] === 0);
}

/** Gates read by the computation. */
export type DiffGates = Pick<FeatureGates, 'enabled'>;

/** A scaled int-or-percent where a bad value counts as 0 (upstream ignores the parse error). */
function scaledOrZero(v: IntOrString | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  const r = tryScaledValue(v, total, roundUp);
  return 'error' in r ? 0 : r.value;
}

/**
 * `spec.updateStrategy.partition` as a Pod count (§5.2, main rule): rounded up, clamped to [0, replicas]; a
 * percentage other than exactly "100%" that reaches replicas (> 1) becomes replicas − 1, so at least one Pod is
 * updated. A missing or invalid value is 0.
 */
export function partitionReplicas(partition: IntOrString | undefined | null, replicas: number): number {
  if (partition === undefined || partition === null) return 0;
  let p = scaledOrZero(partition, replicas, true);
  const parsed = intOrPercentValue(partition);
  const isPercent = !('error' in parsed) && parsed.isPercent;
  if (isPercent && partition !== '100%' && p >= replicas && replicas > 1) p = replicas - 1;
  return Math.min(Math.max(p, 0), replicas);
}

/** maxSurge as a Pod count (rounded up); 0 when absent or while paused (main, upstream #1153). */
export function maxSurgeReplicas(cs: CloneSet, replicas: number): number {
  const strategy = cs.spec.updateStrategy;
  if (strategy?.paused) return 0;
  return scaledOrZero(strategy?.maxSurge, replicas, true);
}

/** maxUnavailable as a Pod count: default "20%", a percentage rounded down whenever maxSurge > 0. */
export function maxUnavailableReplicas(cs: CloneSet, replicas: number, maxSurge: number): number {
  const v = cs.spec.updateStrategy?.maxUnavailable ?? DEFAULT_CLONESET_MAX_UNAVAILABLE;
  return scaledOrZero(v, replicas, maxSurge === 0);
}

/** The per-revision tallies of step 2, exported for logging and for the executor's decisions. */
export interface PodCounts {
  newTotal: number;
  oldTotal: number;
  newActive: number;
  oldActive: number;
  preDeleting: number;
  toDeleteNew: number;
  toDeleteOld: number;
  notReadyNew: number;
  notReadyOld: number;
}

export function countPods(cs: CloneSet, pods: readonly Pod[], updateRevision: string, now: number): PodCounts {
  const c: PodCounts = {
    newTotal: 0, oldTotal: 0, newActive: 0, oldActive: 0, preDeleting: 0, toDeleteNew: 0, toDeleteOld: 0,
    notReadyNew: 0, notReadyOld: 0,
  };
  for (const pod of pods) {
    const isNew = isPodOnRevision(pod, updateRevision);
    if (isNew) c.newTotal++;
    else c.oldTotal++;
    if (podLifecycleState(pod) === 'PreparingDelete') {
      c.preDeleting++;
      continue;
    }
    if (isNew) c.newActive++;
    else c.oldActive++;
    if (isSpecifiedDelete(cs, pod)) {
      if (isNew) c.toDeleteNew++;
      else c.toDeleteOld++;
    } else if (!isPodReady(cs, pod, now)) {
      if (isNew) c.notReadyNew++;
      else c.notReadyOld++;
    }
  }
  return c;
}

/**
 * §3.2 with our decisions (module comment). `pods` are the CloneSet's Pods; inactive ones (terminated or with a
 * deletionTimestamp) are ignored. `now` (epoch ms) only serves minReadySeconds.
 */
export function calculateDiffs(
  cs: CloneSet, pods: readonly Pod[], currentRevision: string, updateRevision: string, gates: DiffGates, now: number,
): ExpectationDiffs {
  const active = pods.filter(isPodActive);
  const replicas = cs.spec.replicas ?? 1;
  const partition = partitionReplicas(cs.spec.updateStrategy?.partition, replicas);
  const maxSurge = maxSurgeReplicas(cs, replicas);
  const maxUnavailable = maxUnavailableReplicas(cs, replicas, maxSurge);
  const c = countPods(cs, active, updateRevision, now);
  const res: ExpectationDiffs = { ...EMPTY_DIFFS };

  // Step 3: the distance of each revision from its target.
  let updateOldDiff = c.oldActive - partition;
  let updateNewDiff = c.newActive - (replicas - partition);
  if (updateRevision === currentRevision || !gates.enabled('CloneSetPartitionRollback')) {
    updateOldDiff = Math.max(updateOldDiff, 0);
    updateNewDiff = Math.min(updateNewDiff, 0);
  }

  // Step 4: surge for specified deletion or for updating, the larger need wins (never both in one round).
  if (maxSurge > 0) {
    let scaleSurge = 0;
    let scaleOldRevisionSurge = 0;
    const toDelete = c.toDeleteNew + c.toDeleteOld;
    if (toDelete > 0) {
      const unavailable = c.notReadyNew + c.notReadyOld + toDelete + c.preDeleting;
      scaleSurge = Math.min(Math.max(unavailable - maxUnavailable, 0), toDelete);
      scaleOldRevisionSurge = Math.max(scaleSurge - c.toDeleteNew, 0);
    }
    let updateSurge = 0;
    let updateOldRevisionSurge = 0;
    if ((updateOldDiff > 0 && updateNewDiff < 0) || (updateOldDiff < 0 && updateNewDiff > 0)) {
      if (Math.abs(updateOldDiff) <= Math.abs(updateNewDiff)) {
        updateSurge = Math.abs(updateOldDiff);
        if (updateOldDiff < 0) updateOldRevisionSurge = updateSurge;
      } else {
        updateSurge = Math.abs(updateNewDiff);
        if (updateNewDiff > 0) updateOldRevisionSurge = updateSurge;
      }
    }
    if (scaleSurge >= updateSurge) {
      res.useSurge = Math.min(maxSurge, scaleSurge);
      res.useSurgeOldRevision = Math.min(res.useSurge, scaleOldRevisionSurge);
    } else {
      res.useSurge = Math.min(maxSurge, updateSurge);
      res.useSurgeOldRevision = Math.min(res.useSurge, updateOldRevisionSurge);
    }
  }

  // Step 5: scale. Scale-down excludes the Pods already specified for deletion (spec/README.md, main).
  const expectedTotal = replicas + res.useSurge;
  const expectedOld = partition + res.useSurgeOldRevision;
  const scaleUp = expectedTotal - active.length;
  if (scaleUp > 0) {
    res.scaleNum = scaleUp;
    res.scaleNumOldRevision = Math.max(expectedOld - c.oldTotal, 0);
  } else {
    const scaleDown = active.length - c.toDeleteNew - c.toDeleteOld - expectedTotal;
    if (scaleDown > 0) {
      res.scaleNum = -scaleDown;
      res.scaleNumOldRevision = -Math.max(c.oldTotal - c.toDeleteOld - expectedOld, 0);
    }
  }

  // Step 6: the ready-deletion budget. Specified Pods are not in the not-ready counts.
  if (c.toDeleteNew + c.toDeleteOld > 0 || res.scaleNum < 0) {
    res.deleteReadyLimit = Math.max(
      maxUnavailable + (active.length - replicas) - c.preDeleting - c.notReadyNew - c.notReadyOld, 0);
  }

  // Step 7: the update count, whichever side is closer to its target.
  res.updateNum = Math.abs(updateOldDiff) <= Math.abs(updateNewDiff) ? updateOldDiff : -updateNewDiff;
  if (res.updateNum !== 0) res.updateMaxUnavailable = maxUnavailable + active.length - replicas;

  // Normalise -0 so records compare with deepEqual.
  for (const k of Object.keys(res) as (keyof ExpectationDiffs)[]) if (res[k] === 0) res[k] = 0;
  return res;
}
