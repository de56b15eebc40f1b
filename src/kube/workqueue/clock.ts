/**
 * Time as the work queue and the controller loop see it: a monotonic `now()` plus a way to schedule a callback.
 * Injected so tests drive time with a fake clock instead of sleeping (STYLE habit 16, A2).
 */
import type { Clock } from '../token-bucket.js';

export type { Clock } from '../token-bucket.js';

/** Cancels a scheduled callback; calling it after the callback ran, or twice, does nothing. */
export type CancelTimer = () => void;

export interface TimerScheduler {
  /** Runs `fn` once after `delayMs` (clamped to [0, 2^31−1]). */
  schedule(fn: () => void, delayMs: number): CancelTimer;
}

export interface SchedulingClock extends Clock, TimerScheduler {}

/**
 * Node's timers overflow above 2^31−1 ms (about 24.8 days) and then fire after 1 ms; callers that may wait longer
 * must clamp and re-check on wake-up, which the work queue's delay timer does.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export function clampDelayMs(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(ms, MAX_TIMER_DELAY_MS);
}

/**
 * The real clock: `performance.now()` (monotonic, unaffected by wall-clock steps) and unref'd timers, so a pending
 * requeue never keeps the process alive on its own.
 */
export const systemSchedulingClock: SchedulingClock = {
  now: () => performance.now(),
  schedule(fn, delayMs) {
    const t = setTimeout(fn, clampDelayMs(delayMs));
    t.unref();
    return () => clearTimeout(t);
  },
};
