/**
 * Writes the CloneSet status (spec §5.5) through `/status`, only when `statusNeedsUpdate` says so or a failure
 * condition changed (habit 13). FailedScale / FailedUpdate conditions (§3.3) replace the one of the same type.
 */
import { isDeepStrictEqual } from 'node:util';
import type { CloneSet, CloneSetCondition, CloneSetConditionType, CloneSetStatus } from '../../api/cloneset-types.js';
import { isNotFound, resources, updateStatusWithRetry, type KubeClient } from '../../kube/index.js';
import { formatTimeMs } from './pod-state.js';
import { statusNeedsUpdate } from './status.js';

/** Sets (replaces) a condition of `type` on the status. */
export function setFailureCondition(status: CloneSetStatus, type: CloneSetConditionType, message: string, now: number): void {
  const existing = status.conditions?.find((x) => x.type === type);
  if (existing?.status === 'True' && existing.message === message) return;
  const c: CloneSetCondition = { type, status: 'True', lastTransitionTime: formatTimeMs(now), message };
  const rest = (status.conditions ?? []).filter((x) => x.type !== type);
  status.conditions = [...rest, c];
}

/** Returns whether a write happened. A CloneSet deleted meanwhile is not an error. */
export async function writeStatus(client: KubeClient, cached: CloneSet, next: CloneSetStatus, signal: AbortSignal): Promise<boolean> {
  const conditionsChanged = !isDeepStrictEqual(cached.status?.conditions ?? [], next.conditions ?? []);
  if (!statusNeedsUpdate(cached.status, next) && !conditionsChanged) return false;
  try {
    await updateStatusWithRetry<CloneSet>(client, resources.cloneSets, cached.metadata.namespace ?? '', cached.metadata.name ?? '', (fresh) => (
      fresh.metadata.uid !== cached.metadata.uid ? undefined : { ...fresh, status: next }
    ), { signal });
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
  return true;
}
