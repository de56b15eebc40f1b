/**
 * ImagePullJob benchmark (issue 7), two parts:
 *   1. `imagepull-job-phase.ts`: a sandbox with 500 emulated nodes and 2 s simulated pulls, one ImagePullJob with
 *      parallelism 25: time to complete against the ideal ceil(500/25) × 2 s = 40 s (efficiency = ideal / actual),
 *      the most nodes pulling at once (≤ 25), the sandbox's CPU and RSS, and where each slot's time goes.
 *   2. `imagepull-agent-phase.ts`: the real `kruise-ts agent` binary, standalone, against a sandbox API server and a
 *      built-in runtime on a unix socket, with 100 images on its NodeImage: RSS (peak, steady) and CPU, next to a
 *      bare `node` process.
 * Targets: efficiency ≥ 0.9; agent RSS ≤ 64 MiB (upstream's daemon is limited to 128 MiB).
 * `--nodes=0` skips part 1 and `--images=0` part 2 (smoke runs; never written).
 */
import { AGENT_PHASE_DEFAULTS, runAgentPhase, type AgentPhaseResult } from './imagepull-agent-phase.js';
import { JOB_PHASE_DEFAULTS, runJobPhase, type JobPhaseResult } from './imagepull-job-phase.js';
import { round } from './stats.js';

export interface ImagePullBenchOptions {
  /** Part 1: emulated nodes. @default 500 */
  nodes: number;
  /** Part 1: the job's parallelism. @default 25 */
  parallelism: number;
  /** Part 1: the built-in runtime's pull time. @default 2 */
  imagePullSeconds: number;
  /** Part 2: images on the agent's NodeImage. @default 100 */
  images: number;
  /** Part 2: the built-in runtime's pull latency. @default 100 */
  agentPullLatencyMs: number;
  /** Part 2: idle period watched after the pulls. @default 10 */
  steadySeconds: number;
}

export const DEFAULT_OPTIONS: Readonly<ImagePullBenchOptions> = Object.freeze({
  nodes: JOB_PHASE_DEFAULTS.nodes, parallelism: JOB_PHASE_DEFAULTS.parallelism, imagePullSeconds: JOB_PHASE_DEFAULTS.imagePullSeconds,
  images: AGENT_PHASE_DEFAULTS.images, agentPullLatencyMs: AGENT_PHASE_DEFAULTS.pullLatencyMs, steadySeconds: AGENT_PHASE_DEFAULTS.steadySeconds,
});

export const TARGETS = Object.freeze({ efficiency: 0.9, agentRssBytes: 64 * 2 ** 20 });

export interface ImagePullBenchResult {
  options: ImagePullBenchOptions;
  job: JobPhaseResult | { available: false; reason: string };
  agent: AgentPhaseResult | null;
  checks: { metric: string; target: string; value: number | string; pass: boolean | null }[];
}

type Log = (line: string) => void;

export async function runImagePullBench(o: ImagePullBenchOptions, log: Log): Promise<ImagePullBenchResult> {
  let agent: AgentPhaseResult | null = null;
  if (o.images > 0) {
    log(`part 2: standalone agent, ${o.images} images`);
    agent = await runAgentPhase({ ...AGENT_PHASE_DEFAULTS, images: o.images, pullLatencyMs: o.agentPullLatencyMs, steadySeconds: o.steadySeconds }, log);
  }
  let job: ImagePullBenchResult['job'] = { available: false, reason: 'skipped (--nodes=0)' };
  if (o.nodes > 0) {
    log(`part 1: ${o.nodes} emulated nodes, parallelism ${o.parallelism}, ${o.imagePullSeconds} s pulls`);
    job = await runJobPhase({ ...JOB_PHASE_DEFAULTS, nodes: o.nodes, parallelism: o.parallelism, imagePullSeconds: o.imagePullSeconds }, log);
  }
  const mib = (b: number): number => round(b / 2 ** 20, 1);
  const checks: ImagePullBenchResult['checks'] = [];
  if (job.available) {
    checks.push({ metric: 'efficiency (ideal / actual)', target: `>= ${TARGETS.efficiency}`, value: job.efficiency ?? 0, pass: job.efficiency !== null && job.efficiency >= TARGETS.efficiency });
    checks.push({ metric: 'most nodes pulling at once', target: `<= ${o.parallelism}`, value: job.maxConcurrentPulls, pass: job.maxConcurrentPulls <= o.parallelism });
  } else {
    checks.push({ metric: 'efficiency (ideal / actual)', target: `>= ${TARGETS.efficiency}`, value: 'not available', pass: null });
  }
  if (agent) {
    checks.push({ metric: 'agent peak RSS (MiB)', target: `<= ${mib(TARGETS.agentRssBytes)}`, value: mib(agent.rss.peakBytes), pass: agent.rss.peakBytes <= TARGETS.agentRssBytes });
    checks.push({ metric: 'agent steady RSS (MiB)', target: `<= ${mib(TARGETS.agentRssBytes)}`, value: mib(agent.rss.steadyBytes), pass: agent.rss.steadyBytes <= TARGETS.agentRssBytes });
  }
  return { options: o, job, agent, checks };
}

export function imagePullSummary(r: ImagePullBenchResult): string {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
  const rows = ['| metric | value |', '|---|---:|'];
  const j = r.job;
  if (j.available) {
    const s = j.steps;
    rows.push(
      `| part 1: nodes Ready at start (${j.startup.transport} runtimes) | ${j.options.nodes} in ${j.startup.seconds} s, RSS ${mib(j.startup.rssBytes)} MiB |`,
      `| job complete after (s), ideal ${j.idealSeconds} s | ${j.actualSeconds ?? 'timed out'} |`,
      `| efficiency (ideal / actual) | ${j.efficiency ?? '–'} |`,
      `| succeeded / failed / desired | ${j.job.succeeded} / ${j.job.failed} / ${j.job.desired} |`,
      `| most PullImage calls at once / most nodes seen pulling | ${j.maxConcurrentPulls} / ${j.maxNodesPullingSeen} |`,
      `| PullImage calls (failed) | ${j.pullCalls} (${j.failedPullCalls}) |`,
      `| create → first NodeImage spec (ms) | ${s.createToFirstSpecMs ?? '–'} |`,
      `| spec → PullImage p50 / p99 / mean ms | ${s.specToPullStartMs.p50} / ${s.specToPullStartMs.p99} / ${s.specToPullStartMs.mean} |`,
      `| PullImage p50 / p99 ms | ${s.pullMs.p50} / ${s.pullMs.p99} |`,
      `| pull end → status Succeeded p50 / p99 / mean ms | ${s.pullEndToDoneMs.p50} / ${s.pullEndToDoneMs.p99} / ${s.pullEndToDoneMs.mean} |`,
      `| Succeeded → next node's spec (refill) p50 / p99 / mean ms | ${s.refillMs.p50} / ${s.refillMs.p99} / ${s.refillMs.mean} |`,
      `| last node Succeeded → job completionTime (ms) | ${s.lastDoneToCompletionMs ?? '–'} |`,
      `| slot cycle (ms) / run it predicts (s) | ${s.slotCycleMs} / ${s.predictedSeconds} |`,
      `| sandbox CPU s (cores used) during the job | ${j.sandbox.cpuSeconds} (${j.sandbox.coresUsed}) |`,
      `| sandbox RSS / peak RSS MiB | ${mib(j.sandbox.rssBytes)} / ${mib(j.sandbox.peakRssBytes)} |`,
    );
  } else {
    rows.push(`| part 1 (500 nodes) | ${j.reason} |`);
  }
  const a = r.agent;
  if (a) {
    rows.push(
      `| part 2: agent, ${a.options.images} images: spawn → all Succeeded (s) | ${a.allSucceededSeconds} (first Pulling ${a.firstPullingSeconds}) |`,
      `| succeeded / failed / PullImage calls / status writes | ${a.succeeded} / ${a.failed} / ${a.runtimePulls} / ${a.statusWrites} |`,
      `| agent peak RSS (VmHWM) MiB | ${mib(a.rss.peakBytes)} |`,
      `| agent RSS at all Succeeded / steady / end MiB | ${mib(a.rss.atAllSucceededBytes)} / ${mib(a.rss.steadyBytes)} / ${mib(a.rss.endBytes)} |`,
      `| bare \`node\` RSS MiB (baseline) | ${mib(a.baseline.rssBytes)} |`,
      `| agent steady RSS − baseline MiB / ÷ baseline | ${mib(a.overBaseline.steadyRssDeltaBytes)} / ${a.overBaseline.steadyRssRatio ?? '–'}× |`,
      `| agent CPU s spawn → all Succeeded / cores used idle | ${a.cpu.toAllSucceededSeconds} / ${a.cpu.steadyCoresUsed} |`,
      `| SIGTERM → exit (s), exit code | ${a.stopSeconds ?? 'killed'}, ${a.exitCode ?? '–'} |`,
    );
  }
  rows.push('', '| target | value | pass |', '|---|---:|:---:|',
    ...r.checks.map((c) => `| ${c.metric} ${c.target} | ${c.value} | ${c.pass === null ? 'n/a' : c.pass ? 'yes' : '**no**'} |`));
  return rows.join('\n');
}
