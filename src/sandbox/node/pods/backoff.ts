/**
 * kubelet's per-key back-off (client-go `flowcontrol.Backoff`) as plain data and pure functions, so the planner can
 * read it and say how it changes without owning a clock:
 *
 * - `next` starts an entry at `initialMs`, or doubles it up to `maxMs`; an entry whose last update is more than
 *   2 × `maxMs` before the event is forgotten first ("reset after 10 minutes", with kubelet's 10 s → 300 s);
 * - `inBackOffSince(entry, eventMs)`: a container that died at `eventMs` may restart once `entry.backoffMs` has passed
 *   since its death (kubelet `doBackOff` uses the dead container's finishedAt);
 * - `inBackOffSinceUpdate(entry, nowMs)`: an image may be pulled again once `entry.backoffMs` has passed since the
 *   last failure (kubelet's image manager).
 *
 * No jitter: kubelet 1.22's container and image back-offs have none.
 */

export interface BackoffConfig {
  /** First back-off. kubelet: 10 s. */
  readonly initialMs: number;
  /** Cap of the doubling. kubelet: 300 s. */
  readonly maxMs: number;
}

export const KUBELET_BACKOFF: BackoffConfig = Object.freeze({ initialMs: 10_000, maxMs: 300_000 });

export interface BackoffEntry {
  readonly backoffMs: number;
  /** Epoch ms of the last `next`. */
  readonly lastUpdateMs: number;
}

/** An entry is stale when the event comes more than 2 × max after its last update. */
function expired(entry: BackoffEntry, eventMs: number, cfg: BackoffConfig): boolean {
  return eventMs - entry.lastUpdateMs > 2 * cfg.maxMs;
}

/** The entry after one more failure (or restart) at `nowMs`. */
export function nextBackoff(entry: BackoffEntry | undefined, eventMs: number, nowMs: number, cfg: BackoffConfig): BackoffEntry {
  if (entry === undefined || expired(entry, eventMs, cfg)) return { backoffMs: cfg.initialMs, lastUpdateMs: nowMs };
  return { backoffMs: Math.min(entry.backoffMs * 2, cfg.maxMs), lastUpdateMs: nowMs };
}

/** Ms left before something that happened at `eventMs` may be retried; 0 when not in back-off. */
export function backoffRemainingSince(
  entry: BackoffEntry | undefined, eventMs: number, nowMs: number, cfg: BackoffConfig,
): number {
  if (entry === undefined || expired(entry, eventMs, cfg)) return 0;
  return Math.max(0, eventMs + entry.backoffMs - nowMs);
}

/** Ms left of the window that started at the entry's last update; 0 when not in back-off. */
export function backoffRemainingSinceUpdate(entry: BackoffEntry | undefined, nowMs: number, cfg: BackoffConfig): number {
  if (entry === undefined || expired(entry, nowMs, cfg)) return 0;
  return Math.max(0, entry.lastUpdateMs + entry.backoffMs - nowMs);
}

/** Go's `time.Duration.String()` for whole-second-or-more durations as kubelet messages print them (`10s`, `5m0s`). */
export function formatGoDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}
