/**
 * A manual clock for tests (the role of k8s.io/utils/clock/testing): time moves only when `advance` or `set` is
 * called, and due callbacks run synchronously in due order, each seeing `now()` equal to its due time. It is in
 * `src/` so tests of every package that takes a SchedulingClock can share it; nothing in production uses it.
 */
import { clampDelayMs, type CancelTimer, type SchedulingClock } from './clock.js';

interface FakeTimer { at: number; seq: number; fn: () => void }

export class FakeClock implements SchedulingClock {
  private current: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(startMs = 0) { this.current = startMs; }

  now(): number { return this.current; }

  schedule(fn: () => void, delayMs: number): CancelTimer {
    const timer: FakeTimer = { at: this.current + clampDelayMs(delayMs), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => { this.timers = this.timers.filter((t) => t !== timer); };
  }

  /** Callbacks not yet run. */
  pendingTimers(): number { return this.timers.length; }

  /** The due time of the earliest pending callback, if any. */
  nextTimerAt(): number | undefined {
    return this.earliest()?.at;
  }

  /** Moves time forward by `ms`, running every callback that falls due, including ones scheduled on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot move a clock backwards (${ms} ms)`);
    this.set(this.current + ms);
  }

  /** Moves time forward to `targetMs`. */
  set(targetMs: number): void {
    if (targetMs < this.current) throw new RangeError(`cannot move a clock backwards to ${targetMs}`);
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > targetMs) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.at;
      next.fn();
    }
    this.current = targetMs;
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}
