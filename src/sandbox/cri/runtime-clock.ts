/**
 * The time source of the built-in runtime. CRI timestamps are wall-clock (nanoseconds since the epoch), so unlike the
 * work queue's monotonic clock `now()` here is epoch milliseconds. Tests pass `FakeClock` from
 * `src/kube/workqueue/fake-clock.ts` (started at a realistic epoch) and move time by hand.
 */
import { clampDelayMs, type CancelTimer, type SchedulingClock } from '../../kube/workqueue/clock.js';

/** `now()` is epoch milliseconds; `schedule` runs `fn` after `delayMs` of that clock. */
export type RuntimeClock = SchedulingClock;

/**
 * Wall clock with unref'd timers: a pending container exit or pull never keeps the process alive on its own (the
 * gRPC server or the caller awaiting the call does).
 */
export const systemRuntimeClock: RuntimeClock = {
  now: () => Date.now(),
  schedule(fn, delayMs): CancelTimer {
    const t = setTimeout(fn, clampDelayMs(delayMs));
    t.unref();
    return () => clearTimeout(t);
  },
};

/** Why a clock sleep ended early: the signal's reason. */
export class SleepAborted extends Error {
  constructor(readonly reason: unknown) {
    super('sleep aborted');
    this.name = 'SleepAborted';
  }
}

/**
 * Resolves once `clock` reaches `untilMs` (epoch ms); rejects with `SleepAborted` when `signal` aborts first. One timer,
 * cleared on abort. A target in the past resolves on the next timer tick of the clock (a fake clock: its next
 * `advance`), so callers that track virtual time (see `builtin-shell.ts`) keep their own `now`.
 */
export function sleepUntil(clock: RuntimeClock, untilMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new SleepAborted(signal.reason));
      return;
    }
    const onAbort = () => {
      cancel();
      reject(new SleepAborted(signal?.reason));
    };
    const cancel = clock.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, untilMs - clock.now()));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves only when `signal` aborts (a process sleeping forever holds no timer). */
export function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) {
      reject(new SleepAborted(signal.reason));
      return;
    }
    signal.addEventListener('abort', () => reject(new SleepAborted(signal.reason)), { once: true });
  });
}
