/**
 * Pod predicates of the CloneSet controller (spec §0.3, §2.4). Pure: time comes in as `now` (epoch ms), never
 * from a clock. Pod timestamps stay RFC 3339 strings, as on the wire.
 */
import type { CloneSet } from '../../api/cloneset-types.js';
import type { Condition } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import {
  INPLACE_UPDATE_GRACE_ANNOTATION, INPLACE_UPDATE_READY_CONDITION, LIFECYCLE_STATE_LABEL, SPECIFIED_DELETE_LABEL,
} from '../../api/well-known-keys.js';
import type { LifecycleState } from '../../api/workload-common-types.js';

/** Epoch ms of an RFC 3339 string; undefined when absent or unparsable (a "zero" time in Go terms). */
export function parseTimeMs(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `metav1.Time` on the wire: whole seconds, UTC, `Z`. */
export function formatTimeMs(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function podCondition(pod: Pod, type: string): Condition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** active: phase not Succeeded/Failed and no deletionTimestamp (§0.3). */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** k8s-ready: condition Ready is True; the phase is not consulted (§0.3). */
export function isPodK8sReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/** Epoch ms of the Ready condition's lastTransitionTime; undefined for a zero time. */
export function readySinceMs(pod: Pod): number | undefined {
  return parseTimeMs(podCondition(pod, 'Ready')?.lastTransitionTime);
}

/**
 * available(minReadySeconds): k8s-ready and (minReadySeconds == 0 or Ready's lastTransitionTime + minReadySeconds
 * ≤ now). A zero transition time never becomes available when minReadySeconds > 0. (Upstream compares with a
 * strict `Before`; the spec says ≤; the two differ only at the exact millisecond.)
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodK8sReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = readySinceMs(pod);
  return since !== undefined && since + minReadySeconds * 1000 <= now;
}

/** CloneSet update-ready(m): Running, available(m), and InPlaceUpdateReady True when the Pod has that condition. */
export function isPodUpdateReady(pod: Pod, minReadySeconds: number, now: number): boolean {
  if (pod.status?.phase !== 'Running') return false;
  if (!isPodAvailable(pod, minReadySeconds, now)) return false;
  const inPlace = podCondition(pod, INPLACE_UPDATE_READY_CONDITION);
  return inPlace === undefined || inPlace.status === 'True';
}

/** The lifecycle label, '' when absent. */
export function podLifecycleState(pod: Pod): LifecycleState | '' {
  return (pod.metadata.labels?.[LIFECYCLE_STATE_LABEL] ?? '') as LifecycleState | '';
}

/**
 * CloneSet *isPodReady* used by scale and update accounting (§0.3): lifecycle empty or Normal and
 * update-ready(spec.minReadySeconds).
 */
export function isPodReady(cs: CloneSet, pod: Pod, now: number): boolean {
  const state = podLifecycleState(pod);
  if (state !== '' && state !== 'Normal') return false;
  return isPodUpdateReady(pod, cs.spec.minReadySeconds ?? 0, now);
}

/** Specified for deletion: named in `scaleStrategy.podsToDelete` or carrying the specified-delete label (§2.4). */
export function isSpecifiedDelete(cs: CloneSet, pod: Pod): boolean {
  if (pod.metadata.labels && Object.hasOwn(pod.metadata.labels, SPECIFIED_DELETE_LABEL)) return true;
  const name = pod.metadata.name;
  return name !== undefined && (cs.spec.scaleStrategy?.podsToDelete ?? []).includes(name);
}

/** The Pod still waits out an in-place update grace period (§3.6 step 4). */
export function isInPlaceUpdateGracePending(pod: Pod): boolean {
  const v = pod.metadata.annotations?.[INPLACE_UPDATE_GRACE_ANNOTATION];
  return v !== undefined && v !== '';
}

/** Highest restartCount among the Pod's containers (0 when none). */
export function maxContainerRestarts(pod: Pod): number {
  let max = 0;
  for (const s of pod.status?.containerStatuses ?? []) if (s.restartCount > max) max = s.restartCount;
  return max;
}
