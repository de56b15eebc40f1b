/**
 * The download link of one emulated node: concurrent transfers share its bandwidth equally (processor sharing). With
 * `n` transfers active each moves at `bytesPerSecond / n`; when one starts, finishes or is cancelled the others speed
 * up or slow down from that instant. So two equal pulls started together both take twice as long as one alone, and a
 * pull that starts while another is half done finishes after it. Latency is not modelled here (the runtime waits it
 * out before a transfer joins the pool).
 *
 * Cost: one timer per pool while anything is transferring (for the earliest completion), none when idle.
 */
import type { CancelTimer } from '../../kube/workqueue/clock.js';
import { SleepAborted, type RuntimeClock } from './runtime-clock.js';

interface Transfer {
  remaining: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  detach: () => void;
}

/** Under this many bytes a transfer counts as done (floating-point dust). */
const DONE_EPSILON_BYTES = 0.5;

export class BandwidthPool {
  private readonly transfers = new Set<Transfer>();
  /** Clock time up to which `remaining` values are exact. */
  private settledAt = 0;
  private cancelTimer: CancelTimer | undefined;
  private readonly bytesPerMs: number;

  /** `bytesPerSecond` of `Infinity` makes every transfer instant. */
  constructor(private readonly clock: RuntimeClock, bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`bandwidth must be positive, got ${bytesPerSecond}`);
    this.bytesPerMs = bytesPerSecond / 1000;
  }

  /** Transfers in progress. */
  get active(): number {
    return this.transfers.size;
  }

  /** Resolves when `bytes` have moved at this pool's shared rate; rejects with `SleepAborted` on abort. */
  transfer(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(new SleepAborted(signal.reason));
    if (bytes <= DONE_EPSILON_BYTES || this.bytesPerMs === Infinity) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.settle();
      const onAbort = () => {
        this.settle();
        this.transfers.delete(transfer);
        reject(new SleepAborted(signal?.reason));
        this.reschedule();
      };
      const transfer: Transfer = {
        remaining: bytes,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.transfers.add(transfer);
      this.reschedule();
    });
  }

  /** Brings every `remaining` up to now at the rate that applied since the last change. */
  private settle(): void {
    const now = this.clock.now();
    const elapsed = now - this.settledAt;
    this.settledAt = now;
    if (elapsed <= 0 || this.transfers.size === 0) return;
    const moved = (this.bytesPerMs * elapsed) / this.transfers.size;
    for (const t of this.transfers) t.remaining -= moved;
  }

  private reschedule(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    for (const t of [...this.transfers]) {
      if (t.remaining <= DONE_EPSILON_BYTES) {
        this.transfers.delete(t);
        t.detach();
        t.resolve();
      }
    }
    if (this.transfers.size === 0) return;
    let least = Infinity;
    for (const t of this.transfers) least = Math.min(least, t.remaining);
    const rate = this.bytesPerMs / this.transfers.size;
    // Whole milliseconds, rounded up (past floating-point dust) so the earliest transfer is done at the wake-up;
    // what is left below DONE_EPSILON_BYTES counts as done.
    const delayMs = Math.max(1, Math.ceil(least / rate - 1e-6));
    this.cancelTimer = this.clock.schedule(() => {
      this.cancelTimer = undefined;
      this.settle();
      this.reschedule();
    }, delayMs);
  }
}
