/**
 * CloneSet `Update()` (spec §3.6), run only when Scale wrote nothing: refresh Pods (InPlaceUpdateReady, lifecycle
 * Updating → Normal/Updated, Updated → Normal), then move the Pods `chooseUpdateCandidates` picks to the target
 * revision, in place when the change is image-only (§4.7) or by recreation (the specified-delete label; the next
 * Scale deletes and replaces the Pod under the maxUnavailable/maxSurge rules).
 *
 * Known gap: `inPlaceUpdateStrategy.gracePeriodSeconds` is not applied (images are patched at once).
 */
import type { Condition } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import {
  CONTROLLER_REVISION_HASH_LABEL, INPLACE_UPDATE_READY_CONDITION, INPLACE_UPDATE_STATE_ANNOTATION,
  INPLACE_UPDATE_STATE_ANNOTATION_OLD, LIFECYCLE_STATE_LABEL, LIFECYCLE_TIMESTAMP_ANNOTATION, SPECIFIED_DELETE_LABEL,
} from '../../api/well-known-keys.js';
import type { LifecycleState } from '../../api/workload-common-types.js';
import {
  EventReason, isNotFound, mergePatch, resources, updateStatusWithRetry, updateWithRetry,
} from '../../kube/index.js';
import type { ExpectationDiffs } from './diffs.js';
import { calculateInPlaceUpdateSpec, inPlaceUpdateCompleted, inPlaceUpdateStateValue } from './inplace.js';
import { chooseUpdateCandidates } from './pod-order.js';
import { formatTimeMs, podCondition, podLifecycleState } from './pod-state.js';
import { isPodOnRevision, revisionLabelValue, type ControllerRevision } from './revision.js';
import { patchLifecycle } from './scale-executor.js';
import { isPodHooked, podKeyName, type CloneSetSyncContext, type PodObject, type ResolvedRevisions } from './sync-context.js';

type WritablePod = PodObject;

function hasInPlaceGate(pod: Pod): boolean {
  return (pod.spec.readinessGates ?? []).some((g) => g.conditionType === INPLACE_UPDATE_READY_CONDITION);
}

function withCondition(pod: Pod, c: Condition): Pod | undefined {
  const conditions = [...(pod.status?.conditions ?? [])];
  const i = conditions.findIndex((x) => x.type === c.type);
  if (i >= 0 && conditions[i]!.status === c.status && conditions[i]!.reason === c.reason) return undefined;
  if (i >= 0) conditions[i] = c;
  else conditions.push(c);
  return { ...pod, status: { ...(pod.status ?? {}), conditions } };
}

async function setInPlaceCondition(s: CloneSetSyncContext, pod: Pod, status: 'True' | 'False', reason?: string): Promise<void> {
  const written = await updateStatusWithRetry<WritablePod>(s.client, resources.pods, pod.metadata.namespace ?? '', podKeyName(pod), (fresh) => {
    if (fresh.metadata.uid !== pod.metadata.uid) return undefined;
    return withCondition(fresh, {
      type: INPLACE_UPDATE_READY_CONDITION, status, lastTransitionTime: formatTimeMs(s.now), ...(reason ? { reason } : {}),
    }) as WritablePod | undefined;
  }, { signal: s.rc.signal });
  if (written.metadata.resourceVersion) s.expectations.expectResourceVersion(s.key, podKeyName(pod), written.metadata.resourceVersion, s.now);
}

/**
 * §3.6 step 2: returns whether a Pod was written. InPlaceUpdateReady becomes True once the in-place update
 * completed (§4.7); lifecycle Updating → Updated (hook holds) or Normal, and Updated → Normal once released.
 */
async function refreshPods(s: CloneSetSyncContext): Promise<boolean> {
  const hook = s.cs.spec.lifecycle?.inPlaceUpdate;
  let written = false;
  for (const pod of s.pods) {
    const completed = inPlaceUpdateCompleted(pod).completed;
    if (completed && hasInPlaceGate(pod) && podCondition(pod, INPLACE_UPDATE_READY_CONDITION)?.status !== 'True') {
      await setInPlaceCondition(s, pod, 'True');
      written = true;
    }
    const state = podLifecycleState(pod);
    let next: LifecycleState | undefined;
    if (state === 'Updating' && completed) next = isPodHooked(hook, pod) ? 'Updated' : 'Normal';
    else if (state === 'Updated' && !isPodHooked(hook, pod)) next = 'Normal';
    if (next) {
      await patchLifecycle(s, pod, next);
      written = true;
    }
  }
  return written;
}

/** The in-place update of one Pod (§4.7): InPlaceUpdateReady=False first, then images, labels and the state. */
async function updateInPlace(
  s: CloneSetSyncContext, pod: Pod, from: ControllerRevision, target: ControllerRevision,
  spec: NonNullable<ReturnType<typeof calculateInPlaceUpdateSpec>>,
): Promise<void> {
  const name = podKeyName(pod);
  const targetName = target.metadata.name ?? '';
  const label = revisionLabelValue(targetName, s.gates.enabled('CloneSetShortHash'));
  if (hasInPlaceGate(pod)) await setInPlaceCondition(s, pod, 'False', 'StartInPlaceUpdate');
  s.expectations.expectUpdate(s.key, name, label, s.now);
  try {
    await updateWithRetry<WritablePod>(s.client, resources.pods, pod.metadata.namespace ?? '', name, (fresh) => {
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
      const containers = fresh.spec.containers.map((c) => (
        Object.hasOwn(spec.containerImages, c.name) ? { ...c, image: spec.containerImages[c.name]! } : c));
      return { ...fresh, metadata: { ...fresh.metadata, labels, annotations }, spec: { ...fresh.spec, containers } };
    }, { signal: s.rc.signal });
  } catch (e) {
    s.expectations.observeUpdate(s.key, name, label);
    if (isNotFound(e)) return;
    throw e;
  }
  s.recorder.event(s.cs, 'Normal', EventReason.SuccessfulUpdatePodInPlace, `successfully update pod ${name} in-place(revision ${targetName})`);
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
export async function syncUpdate(s: CloneSetSyncContext, revs: ResolvedRevisions, diffs: ExpectationDiffs): Promise<void> {
  const { cs } = s;
  const strategy = cs.spec.updateStrategy ?? {};
  if (strategy.paused) return;
  if (await refreshPods(s)) return;
  if (diffs.updateNum === 0) return;

  const choice = chooseUpdateCandidates(cs, s.pods, diffs, revs.current.metadata.name ?? '', revs.update.metadata.name ?? '', s.now);
  const target = choice.targetRevision === revs.update.metadata.name ? revs.update : revs.current;
  const type = strategy.type ?? 'ReCreate';
  const errors: Error[] = [];
  for (const pod of choice.pods) {
    try {
      const from = revs.all.find((r) => isPodOnRevision(pod, r.metadata.name ?? ''));
      const spec = type !== 'ReCreate' && from ? calculateInPlaceUpdateSpec(from.data, target.data) : undefined;
      if (from && spec) {
        const hook = cs.spec.lifecycle?.inPlaceUpdate;
        const state = podLifecycleState(pod);
        if (isPodHooked(hook, pod)) {
          // The hook holds the Pod: announce PreparingUpdate and wait until the hook releases it.
          if (state !== 'PreparingUpdate') await patchLifecycle(s, pod, 'PreparingUpdate');
          continue;
        }
        await updateInPlace(s, pod, from, target, spec);
      } else if (type === 'InPlaceOnly') {
        errors.push(new Error(`find Pod ${podKeyName(pod)} update strategy is InPlaceOnly but can not update in-place`));
      } else {
        await markRecreate(s, pod, target);
      }
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
}
