/**
 * CRI layer benchmark (issue 4, `cri`):
 *
 * - On a real containerd (containerd-cri-phase.ts): ImageStatus and PullImage of a present image, 200 calls
 *   sequentially and 200 with 32 in flight, through our CriClient and through a bare grpc-js client in alternating
 *   rounds → overhead ratio; a cold pull of a 50 MiB image through our client against `ctr images pull` on the same
 *   containerd → ratio. Targets: both ratios ≤ 1.05. Skipped, and recorded as skipped, where the harness'
 *   prerequisites (root, containerd, runc, docker-registry, static busybox) or `ctr` are missing.
 * - The sandbox's built-in runtime (builtin-cri-phase.ts): CRI calls per second through the gRPC socket and the
 *   in-process client, and heapUsed per 1,000 emulated running containers with their sandboxes.
 */
import { missingPrerequisites } from '../test/support/containerd/index.js';
import { findOnPath } from '../test/support/containerd/processes.js';
import { runBuiltinPhase, type BuiltinPhaseResult } from './builtin-cri-phase.js';
import { runContainerdPhase, type ContainerdPhaseResult } from './containerd-cri-phase.js';
import type { PairedResult } from './paired-rounds.js';

/** Workload size. Defaults are the issue's numbers; smaller values are for smoke runs. */
export interface CriBenchOptions {
  /** Calls per client per round. @default 200 */
  calls: number;
  /** In flight in the concurrent rounds. @default 32 */
  concurrency: number;
  /** Paired sequential rounds (each client `calls` calls per round) of ImageStatus. @default 30 */
  imageStatusRounds: number;
  /** Paired concurrent rounds of ImageStatus (a round takes ~30 ms, so one GC pause moves it: many rounds). @default 120 */
  imageStatusConcurrentRounds: number;
  /** Paired sequential rounds of PullImage of a present image. @default 4 */
  pullImageRounds: number;
  /** Paired concurrent rounds of PullImage of a present image. @default 8 */
  pullImageConcurrentRounds: number;
  /** Untimed calls per client before the sequential rounds. @default 100 */
  warmupCalls: number;
  /** Cold pulls per side (ours, ctr), alternating. @default 5 */
  coldPullRounds: number;
  /** @default 50 */
  largeImageMiB: number;
  /** Picks the bytes of the large layer (same seed, same digest). @default 4 */
  largeImageSeed: number;
  /** Running containers in the built-in runtime during the calls-per-second phase. @default 100 */
  builtinContainers: number;
  /** Per method, transport and mode. @default 1500 */
  builtinDurationMs: number;
  /** @default 1000 */
  memoryPerStep: number;
  /** @default 5 */
  memorySteps: number;
}

export const DEFAULT_OPTIONS: Readonly<CriBenchOptions> = Object.freeze({
  calls: 200, concurrency: 32, imageStatusRounds: 30, imageStatusConcurrentRounds: 120, pullImageRounds: 4, pullImageConcurrentRounds: 8, warmupCalls: 100, coldPullRounds: 5,
  largeImageMiB: 50, largeImageSeed: 4, builtinContainers: 100, builtinDurationMs: 1500, memoryPerStep: 1000, memorySteps: 5,
});

export const TARGETS = Object.freeze({ overheadRatio: 1.05, coldPullRatio: 1.05 });

export interface Check { metric: string; target: string; value: number | null; pass: boolean }

export interface CriBenchResult {
  options: CriBenchOptions;
  /** Why the containerd part did not run, or null when it did. */
  containerdSkipped: string | null;
  containerd: ContainerdPhaseResult | null;
  builtin: BuiltinPhaseResult;
  checks: Check[];
}

function containerdMissing(): string[] {
  const missing = missingPrerequisites();
  if (findOnPath('ctr') === undefined) missing.push('ctr (apt-get install containerd)');
  return missing;
}

export async function runCriBench(o: CriBenchOptions, log: (line: string) => void): Promise<CriBenchResult> {
  const missing = containerdMissing();
  let containerd: ContainerdPhaseResult | null = null;
  const containerdSkipped = missing.length > 0 ? `missing: ${missing.join(', ')}` : null;
  if (containerdSkipped !== null) {
    log(`containerd part skipped (${containerdSkipped})`);
  } else {
    containerd = await runContainerdPhase({
      calls: o.calls, concurrency: o.concurrency, imageStatusRounds: o.imageStatusRounds, pullImageRounds: o.pullImageRounds,
      imageStatusConcurrentRounds: o.imageStatusConcurrentRounds, pullImageConcurrentRounds: o.pullImageConcurrentRounds,
      warmupCalls: o.warmupCalls, coldPullRounds: o.coldPullRounds, largeImageBytes: o.largeImageMiB * 1024 * 1024,
      largeImageSeed: o.largeImageSeed,
    }, log);
  }
  const builtin = await runBuiltinPhase({
    containers: o.builtinContainers, concurrency: o.concurrency, durationMs: o.builtinDurationMs,
    memoryPerStep: o.memoryPerStep, memorySteps: o.memorySteps,
  }, log);
  const checks: Check[] = [];
  if (containerd !== null) {
    const ov = containerd.overhead;
    const check = (metric: string, value: number | null, target: number): void => {
      checks.push({ metric, target: `≤ ${target}`, value, pass: value !== null && value <= target });
    };
    check('ImageStatus overhead, sequential (median per-round p50-latency ratio, ours ÷ bare grpc-js)', ov.imageStatus.sequential.ratio, TARGETS.overheadRatio);
    check(`ImageStatus overhead, ${o.concurrency} in flight (median per-round wall-time ratio, ours ÷ bare)`, ov.imageStatus.concurrent.ratio, TARGETS.overheadRatio);
    check('PullImage (present) overhead, sequential (median per-round p50-latency ratio, ours ÷ bare)', ov.pullImage.sequential.ratio, TARGETS.overheadRatio);
    check(`PullImage (present) overhead, ${o.concurrency} in flight (median per-round wall-time ratio, ours ÷ bare)`, ov.pullImage.concurrent.ratio, TARGETS.overheadRatio);
    check(`cold pull of ${o.largeImageMiB} MiB (p50, ours ÷ ctr images pull)`, containerd.coldPull.ratio, TARGETS.coldPullRatio);
    check(`cold pull of ${o.largeImageMiB} MiB (p50, ours ÷ (ctr − ctr start-up))`, containerd.coldPull.ratioWithoutCtrStartup, TARGETS.coldPullRatio);
  }
  return { options: o, containerdSkipped, containerd, builtin, checks };
}

const mib = (bytes: number): string => (bytes / 1024 ** 2).toFixed(2);

export function criSummary(r: CriBenchResult): string {
  const lines: string[] = [];
  if (r.containerd === null) {
    lines.push(`containerd part skipped (${r.containerdSkipped ?? 'unknown reason'})`, '');
  } else {
    const c = r.containerd;
    lines.push(`${c.containerdVersion}; ${c.ctrVersion}`, '');
    lines.push('| call | mode | ours | bare grpc-js | ratio | per round | client CPU µs/call ours / bare |', '|---|---|---:|---:|---:|---|---:|');
    const row = (call: string, p: PairedResult): void => {
      const seq = p.concurrency <= 1;
      const v = (s: PairedResult['ours']): string => (seq
        ? `p50 ${s.latencyMs.p50} ms (p99 ${s.latencyMs.p99})`
        : `${s.roundWallMs.p50} ms / ${p.calls} (${s.callsPerSecond}/s)`);
      const spread = [...p.perRound].sort((a, b) => a - b);
      lines.push(`| ${call} | ${seq ? `${p.calls} sequential` : `${p.calls}, ${p.concurrency} in flight`} | ${v(p.ours)} | ${v(p.bare)} | ${p.ratio}× | ${spread[0]}–${spread[spread.length - 1]} (${p.rounds} rounds) | ${p.ours.cpuUsPerCall === null ? '' : `${p.ours.cpuUsPerCall} / ${p.bare.cpuUsPerCall} (${p.cpuRatio}×)`} |`);
    };
    row('ImageStatus', c.overhead.imageStatus.sequential);
    row('ImageStatus', c.overhead.imageStatus.concurrent);
    row('PullImage (present)', c.overhead.pullImage.sequential);
    row('PullImage (present)', c.overhead.pullImage.concurrent);
    const p = c.coldPull;
    lines.push('', `| cold pull (${mib(p.layerBytes)} MiB layer) | p50 ms | p90 ms | MiB/s |`, '|---|---:|---:|---:|');
    lines.push(`| ours (CRI PullImage) | ${p.oursMs.p50} | ${p.oursMs.p90} | ${p.oursMiBPerSecond} |`);
    lines.push(`| ctr images pull | ${p.ctrMs.p50} | ${p.ctrMs.p90} | ${p.ctrMiBPerSecond} |`);
    lines.push(`| ctr start-up (ctr version) | ${p.ctrStartupMs.p50} | ${p.ctrStartupMs.p90} | |`);
    lines.push(`| ratio ours ÷ ctr | ${p.ratio}× (${p.ratioWithoutCtrStartup}× without ctr start-up) | per round ${p.perRound.join(' ')} | |`);
  }
  const b = r.builtin;
  lines.push('', `Built-in runtime, ${b.containers} running containers:`, '', '| call | gRPC socket seq | gRPC socket ×' + `${b.concurrency} | in-process seq | in-process ×${b.concurrency} |`, '|---|---:|---:|---:|---:|');
  for (const m of ['imageStatus', 'listContainers', 'containerStatus'] as const) {
    const g = b.callsPerSecond.grpc[m];
    const i = b.callsPerSecond.inProcess[m];
    lines.push(`| ${m} calls/s | ${g.sequential.perSecond} | ${g.concurrent.perSecond} | ${i.sequential.perSecond} | ${i.concurrent.perSecond} |`);
  }
  const mem = b.memory;
  lines.push('', `Memory: heapUsed +${mib(mem.heapUsedPer1000SlopeBytes)} MiB per 1,000 running containers with sandboxes (marginal), ` +
    `+${mib(mem.heapUsedPer1000FirstStepBytes)} MiB for the first 1,000; RSS +${mib(mem.rssPer1000SlopeBytes)} MiB per 1,000; ` +
    `${mem.heapUsedPerContainerBytes} B per container over ${mem.stats.containers}.`);
  if (r.checks.length > 0) {
    lines.push('', '| target | value | pass |', '|---|---:|:---:|', ...r.checks.map((c) => `| ${c.metric} ${c.target} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`));
  }
  return lines.join('\n');
}
