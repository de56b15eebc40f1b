/**
 * The puller's clock: epoch-ms `now()`, because pull deadlines are computed from the wall-clock `startTime` a
 * previous agent may have persisted (§4.6), and unref'd timers, so a pending backoff or write never keeps the
 * process alive on its own. Tests pass a FakeClock started at an epoch time instead.
 */
import { clampDelayMs, type SchedulingClock } from '../../kube/workqueue/clock.js';

export const wallClock: SchedulingClock = {
  now: () => Date.now(),
  schedule(fn, delayMs) {
    const t = setTimeout(fn, clampDelayMs(delayMs));
    t.unref();
    return () => clearTimeout(t);
  },
};
