/**
 * Client-side rate limiting as client-go's flowcontrol does it: a bucket of `burst` tokens refilled at `qps` per
 * second; each request takes one, waiting (abortably) when the bucket is empty. The clock is injected for tests.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface Clock { now(): number }

export const systemClock: Clock = { now: () => performance.now() };

export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Time at which the last reserved token becomes available; reservations queue in order. */
  private readonly qps: number;
  private readonly burst: number;

  constructor(qps: number, burst: number, private readonly clock: Clock = systemClock) {
    if (!(qps > 0) || !Number.isFinite(qps)) throw new RangeError(`qps must be a positive number, got ${qps}`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be a positive integer, got ${burst}`);
    this.qps = qps;
    this.burst = burst;
    this.tokens = burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }

  /** Takes a token if one is there now. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens >= 1) { this.tokens -= 1; return true; }
    return false;
  }

  /**
   * Reserves a token and returns how long to wait for it (ms). Reserving goes into debt, so concurrent callers
   * are served in order at exactly `qps`.
   */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  async take(signal?: AbortSignal): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs <= 0) return;
    try {
      await sleep(waitMs, undefined, { signal, ref: false });
    } catch (e) {
      // An abandoned reservation gives its token back.
      this.tokens += 1;
      throw e;
    }
  }
}
