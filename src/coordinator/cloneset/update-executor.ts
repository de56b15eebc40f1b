/**
 * CloneSet `Update()` (spec §3.6), run only when Scale wrote nothing: refresh Pods (InPlaceUpdateReady, lifecycle
 * Updating → Normal/Updated, Updated → Normal), then move the Pods `chooseUpdateCandidates` picks to the target
 * revision, in place when the change is image-only (§4.7) or by recreation (the specified-delete label; the next
 * Scale deletes and replaces the Pod under the maxUnavailable/maxSurge rules).
 *
 * `inPlaceUpdateStrategy.gracePeriodSeconds` > 0 (§4.7): the update first writes InPlaceUpdateReady=False, the
 * revision label, the state and the grace annotation with the pending images, but not the images; the refresh of
 * a later reconcile patches them once the grace has elapsed and removes the annotation. `syncUpdate` returns when
 * the next grace ends so the reconcile is requeued then (nothing else would wake it: the Pod does not change).
 */
import pLimit from 'p-limit';
import { KruiseError } from '../../api/errors.js';
import type { Pod } from '../../api/pod-types.js';
import {
  CONTROLLER_REVISION_HASH_LABEL, INPLACE_UPDATE_GRACE_ANNOTATION, INPLACE_UPDATE_GRACE_ANNOTATION_OLD,
  INPLACE_UPDATE_READY_CONDITION, INPLACE_UPDATE_STATE_ANNOTATION, INPLACE_UPDATE_STATE_ANNOTATION_OLD, LIFECYCLE_STATE_LABEL, LIFECYCLE_TIMESTAMP_ANNOTATION, SPECIFIED_DELETE_LABEL,
} from '../../api/well-known-keys.js';
import type { LifecycleState } from '../../api/workload-common-types.js';
import { EventReason, isNotFound, mergePatch, resources } from '../../kube/index.js';
import type { ExpectationDiffs } from './diffs.js';
import {
  calculateInPlaceUpdateSpec, inPlaceUpdateCompleted, inPlaceUpdateGraceDeadlineMs, inPlaceUpdateGraceValue,
  inPlaceUpdateStateValue, readInPlaceUpdateGrace, readInPlaceUpdateState, type InPlaceUpdateGrace,
} from './inplace.js';
import { inPlaceReadyPatch } from './inplace-ready-condition.js';
import { updateFromKnown } from './known-object-update.js';
import { chooseUpdateCandidates } from './pod-order.js';
import { formatTimeMs, parseTimeMs, podCondition, podLifecycleState } from './pod-state.js';
import { isPodOnRevision, revisionLabelValue, type ControllerRevision } from './revision.js';
import { patchLifecycle } from './scale-executor.js';
import { isPodHooked, podKeyName, type CloneSetSyncContext, type PodObject, type ResolvedRevisions } from './sync-context.js';

type WritablePod = PodObject;

/** What `syncUpdate` asks of the reconcile. */
export interface UpdateResult {
  /** Reconcile again after this many ms: the soonest end of an in-place update grace period. */
  requeueAfterMs?: number;
}

/** Collects the soonest of several wake-up times. */
class Soonest {
  ms: number | undefined;
  add(ms: number): void {
    const v = Math.max(ms, 1);
    if (this.ms === undefined || v < this.ms) this.ms = v;
  }
  result(): UpdateResult {
    return this.ms === undefined ? {} : { requeueAfterMs: this.ms };
  }
}

function gracePeriodSeconds(s: CloneSetSyncContext): number {
  return s.cs.spec.updateStrategy?.inPlaceUpdateStrategy?.gracePeriodSeconds ?? 0;
}

function hasInPlaceGate(pod: Pod): boolean {
  return (pod.spec.readinessGates ?? []).some((g) => g.conditionType === INPLACE_UPDATE_READY_CONDITION);
}

/**
 * Sets InPlaceUpdateReady (inplace-ready-condition.ts): one PATCH, where a read-modify-write from the cache met a
 * 409 for most Pods the kubelet was still writing. Returns the Pod as written (or as cached when the condition
 * already held), to chain the next write onto.
 */
async function setInPlaceCondition(s: CloneSetSyncContext, pod: Pod, status: 'True' | 'False', reason?: string): Promise<WritablePod> {
  const patch = inPlaceReadyPatch(pod, status, s.now, reason);
  if (patch === undefined) return pod as WritablePod;
  const written = await s.client.patch<WritablePod>(resources.pods, pod.metadata.namespace ?? '', podKeyName(pod), 'strategic', patch,
    { subresource: 'status', signal: s.rc.signal });
  if (written.metadata.resourceVersion) s.expectations.expectResourceVersion(s.key, podKeyName(pod), written.metadata.resourceVersion, s.now);
  return written;
}

/**
 * §3.6 step 2: returns whether a Pod was written. InPlaceUpdateReady becomes True once the in-place update
 * completed (§4.7); lifecycle Updating → Updated (hook holds) or Normal, and Updated → Normal once released.
 * Pods are refreshed `writeConcurrency` at a time: a round of in-place updates completes together, and its Pods
 * stay not Ready (the InPlaceUpdateReady gate) until this writes them, so a serial loop would pace the rollout.
 */
async function refreshPods(s: CloneSetSyncContext, wake: Soonest): Promise<boolean> {
  // Decided for every Pod first (no I/O), so a reconcile with nothing to refresh queues no work.
  const writes = s.pods.map((pod) => refreshWrite(s, pod, wake));
  if (writes.every((w) => w === undefined)) return false;
  const limit = pLimit(s.writeConcurrency);
  const results = await Promise.allSettled(writes.map((w) => (w ? limit(w) : Promise.resolve())));
  // As the serial loop did: the first failure (in Pod order) is the one FailedUpdate reports.
  const failed = rejections(results);
  if (failed.length > 0) throw failed[0];
  return true;
}

/** The refresh a Pod needs, as a write to run, or `undefined` when it needs none (yet). */
function refreshWrite(s: CloneSetSyncContext, pod: Pod, wake: Soonest): (() => Promise<void>) | undefined {
  const grace = readInPlaceUpdateGrace(pod);
  if (grace !== undefined) {
    if ('error' in grace) {
      // Which images to set is unknown: leave the Pod to the user (FailedUpdate says why) rather than guess.
      const error = new KruiseError(`pod ${podKeyName(pod)}: invalid ${INPLACE_UPDATE_GRACE_ANNOTATION} annotation: ${grace.error}`, {
        reason: 'Invalid', fieldPath: `metadata.annotations[${INPLACE_UPDATE_GRACE_ANNOTATION}]`,
      });
      return () => Promise.reject(error);
    }
    const state = readInPlaceUpdateState(pod);
    const stateStart = state && !('error' in state) ? parseTimeMs(state.updateTimestamp) : undefined;
    const deadline = inPlaceUpdateGraceDeadlineMs(grace, gracePeriodSeconds(s), stateStart);
    if (s.now < deadline) {
      wake.add(deadline - s.now);
      return undefined;
    }
    return () => finishGracePeriod(s, pod, grace);
  }
  const completed = inPlaceUpdateCompleted(pod).completed;
  const setReady = completed && hasInPlaceGate(pod) && podCondition(pod, INPLACE_UPDATE_READY_CONDITION)?.status !== 'True';
  const hook = s.cs.spec.lifecycle?.inPlaceUpdate;
  const state = podLifecycleState(pod);
  let next: LifecycleState | undefined;
  if (state === 'Updating' && completed) next = isPodHooked(hook, pod) ? 'Updated' : 'Normal';
  else if (state === 'Updated' && !isPodHooked(hook, pod)) next = 'Normal';
  if (!setReady && !next) return undefined;
  return async () => {
    if (setReady) await setInPlaceCondition(s, pod, 'True');
    if (next) await patchLifecycle(s, pod, next);
  };
}

/** The failures of `results`, in their order. */
function rejections(results: readonly PromiseSettledResult<unknown>[]): Error[] {
  return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => (r.reason instanceof Error ? r.reason : new Error(String(r.reason))));
}

/** Images of `pod` with `images` (by container name) applied. */
function withImages(pod: WritablePod, images: Readonly<Record<string, string>>): WritablePod['spec']['containers'] {
  return pod.spec.containers.map((c) => (Object.hasOwn(images, c.name) ? { ...c, image: images[c.name]! } : c));
}

/**
 * The grace of an in-place update has elapsed (§4.7): patch the pending images and drop the grace annotation in
 * one write. A Pod moved off the annotation's revision meanwhile (by hand) only loses the annotation.
 */
async function finishGracePeriod(s: CloneSetSyncContext, pod: Pod, grace: InPlaceUpdateGrace): Promise<void> {
  const name = podKeyName(pod);
  let written: WritablePod;
  try {
    written = await updateFromKnown<WritablePod>(s.client, resources.pods, pod as WritablePod, (fresh) => {
      if (fresh.metadata.uid !== pod.metadata.uid) return undefined;
      const annotations = { ...(fresh.metadata.annotations ?? {}) };
      if (annotations[INPLACE_UPDATE_GRACE_ANNOTATION] === undefined) return undefined;
      delete annotations[INPLACE_UPDATE_GRACE_ANNOTATION];
      delete annotations[INPLACE_UPDATE_GRACE_ANNOTATION_OLD];
      const containers = isPodOnRevision(fresh, grace.revision) ? withImages(fresh, grace.containerImages) : fresh.spec.containers;
      return { ...fresh, metadata: { ...fresh.metadata, annotations }, spec: { ...fresh.spec, containers } };
    }, { signal: s.rc.signal });
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  if (written.metadata.resourceVersion) s.expectations.expectResourceVersion(s.key, name, written.metadata.resourceVersion, s.now);
  s.rc.logger.info({ pod: name, revision: grace.revision }, 'in-place update grace period finished');
}

/**
 * The in-place update of one Pod (§4.7): InPlaceUpdateReady=False first, then labels, the state and either the
 * images or, with a grace period, the grace annotation holding them. Returns the grace in ms (0 without one).
 */
async function updateInPlace(
  s: CloneSetSyncContext, pod: Pod, from: ControllerRevision, target: ControllerRevision,
  spec: NonNullable<ReturnType<typeof calculateInPlaceUpdateSpec>>,
): Promise<number> {
  const graceSeconds = gracePeriodSeconds(s);
  const name = podKeyName(pod);
  const targetName = target.metadata.name ?? '';
  const label = revisionLabelValue(targetName, s.gates.enabled('CloneSetShortHash'));
  // The condition write returns the Pod it wrote: the spec write starts from it rather than from a fresh GET.
  const base = hasInPlaceGate(pod) ? await setInPlaceCondition(s, pod, 'False', 'StartInPlaceUpdate') : pod as WritablePod;
  s.expectations.expectUpdate(s.key, name, label, s.now);
  try {
    await updateFromKnown<WritablePod>(s.client, resources.pods, base, (fresh) => {
      if (fresh.metadata.uid !== pod.metadata.uid || !isPodOnRevision(fresh, from.metadata.name ?? '')) return undefined;
      const labels = { ...(fresh.metadata.labels ?? {}) };
      const annotations = { ...(fresh.metadata.annotations ?? {}) };
      if (spec.metadataChanged) {
        Object.assign(labels, spec.newLabels);
        Object.assign(annotations, spec.newAnnotations);
      }
      labels[CONTROLLER_REVISION_HASH_LABEL] = label;
      labels[LIFECYCLE_STATE_LABEL] = 'Updating';
      annotations[LIFECYCLE_TIMESTAMP_ANNOTATION] = formatTimeMs(s.now);
      annotations[INPLACE_UPDATE_STATE_ANNOTATION] = inPlaceUpdateStateValue(fresh, targetName, spec.containerImages, s.now);
      delete annotations[INPLACE_UPDATE_STATE_ANNOTATION_OLD];
      let containers = fresh.spec.containers;
      if (graceSeconds > 0) {
        annotations[INPLACE_UPDATE_GRACE_ANNOTATION] = inPlaceUpdateGraceValue(targetName, spec.containerImages, s.now);
      } else {
        containers = withImages(fresh, spec.containerImages);
      }
      return { ...fresh, metadata: { ...fresh.metadata, labels, annotations }, spec: { ...fresh.spec, containers } };
    }, { signal: s.rc.signal });
  } catch (e) {
    s.expectations.observeUpdate(s.key, name, label);
    if (isNotFound(e)) return 0;
    throw e;
  }
  s.recorder.event(s.cs, 'Normal', EventReason.SuccessfulUpdatePodInPlace, `successfully update pod ${name} in-place(revision ${targetName})`);
  return Math.max(graceSeconds, 0) * 1000;
}

async function markRecreate(s: CloneSetSyncContext, pod: Pod, target: ControllerRevision): Promise<void> {
  const written = await mergePatch<WritablePod>(s.client, resources.pods, pod.metadata.namespace ?? '', podKeyName(pod), {
    metadata: { labels: { [SPECIFIED_DELETE_LABEL]: 'true' } },
  }, { signal: s.rc.signal });
  if (written.metadata.resourceVersion) s.expectations.expectResourceVersion(s.key, podKeyName(pod), written.metadata.resourceVersion, s.now);
  s.recorder.event(s.cs, 'Normal', EventReason.SuccessfulUpdatePodReCreate,
    `successfully update pod ${podKeyName(pod)} by recreating(revision ${target.metadata.name ?? ''})`);
}

/** §3.6. `diffs` are the ones Scale computed on the same observed state. */
export async function syncUpdate(s: CloneSetSyncContext, revs: ResolvedRevisions, diffs: ExpectationDiffs): Promise<UpdateResult> {
  const { cs } = s;
  const strategy = cs.spec.updateStrategy ?? {};
  // §3.6 step 1: paused holds grace periods too; resuming changes the CloneSet, which reconciles it again.
  if (strategy.paused) return {};
  const wake = new Soonest();
  if (await refreshPods(s, wake)) return wake.result();
  if (diffs.updateNum === 0) return wake.result();

  const choice = chooseUpdateCandidates(cs, s.pods, diffs, revs.current.metadata.name ?? '', revs.update.metadata.name ?? '', s.now);
  const target = choice.targetRevision === revs.update.metadata.name ? revs.update : revs.current;
  const type = strategy.type ?? 'ReCreate';
  const hook = cs.spec.lifecycle?.inPlaceUpdate;
  // The chosen Pods (at most the maxUnavailable/maxSurge budget) are written `writeConcurrency` at a time: one
  // by one, a round of hundreds of Pods took longer than the containers take to restart.
  const limit = pLimit(s.writeConcurrency);
  const results = await Promise.allSettled(choice.pods.map((pod) => limit(async () => {
    const from = revs.all.find((r) => isPodOnRevision(pod, r.metadata.name ?? ''));
    const spec = type !== 'ReCreate' && from ? calculateInPlaceUpdateSpec(from.data, target.data) : undefined;
    if (from && spec) {
      if (isPodHooked(hook, pod)) {
        // The hook holds the Pod: announce PreparingUpdate and wait until the hook releases it.
        if (podLifecycleState(pod) !== 'PreparingUpdate') await patchLifecycle(s, pod, 'PreparingUpdate');
        return;
      }
      const graceMs = await updateInPlace(s, pod, from, target, spec);
      if (graceMs > 0) wake.add(graceMs);
    } else if (type === 'InPlaceOnly') {
      throw new Error(`find Pod ${podKeyName(pod)} update strategy is InPlaceOnly but can not update in-place`);
    } else {
      await markRecreate(s, pod, target);
    }
  })));
  const errors = rejections(results);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  return wake.result();
}
