/**
 * Client-overhead measurement by pairing: the same call made through two clients ("ours" and "bare") against the
 * same server, so that a change of load on these shared machines hits both sides alike.
 *
 * - Sequential: each round makes `calls` calls per client, alternating call by call (ours, bare, bare, ours, ...),
 *   so the two sides of a pair run a millisecond apart. Reported: per-call latency.
 * - Concurrent: each round runs `calls` calls with `concurrency` in flight (p-limit) through one client, then through
 *   the other, alternating which goes first (ABBA...). Reported: the round's wall time, which is where a client's
 *   CPU cost shows once the server is kept busy, and this process's CPU time per call (process.cpuUsage over the
 *   round: client work only, the server is another process).
 * The ratio is the median over rounds of ours ÷ bare.
 */
import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import { round, summarise, type Summary } from './stats.js';

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
  /** This process's CPU (user + system) per call, concurrent rounds only. */
  cpuUsPerCall: number | null;
}

export interface PairedResult {
  calls: number;
  concurrency: number;
  rounds: number;
  ours: ClientSide;
  bare: ClientSide;
  /**
   * ours ÷ bare, over 1 means our client is slower: the median over rounds of the round's ratio (sequential: of the
   * round's median latencies; concurrent: of the round's wall times). A paired estimate: load that changes between
   * rounds cancels.
   */
  ratio: number | null;
  ratioOf: 'median of per-round p50-latency ratios' | 'median of per-round wall-time ratios';
  /** Sequential only: ours ÷ bare of the medians of all calls pooled. */
  pooledRatio: number | null;
  /** ours ÷ bare per round (sequential: of the round's median latencies): the spread of the noise. */
  perRound: number[];
  /** ours ÷ bare of this process's CPU per call (concurrent rounds). */
  cpuRatio: number | null;
}

type Side = 'ours' | 'bare';

interface RoundSide { latencies: number[]; wallMs: number; cpuUs: number }

async function timed(call: Call, latencies: number[]): Promise<void> {
  const t = performance.now();
  await call();
  latencies.push(performance.now() - t);
}

/** One sequential round: the two clients alternate call by call, and which goes first alternates too. */
async function sequentialRound(calls: Record<Side, Call>, n: number, r: number): Promise<Record<Side, RoundSide>> {
  const got: Record<Side, RoundSide> = { ours: { latencies: [], wallMs: 0, cpuUs: NaN }, bare: { latencies: [], wallMs: 0, cpuUs: NaN } };
  for (let i = 0; i < n; i++) {
    const order: Side[] = (i + r) % 2 === 0 ? ['ours', 'bare'] : ['bare', 'ours'];
    for (const side of order) await timed(calls[side], got[side].latencies);
  }
  for (const side of ['ours', 'bare'] as const) got[side].wallMs = got[side].latencies.reduce((a, b) => a + b, 0);
  return got;
}

async function concurrentRound(call: Call, n: number, concurrency: number): Promise<RoundSide> {
  const latencies: number[] = [];
  const limit = pLimit(concurrency);
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: n }, () => limit(() => timed(call, latencies))));
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { latencies, wallMs, cpuUs: cpu.user + cpu.system };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

const ratio3 = (a: number, b: number): number | null => (b > 0 && Number.isFinite(a) ? round(a / b, 3) : null);

export async function pairedRounds(ours: Call, bare: Call, o: PairedRoundsOptions): Promise<PairedResult> {
  const calls: Record<Side, Call> = { ours, bare };
  for (let i = 0; i < o.warmup; i++) {
    await ours();
    await bare();
  }
  const sequential = o.concurrency <= 1;
  const all: Record<Side, { latencies: number[]; walls: number[]; cpuUs: number }> = {
    ours: { latencies: [], walls: [], cpuUs: 0 }, bare: { latencies: [], walls: [], cpuUs: 0 },
  };
  const perRound: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    let got: Record<Side, RoundSide>;
    if (sequential) {
      got = await sequentialRound(calls, o.calls, r);
    } else {
      const order: Side[] = r % 2 === 0 ? ['ours', 'bare'] : ['bare', 'ours'];
      const partial: Partial<Record<Side, RoundSide>> = {};
      for (const side of order) partial[side] = await concurrentRound(calls[side], o.calls, o.concurrency);
      got = partial as Record<Side, RoundSide>;
    }
    for (const side of ['ours', 'bare'] as const) {
      all[side].latencies.push(...got[side].latencies);
      all[side].walls.push(got[side].wallMs);
      all[side].cpuUs += got[side].cpuUs;
    }
    perRound.push(sequential
      ? ratio3(median(got.ours.latencies), median(got.bare.latencies)) ?? NaN
      : ratio3(got.ours.wallMs, got.bare.wallMs) ?? NaN);
  }
  const side = (s: { latencies: number[]; walls: number[]; cpuUs: number }): ClientSide => {
    const walls = summarise(s.walls);
    return {
      latencyMs: summarise(s.latencies),
      roundWallMs: walls,
      callsPerSecond: round((o.calls * 1000) / walls.p50, 0),
      cpuUsPerCall: sequential ? null : round(s.cpuUs / (o.calls * o.rounds), 1),
    };
  };
  const oursSide = side(all.ours);
  const bareSide = side(all.bare);
  return {
    calls: o.calls,
    concurrency: o.concurrency,
    rounds: o.rounds,
    ours: oursSide,
    bare: bareSide,
    ratio: round(median(perRound), 3),
    ratioOf: sequential ? 'median of per-round p50-latency ratios' : 'median of per-round wall-time ratios',
    pooledRatio: sequential ? ratio3(median(all.ours.latencies), median(all.bare.latencies)) : null,
    perRound,
    cpuRatio: sequential ? null : ratio3(oursSide.cpuUsPerCall!, bareSide.cpuUsPerCall!),
  };
}
