/**
 * The fault injector of the informer benchmark's recovery phase. It lives in the server child and is switched
 * on and off over IPC. While on, it fails a random share of the requests of one user agent (the informer's) the
 * way real API servers fail, with the mix of test/integration/kube/informer.test.ts's randomized test:
 * 500, 429, 410 (a watch gets it as an ERROR event), dropped connection, half-open connection, delay and a lost
 * response. Watches dropped wholesale (`ApiServer.dropWatches`) are driven by the benchmark, not from here.
 */
import type { FaultAction, FaultInjector, FaultRequestInfo } from '../src/sandbox/apiserver/http/fault-injection.js';
import { Rng } from './fixtures.js';
import { monotonicMs } from './monotonic-clock.js';

export type FaultKind = '500' | '429' | '410' | 'drop' | 'delay' | 'half-open' | 'lose-response';

/** What a batch of faults was: counts by kind, and the last one (to explain a slow recovery). */
export interface FaultReport {
  counts: Record<FaultKind, number>;
  /** `<kind> <watch|list|…>` → count. */
  byRequest: Record<string, number>;
  /** The last fault injected: its kind, the request it hit and when (monotonic-clock.ts ms). */
  last: { kind: FaultKind; request: string; atMs: number } | null;
}

export class RandomFaults implements FaultInjector {
  private rng: Rng | undefined;
  private userAgent = '';
  private counts: Record<FaultKind, number> = RandomFaults.zero();
  private byRequest: Record<string, number> = {};
  private last: FaultReport['last'] = null;

  private static zero(): Record<FaultKind, number> {
    return { '500': 0, '429': 0, '410': 0, drop: 0, delay: 0, 'half-open': 0, 'lose-response': 0 };
  }

  /** Starts failing requests of `userAgent`, drawing from a PRNG seeded with `seed`; counts start at zero. */
  enable(seed: number, userAgent: string): void {
    this.rng = new Rng(seed);
    this.userAgent = userAgent;
    this.counts = RandomFaults.zero();
    this.byRequest = {};
    this.last = null;
  }

  /** Stops failing requests; reports the faults injected since `enable`. */
  disable(): FaultReport {
    this.rng = undefined;
    return { counts: { ...this.counts }, byRequest: { ...this.byRequest }, last: this.last };
  }

  beforeRequest(info: FaultRequestInfo): FaultAction {
    if (!this.rng || info.userAgent !== this.userAgent) return { kind: 'none' };
    const [kind, action] = this.pick(this.rng);
    if (kind) {
      // An informer only lists and watches: any other GET would be a list too.
      const request = info.watch ? 'watch' : info.method === 'GET' ? 'list' : info.method.toLowerCase();
      this.counts[kind]++;
      this.byRequest[`${kind} ${request}`] = (this.byRequest[`${kind} ${request}`] ?? 0) + 1;
      this.last = { kind, request, atMs: monotonicMs() };
    }
    return action;
  }

  private pick(rng: Rng): [FaultKind | undefined, FaultAction] {
    const r = rng.next();
    if (r < 0.06) return ['500', { kind: 'status', code: 500 }];
    if (r < 0.10) return ['429', { kind: 'status', code: 429, retryAfterSeconds: 0 }];
    if (r < 0.14) return ['410', { kind: 'status', code: 410 }];
    if (r < 0.18) return ['drop', { kind: 'drop' }];
    if (r < 0.22) return ['delay', { kind: 'delay', ms: rng.int(50) }];
    if (r < 0.24) return ['half-open', { kind: 'half-open' }];
    if (r < 0.27) return ['lose-response', { kind: 'lose-response' }];
    return [undefined, { kind: 'none' }];
  }
}
