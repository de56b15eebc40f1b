/**
 * The InPlaceUpdateReady condition write (spec §4.7): False when an in-place update starts, True once it
 * completed. Written as a strategic merge patch of that one condition through `/status` (merged by `type`, the
 * way the kubelet writes its own conditions), so it needs no read first and never conflicts with the kubelet's
 * status writes. Pure: the executor sends the patch.
 */
import type { Condition } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import { INPLACE_UPDATE_READY_CONDITION } from '../../api/well-known-keys.js';
import { formatTimeMs } from './pod-state.js';

export interface InPlaceReadyPatch {
  metadata: { uid?: string };
  status: { conditions: [Record<string, string | null>] };
}

/**
 * The patch that sets InPlaceUpdateReady to `status` (with `reason`) on `pod`, or `undefined` when the Pod
 * already has that status and reason (habit 13). `metadata.uid` makes the API server refuse the patch (uid is
 * immutable) should the name now belong to another Pod; `null` drops a reason or message the merge would keep.
 */
export function inPlaceReadyPatch(pod: Pod, status: 'True' | 'False', nowMs: number, reason?: string): InPlaceReadyPatch | undefined {
  const existing: Condition | undefined = (pod.status?.conditions ?? []).find((c) => c.type === INPLACE_UPDATE_READY_CONDITION);
  if (existing !== undefined && existing.status === status && existing.reason === reason) return undefined;
  return {
    metadata: { ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) },
    status: {
      conditions: [{
        type: INPLACE_UPDATE_READY_CONDITION, status, lastTransitionTime: formatTimeMs(nowMs), reason: reason ?? null, message: null,
      }],
    },
  };
}
