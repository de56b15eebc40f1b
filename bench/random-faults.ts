/**
 * The fault injector of the informer benchmark's recovery phase. It lives in the server child and is switched
 * on and off over IPC. While on, it fails a random share of the requests of one user agent (the informer's) the
 * way real API servers fail, with the mix of test/integration/kube/informer.test.ts's randomized test:
 * 500, 429, 410 (a watch gets it as an ERROR event), dropped connection, half-open connection, delay and a lost
 * response. Watches dropped wholesale (`ApiServer.dropWatches`) are driven by the benchmark, not from here.
 */
import type { FaultAction, FaultInjector, FaultRequestInfo } from '../src/sandbox/apiserver/http/fault-injection.js';
import { Rng } from './fixtures.js';

export type FaultKind = '500' | '429' | '410' | 'drop' | 'delay' | 'half-open' | 'lose-response';

export class RandomFaults implements FaultInjector {
  private rng: Rng | undefined;
  private userAgent = '';
  private counts: Record<FaultKind, number> = RandomFaults.zero();

  private static zero(): Record<FaultKind, number> {
    return { '500': 0, '429': 0, '410': 0, drop: 0, delay: 0, 'half-open': 0, 'lose-response': 0 };
  }

  /** Starts failing requests of `userAgent`, drawing from a PRNG seeded with `seed`; counts start at zero. */
  enable(seed: number, userAgent: string): void {
    this.rng = new Rng(seed);
    this.userAgent = userAgent;
    this.counts = RandomFaults.zero();
  }

  /** Stops failing requests; returns how many faults of each kind were injected since `enable`. */
  disable(): Record<FaultKind, number> {
    this.rng = undefined;
    return { ...this.counts };
  }

  beforeRequest(info: FaultRequestInfo): FaultAction {
    if (!this.rng || info.userAgent !== this.userAgent) return { kind: 'none' };
    const [kind, action] = this.pick(this.rng);
    if (kind) this.counts[kind]++;
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
