/**
 * Client-overhead measurement by paired rounds: the same call made through two clients ("ours" and "bare") against
 * the same server, in rounds of `calls` calls each, alternating which client goes first (ABBA...), so that a change
 * of load on these shared machines hits both sides alike. Sequential rounds report per-call latency; concurrent
 * rounds (`concurrency` in flight, bounded by p-limit) report the round's wall time, which is what a client's CPU
 * cost shows up in once the server is kept busy.
 */
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { ratio, round, summarise, type Summary } from './stats.js';

export type Call = () => Promise<unknown>;

export interface PairedRoundsOptions {
  /** Calls per client per round. */
  calls: number;
  /** 1 = sequential. */
  concurrency: number;
  rounds: number;
  /** Untimed calls per client first (connection set-up, JIT), alternating. */
  warmup: number;
}

export interface ClientSide {
  /** Every call's latency, pooled over the rounds. */
  latencyMs: Summary;
  /** Wall time of each round of `calls` calls. */
  roundWallMs: Summary;
  callsPerSecond: number;
}

export interface PairedResult {
  calls: number;
  concurrency: number;
  rounds: number;
  ours: ClientSide;
  bare: ClientSide;
  /**
   * ours ÷ bare of the metric named in `ratioOf`: the median per-call latency for sequential rounds, the median
   * round wall time for concurrent ones. Over 1 means our client is slower.
   */
  ratio: number | null;
  ratioOf: 'p50 latency' | 'p50 round wall time';
  /** The same ratio per round (ours ÷ bare of that round's median latency or wall time): the spread of the noise. */
  perRound: number[];
}

async function oneRound(call: Call, calls: number, concurrency: number): Promise<{ latencies: number[]; wallMs: number }> {
  const latencies = new Array<number>(calls);
  const start = performance.now();
  if (concurrency <= 1) {
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await call();
      latencies[i] = performance.now() - t;
    }
  } else {
    const limit = pLimit(concurrency);
    await Promise.all(Array.from({ length: calls }, (_, i) => limit(async () => {
      const t = performance.now();
      await call();
      latencies[i] = performance.now() - t;
    })));
  }
  return { latencies, wallMs: performance.now() - start };
}

function median(xs: readonly number[]): number {
  return summarise(xs).p50;
}

export async function pairedRounds(ours: Call, bare: Call, o: PairedRoundsOptions): Promise<PairedResult> {
  for (let i = 0; i < o.warmup; i++) {
    await ours();
    await bare();
  }
  const sides = { ours: { latencies: [] as number[], walls: [] as number[] }, bare: { latencies: [] as number[], walls: [] as number[] } };
  const perRound: number[] = [];
  const sequential = o.concurrency <= 1;
  for (let r = 0; r < o.rounds; r++) {
    const order: ('ours' | 'bare')[] = r % 2 === 0 ? ['ours', 'bare'] : ['bare', 'ours'];
    const got: Partial<Record<'ours' | 'bare', { latencies: number[]; wallMs: number }>> = {};
    for (const side of order) {
      const res = await oneRound(side === 'ours' ? ours : bare, o.calls, o.concurrency);
      got[side] = res;
      sides[side].latencies.push(...res.latencies);
      sides[side].walls.push(res.wallMs);
    }
    const metric = (x: { latencies: number[]; wallMs: number }): number => (sequential ? median(x.latencies) : x.wallMs);
    perRound.push(ratio(metric(got.ours!), metric(got.bare!)) ?? NaN);
  }
  const side = (s: { latencies: number[]; walls: number[] }): ClientSide => {
    const walls = summarise(s.walls);
    return {
      latencyMs: summarise(s.latencies),
      roundWallMs: walls,
      callsPerSecond: round((o.calls * 1000) / walls.p50, 0),
    };
  };
  const oursSide = side(sides.ours);
  const bareSide = side(sides.bare);
  return {
    calls: o.calls,
    concurrency: o.concurrency,
    rounds: o.rounds,
    ours: oursSide,
    bare: bareSide,
    ratio: sequential
      ? ratio(oursSide.latencyMs.p50, bareSide.latencyMs.p50)
      : ratio(oursSide.roundWallMs.p50, bareSide.roundWallMs.p50),
    ratioOf: sequential ? 'p50 latency' : 'p50 round wall time',
    perRound,
  };
}
