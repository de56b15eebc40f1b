/**
 * CloneSet `Scale()` (spec §3.3), the first step of every reconcile: PreparingDelete reversal, creation (with
 * instance ids, PVCs and slow start), release of PreparingDelete Pods, specified deletion and scale-in. The counts
 * and the choice of Pods come from the pure core (`calculateDiffs`, `chooseSpecifiedToDelete`,
 * `chooseScaleInVictims`); this file only writes, records expectations before each write and emits events.
 *
 * Our decision (spec/README.md, main): scale-in is not skipped while specified Pods exist; the diff already
 * excludes them from the scale-down count, and the victims share the ready budget left by specified deletion.
 */
import pLimit from 'p-limit';
import type { Pod, PodSpec, PodTemplateSpec } from '../../api/pod-types.js';
import type { PersistentVolumeClaim } from '../../api/pvc-types.js';
import {
  CLONESET_INSTANCE_ID_LABEL, CONTROLLER_REVISION_HASH_LABEL, INPLACE_UPDATE_READY_CONDITION,
  LIFECYCLE_STATE_LABEL, LIFECYCLE_TIMESTAMP_ANNOTATION,
} from '../../api/well-known-keys.js';
import type { LifecycleState } from '../../api/workload-common-types.js';
import { EventReason, isAlreadyExists, isNotFound, mergePatch, resources } from '../../kube/index.js';
import { calculateDiffs, type ExpectationDiffs } from './diffs.js';
import type { JsonValue } from './go-json.js';
import { chooseScaleInVictims, chooseSpecifiedToDelete } from './pod-order.js';
import { formatTimeMs, isSpecifiedDelete, podLifecycleState } from './pod-state.js';
import { cloneSetOwnerReference, revisionLabelValue, SAFE_ENCODE_ALPHABET, type ControllerRevision } from './revision.js';
import { isPodHooked, podKeyName, type CloneSetSyncContext, type PodObject, type ResolvedRevisions } from './sync-context.js';

const INSTANCE_ID_LENGTH = 5;

/** The pod template a revision stores (`data.spec.template` without `$patch`). */
export function revisionTemplate(rev: ControllerRevision): PodTemplateSpec | undefined {
  const t = (rev.data as { spec?: { template?: Record<string, JsonValue> } } | null | undefined)?.spec?.template;
  if (!t || typeof t !== 'object') return undefined;
  const copy = structuredClone(t);
  delete copy['$patch'];
  return copy as unknown as PodTemplateSpec;
}

/** Patches the lifecycle label and its timestamp annotation; records a resourceVersion expectation. */
export async function patchLifecycle(s: CloneSetSyncContext, pod: Pod, state: LifecycleState): Promise<void> {
  const ns = pod.metadata.namespace ?? '';
  const written = await mergePatch<PodObject>(s.client, resources.pods, ns, podKeyName(pod), {
    metadata: {
      labels: { [LIFECYCLE_STATE_LABEL]: state },
      annotations: { [LIFECYCLE_TIMESTAMP_ANNOTATION]: formatTimeMs(s.now) },
    },
  }, { signal: s.rc.signal });
  if (written.metadata.resourceVersion) s.expectations.expectResourceVersion(s.key, podKeyName(pod), written.metadata.resourceVersion, s.now);
}

function randomId(s: CloneSetSyncContext): string {
  let id = '';
  for (let i = 0; i < INSTANCE_ID_LENGTH; i++) id += SAFE_ENCODE_ALPHABET[Math.floor(s.random() * SAFE_ENCODE_ALPHABET.length)]!;
  return id;
}

/**
 * Instance ids for `n` new Pods: first those of the CloneSet's PVCs whose Pod is gone (its volumes are reused),
 * then fresh random ones that no Pod, PVC or other new id uses.
 */
export function availableInstanceIds(s: CloneSetSyncContext, n: number, pvcs: readonly PersistentVolumeClaim[]): string[] {
  const used = new Set<string>();
  for (const p of s.pods) {
    const id = p.metadata.labels?.[CLONESET_INSTANCE_ID_LABEL];
    if (id) used.add(id);
  }
  const free: string[] = [];
  for (const pvc of pvcs) {
    const id = pvc.metadata.labels?.[CLONESET_INSTANCE_ID_LABEL];
    if (id && !used.has(id) && !free.includes(id) && !pvc.metadata.deletionTimestamp) free.push(id);
  }
  free.sort();
  const out = free.slice(0, n);
  const taken = new Set([...used, ...free, ...s.pods.map((p) => podKeyName(p))]);
  while (out.length < n) {
    const id = randomId(s);
    if (taken.has(id) || taken.has(`${s.cs.metadata.name ?? ''}-${id}`)) continue;
    taken.add(id);
    out.push(id);
  }
  return out;
}

interface NewPod { pod: Pod; pvcs: PersistentVolumeClaim[] }

/** One new Pod of `rev` with instance id `id` (§3.3 step 3) and the PVCs it still lacks. */
export function newPodFor(
  s: CloneSetSyncContext, rev: ControllerRevision, template: PodTemplateSpec, id: string, pvcNames: ReadonlySet<string>,
): NewPod {
  const cs = s.cs;
  const csName = cs.metadata.name ?? '';
  const ns = cs.metadata.namespace ?? '';
  const spec: PodSpec = structuredClone(template.spec);
  const gates = spec.readinessGates ?? [];
  if (!gates.some((g) => g.conditionType === INPLACE_UPDATE_READY_CONDITION)) {
    spec.readinessGates = [...gates, { conditionType: INPLACE_UPDATE_READY_CONDITION }];
  }
  const pvcs: PersistentVolumeClaim[] = [];
  for (const vct of cs.spec.volumeClaimTemplates ?? []) {
    const claim = vct.metadata.name ?? '';
    const claimName = `${claim}-${csName}-${id}`;
    spec.volumes = [...(spec.volumes ?? []).filter((v) => v.name !== claim), { name: claim, persistentVolumeClaim: { claimName } }];
    if (pvcNames.has(claimName)) continue;
    pvcs.push({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: {
        name: claimName, namespace: ns,
        labels: { ...(cs.spec.selector.matchLabels ?? {}), [CLONESET_INSTANCE_ID_LABEL]: id },
        ownerReferences: [cloneSetOwnerReference(cs)],
      },
      spec: structuredClone(vct.spec),
    });
  }
  const pod: Pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `${csName}-${id}`, namespace: ns,
      labels: {
        ...(template.metadata?.labels ?? {}),
        [CONTROLLER_REVISION_HASH_LABEL]: revisionLabelValue(rev.metadata.name ?? '', s.gates.enabled('CloneSetShortHash')),
        [CLONESET_INSTANCE_ID_LABEL]: id,
        [LIFECYCLE_STATE_LABEL]: 'Normal',
      },
      annotations: { ...(template.metadata?.annotations ?? {}), [LIFECYCLE_TIMESTAMP_ANNOTATION]: formatTimeMs(s.now) },
      ownerReferences: [cloneSetOwnerReference(cs)],
    },
    spec,
  };
  if (template.metadata?.finalizers) pod.metadata.finalizers = [...template.metadata.finalizers];
  return { pod, pvcs };
}

/** Creates the Pods in slow-start batches 1, 2, 4, …; stops after the first batch with a failure. */
async function createPods(s: CloneSetSyncContext, pods: readonly NewPod[]): Promise<number> {
  const limit = pLimit(s.writeConcurrency);
  let created = 0;
  let firstError: unknown;
  for (let start = 0, size = 1; start < pods.length && firstError === undefined; start += size, size *= 2) {
    const batch = pods.slice(start, start + size);
    s.expectations.expectCreations(s.key, batch.flatMap((b) => [podKeyName(b.pod), ...b.pvcs.map((c) => c.metadata.name ?? '')]), s.now);
    const results = await Promise.allSettled(batch.map((b) => limit(() => createOne(s, b))));
    for (const r of results) {
      if (r.status === 'fulfilled') created++;
      else firstError ??= r.reason;
    }
  }
  if (firstError !== undefined) throw firstError;
  return created;
}

async function createOne(s: CloneSetSyncContext, b: NewPod): Promise<void> {
  const podName = podKeyName(b.pod);
  for (const pvc of b.pvcs) {
    const name = pvc.metadata.name ?? '';
    try {
      await s.client.create(resources.persistentVolumeClaims, pvc as unknown as PodObject, s.rc.signal);
    } catch (e) {
      // Already there: an earlier attempt made it; the informer may not show it yet and will not report a create.
      s.expectations.creationFailed(s.key, name);
      if (!isAlreadyExists(e)) {
        s.expectations.creationFailed(s.key, podName);
        for (const other of b.pvcs) s.expectations.creationFailed(s.key, other.metadata.name ?? '');
        s.recorder.event(s.cs, 'Warning', EventReason.FailedCreate, `failed to create pvc: ${errorText(e)}, pvc: ${name}`);
        throw e;
      }
    }
  }
  try {
    await s.client.create(resources.pods, b.pod as PodObject, s.rc.signal);
  } catch (e) {
    s.expectations.creationFailed(s.key, podName);
    s.recorder.event(s.cs, 'Warning', EventReason.FailedCreate, `failed to create pod: ${errorText(e)}, pod: ${podName}`);
    throw e;
  }
  s.recorder.event(s.cs, 'Normal', EventReason.SuccessfulCreate, `succeed to create pod ${podName}`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Deletes Pods and their same-instance PVCs (§2.4); expectations first, rolled back on failure. */
async function deletePods(s: CloneSetSyncContext, pods: readonly Pod[], pvcs: readonly PersistentVolumeClaim[]): Promise<number> {
  const limit = pLimit(s.writeConcurrency);
  const results = await Promise.allSettled(pods.map((pod) => limit(async () => {
    const id = pod.metadata.labels?.[CLONESET_INSTANCE_ID_LABEL];
    const claims = id ? pvcs.filter((c) => c.metadata.labels?.[CLONESET_INSTANCE_ID_LABEL] === id && !c.metadata.deletionTimestamp) : [];
    const names = [podKeyName(pod), ...claims.map((c) => c.metadata.name ?? '')];
    s.expectations.expectDeletions(s.key, names, s.now);
    const ns = pod.metadata.namespace ?? '';
    try {
      await s.client.delete(resources.pods, ns, podKeyName(pod), { signal: s.rc.signal, ...(pod.metadata.uid ? { preconditions: { uid: pod.metadata.uid } } : {}) });
    } catch (e) {
      if (isNotFound(e)) s.expectations.deletionObserved(s.key, podKeyName(pod));
      else {
        for (const n of names) s.expectations.deletionFailed(s.key, n);
        throw e;
      }
    }
    s.recorder.event(s.cs, 'Normal', EventReason.SuccessfulDelete, `succeed to delete pod ${podKeyName(pod)}`);
    for (const c of claims) {
      try {
        await s.client.delete(resources.persistentVolumeClaims, ns, c.metadata.name ?? '', { signal: s.rc.signal });
      } catch (e) {
        if (isNotFound(e)) s.expectations.deletionObserved(s.key, c.metadata.name ?? '');
        else {
          s.expectations.deletionFailed(s.key, c.metadata.name ?? '');
          throw e;
        }
      }
    }
  })));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return pods.length;
}

/** Deletes the Pods, or moves those the preDelete hook holds to PreparingDelete first (§2.4). */
async function deleteOrPrepare(s: CloneSetSyncContext, pods: readonly Pod[], pvcs: readonly PersistentVolumeClaim[]): Promise<number> {
  const hook = s.cs.spec.lifecycle?.preDelete;
  const hooked = pods.filter((p) => isPodHooked(hook, p));
  for (const p of hooked) await patchLifecycle(s, p, 'PreparingDelete');
  return hooked.length + await deletePods(s, pods.filter((p) => !hooked.includes(p)), pvcs);
}

export interface ScaleResult {
  /** Something was written: Update does not run in this reconcile (§3.3 "scale before update"). */
  modified: boolean;
  diffs: ExpectationDiffs;
}

/** §3.3. `pvcs` are the CloneSet's PVCs (controller reference) from the cache. */
export async function syncScale(s: CloneSetSyncContext, revs: ResolvedRevisions, pvcs: readonly PersistentVolumeClaim[]): Promise<ScaleResult> {
  const { cs, pods } = s;
  const replicas = cs.spec.replicas ?? 1;
  const preparing = pods.filter((p) => podLifecycleState(p) === 'PreparingDelete');
  const specified = pods.filter((p) => isSpecifiedDelete(cs, p));
  const numToDelete = new Set([...preparing, ...specified]).size;
  const diffs = calculateDiffs(cs, pods, revs.current.metadata.name ?? '', revs.update.metadata.name ?? '', s.gates, s.now);

  // 1. Scaled back up while Pods wait in PreparingDelete: bring some back to Normal instead of creating new ones.
  const room = replicas - pods.length + numToDelete;
  if (preparing.length > 0 && room > 0) {
    const back = preparing.filter((p) => !isSpecifiedDelete(cs, p)).slice(0, room);
    for (const p of back) await patchLifecycle(s, p, 'Normal');
    if (back.length > 0) {
      s.rc.logger.info({ pods: back.map(podKeyName) }, 'moved PreparingDelete pods back to Normal');
      return { modified: true, diffs };
    }
  }

  // 3. Scale out: the first max(scaleNumOldRevision, 0) from the current revision's template.
  if (diffs.scaleNum > 0) {
    const oldCount = Math.min(Math.max(diffs.scaleNumOldRevision, 0), diffs.scaleNum);
    const ids = availableInstanceIds(s, diffs.scaleNum, pvcs);
    const pvcNames = new Set(pvcs.filter((c) => !c.metadata.deletionTimestamp).map((c) => c.metadata.name ?? ''));
    const currentTemplate = revs.current === revs.update ? cs.spec.template : revisionTemplate(revs.current) ?? cs.spec.template;
    const newPods = ids.map((id, i) => (i < oldCount
      ? newPodFor(s, revs.current, currentTemplate, id, pvcNames)
      : newPodFor(s, revs.update, cs.spec.template, id, pvcNames)));
    s.rc.logger.info({ scaleNum: diffs.scaleNum, oldRevision: oldCount, pods: newPods.map((n) => podKeyName(n.pod)) }, 'creating pods');
    const created = await createPods(s, newPods);
    return { modified: created > 0, diffs };
  }

  // 4. PreparingDelete Pods the hook released.
  const released = preparing.filter((p) => !isPodHooked(cs.spec.lifecycle?.preDelete, p));
  if (released.length > 0) {
    await deletePods(s, released, pvcs);
    return { modified: true, diffs };
  }

  // 5. Specified deletion, then 6. scale-in with the budget left (our decision: no skip while specified exist).
  const chosen = chooseSpecifiedToDelete(cs, pods, revs.update.metadata.name ?? '', diffs.deleteReadyLimit, s.now);
  const victims = chooseScaleInVictims(cs, pods, diffs, revs.update.metadata.name ?? '', chosen.remainingLimit, s.now);
  const toDelete = [...chosen.pods, ...victims.pods];
  if (toDelete.length === 0) return { modified: false, diffs };
  s.rc.logger.info({
    specified: chosen.pods.map(podKeyName), scaleIn: victims.pods.map(podKeyName),
    waitingForBudget: [...chosen.skipped, ...victims.skipped].map(podKeyName),
  }, 'deleting pods');
  const n = await deleteOrPrepare(s, toDelete, pvcs);
  return { modified: n > 0, diffs };
}

