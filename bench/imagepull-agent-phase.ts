/**
 * Part 2 of the ImagePullJob benchmark: the real `kruise-ts agent` binary as its own process, against a sandbox API
 * server (no emulated nodes) and a built-in runtime served on a unix socket, both in the sandbox child. The node
 * `bench-node` gets a NodeImage with `images` distinct images, one tag each, written directly (no coordinator: the
 * agent is what is measured). Its RSS and CPU come from /proc (`proc-sampler.ts`), sampled every `sampleIntervalMs`
 * from spawn through the pulls and a steady period after the last tag is Succeeded; a bare
 * `node -e "setInterval(()=>{},1000)"` is read the same way, so the agent's own cost shows as a difference and a
 * ratio over what any Node process costs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ask, exited, forkHelper } from './child-ipc.js';
import { BenchClient, openWatch, type Target } from './http-client.js';
import { ProcSampler, type ProcReading } from './proc-sampler.js';
import { ratio, round } from './stats.js';


/** The repository root: the nearest ancestor of this file with a package.json. */
function repoRootOfBench(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the benchmark script');
    dir = up;
  }
  return dir;
}

/** NODE_OPTIONS of the agent container in deploy/agent/daemonset.yaml: the bench runs the agent as deployed. */
function daemonSetNodeOptions(repoRoot: string): string {
  const ds = parseYaml(readFileSync(join(repoRoot, 'deploy/agent/daemonset.yaml'), 'utf8')) as {
    spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } };
  };
  for (const c of ds.spec?.template?.spec?.containers ?? []) {
    const v = (c.env ?? []).find((e) => e.name === 'NODE_OPTIONS')?.value;
    if (v !== undefined) return v;
  }
  return '';
}

export interface AgentPhaseOptions {
  /** Images on the NodeImage (one tag each). @default 100 */
  images: number;
  /** Built-in runtime: fixed part of every pull. @default 100 */
  pullLatencyMs: number;
  /** Built-in runtime: every image's size (at its default 100 MiB/s). @default 1 MiB */
  imageSizeBytes: number;
  /** How long the agent is watched idle after the last tag succeeded. @default 10 */
  steadySeconds: number;
  /** /proc sampling period. @default 100 */
  sampleIntervalMs: number;
  /** Give up waiting for the pulls after this long. @default 60 */
  timeoutSeconds: number;
}

export const AGENT_PHASE_DEFAULTS: Readonly<AgentPhaseOptions> = Object.freeze({
  images: 100, pullLatencyMs: 100, imageSizeBytes: 1024 * 1024, steadySeconds: 10, sampleIntervalMs: 100, timeoutSeconds: 60,
});

export const NODE_NAME = 'bench-node';
const MIB = 2 ** 20;

export interface AgentPhaseResult {
  options: AgentPhaseOptions;
  /** Node flags: the DaemonSet's NODE_OPTIONS, or BENCH_AGENT_NODE_ARGS in experiments. */
  agentNodeArgs: string[];
  /** BENCH_AGENT_ENTRY when set (experiments; absent in recorded runs). */
  agentEntry?: string;
  /** [seconds since spawn, RSS MiB, CPU seconds], one reading per 0.5 s. */
  rssTimeline: [number, number, number][];
  /** The command line, with the temporary paths. */
  agentCommand: string;
  /** Spawn → the first tag reported Pulling / every tag reported Succeeded (watch arrival at the benchmark). */
  firstPullingSeconds: number | null;
  allSucceededSeconds: number | null;
  succeeded: number;
  failed: number;
  /** PullImage calls the runtime answered (each tag exactly once when nothing was retried). */
  runtimePulls: number;
  /** NodeImage status writes seen on the watch (MODIFIED events with a changed status). */
  statusWrites: number;
  rss: {
    /** VmHWM at the end: the kernel's peak over the agent's whole life. */
    peakBytes: number;
    /** When the last tag showed Succeeded. */
    atAllSucceededBytes: number;
    /** Median of the last half of the steady period. */
    steadyBytes: number;
    /** At the end of the steady period. */
    endBytes: number;
  };
  cpu: {
    /** Spawn → all Succeeded: start-up (module loading, informer sync, CRI discovery) and the pulls. */
    toAllSucceededSeconds: number;
    /** During the steady period, per second of wall time (1 = one core). */
    steadyCoresUsed: number;
    totalSeconds: number;
  };
  baseline: { command: string; rssBytes: number; hwmBytes: number; cpuSeconds: number };
  /** Agent ÷ baseline and agent − baseline (steady RSS). */
  overBaseline: { steadyRssRatio: number | null; steadyRssDeltaBytes: number; peakRssRatio: number | null };
  /** SIGTERM → exit. */
  stopSeconds: number | null;
  exitCode: number | null;
  /** Number of /proc readings of the agent. */
  samples: number;
}

type Log = (line: string) => void;

interface TagStatus { tag: string; phase: string }
interface NodeImageEvent { metadata?: { name?: string; resourceVersion?: string }; status?: { succeeded?: number; imageStatuses?: Record<string, { tags?: TagStatus[] }> } }

export function imageName(i: number): string {
  return `registry.bench.test/agent-img-${String(i).padStart(3, '0')}`;
}

function nodeBody(): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux' } },
    spec: {},
  });
}

function nodeImageBody(images: number): string {
  const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const spec: Record<string, object> = {};
  for (let i = 0; i < images; i++) {
    spec[imageName(i)] = { tags: [{ tag: 'v1', createdAt, version: 0, pullPolicy: { ttlSecondsAfterFinished: 86400, timeoutSeconds: 600, backoffLimit: 3 } }] };
  }
  return JSON.stringify({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name: NODE_NAME }, spec: { images: spec } });
}

function timeline(readings: ProcReading[], from: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  let next = 0;
  for (const r of readings) {
    const t = (r.atMs - from) / 1000;
    if (t + 1e-9 < next) continue;
    out.push([round(t, 1), round(r.rssBytes / MIB, 1), round(r.cpuSeconds, 2)]);
    next = t + 0.5;
  }
  return out;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Keeps the last `max` characters written to a stream, for a useful error when the agent dies. */
function tail(stream: NodeJS.ReadableStream | null, max = 4000): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (c: string) => { text = (text + c).slice(-max); });
  return () => text;
}

async function measureBaseline(): Promise<AgentPhaseResult['baseline']> {
  const args = ['-e', 'setInterval(()=>{},1000)'];
  const p = spawn(process.execPath, args, { stdio: 'ignore' });
  const sampler = new ProcSampler(p.pid!, 100);
  await sleep(2000);
  const last = sampler.sample();
  sampler.stop();
  p.kill('SIGKILL');
  await once(p, 'exit');
  if (!last) throw new Error('baseline node process vanished');
  return { command: `node -e "${args[1]}"`, rssBytes: last.rssBytes, hwmBytes: last.hwmBytes, cpuSeconds: round(last.cpuSeconds, 2) };
}

export async function runAgentPhase(o: AgentPhaseOptions, log: Log): Promise<AgentPhaseResult> {
  const baseline = await measureBaseline();
  log(`baseline ${baseline.command}: RSS ${(baseline.rssBytes / MIB).toFixed(1)} MiB`);

  const child = forkHelper(new URL('./imagepull-child.js', import.meta.url));
  const socketPath = `/tmp/kts-ipb-${process.pid}.sock`;
  let agent: ChildProcess | undefined;
  let client: BenchClient | undefined;
  let watch: ReturnType<typeof openWatch> | undefined;
  let sampler: ProcSampler | undefined;
  try {
    const ready = await ask<{ type: 'ready'; url: string; token: string; caCertPem: string; kubeconfigPath: string; startSeconds: number }>(
      child, { type: 'start', nodes: 0, imagePullSeconds: 0 }, 'imagepull child');
    const served = await ask<{ type: 'serving'; address: string }>(
      child, { type: 'serveRuntime', socketPath, pullLatencyMs: o.pullLatencyMs, imageSizeBytes: o.imageSizeBytes }, 'imagepull child');
    const target: Target = { url: ready.url, token: ready.token, caCertPem: ready.caCertPem };
    client = new BenchClient(target, 2);
    const node = await client.request('POST', '/api/v1/nodes', nodeBody());
    if (node.status !== 201) throw new Error(`creating Node ${NODE_NAME}: HTTP ${node.status} ${node.body.toString()}`);
    const ni = await client.request('POST', '/apis/apps.kruise.io/v1alpha1/nodeimages', nodeImageBody(o.images));
    if (ni.status !== 201) throw new Error(`creating NodeImage ${NODE_NAME}: HTTP ${ni.status} ${ni.body.toString().slice(0, 500)}`);
    log(`sandbox API server in ${ready.startSeconds} s; built-in runtime on ${served.address}; NodeImage ${NODE_NAME} with ${o.images} images`);

    let spawnedAt = 0;
    let firstPullingAt: number | undefined;
    let allSucceededAt: number | undefined;
    let succeeded = 0;
    let failed = 0;
    let statusWrites = 0;
    let lastStatus = '';
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => { resolveDone = r; });
    watch = openWatch(target, `/apis/apps.kruise.io/v1alpha1/nodeimages?watch=true&fieldSelector=metadata.name%3D${NODE_NAME}`, (ev, at) => {
      const obj = ev.object as NodeImageEvent;
      const statusText = JSON.stringify(obj.status ?? null);
      if (statusText === lastStatus) return;
      lastStatus = statusText;
      if (ev.type === 'MODIFIED') statusWrites++;
      let s = 0;
      let f = 0;
      let pulling = false;
      for (const image of Object.values(obj.status?.imageStatuses ?? {})) {
        for (const t of image.tags ?? []) {
          if (t.phase === 'Succeeded') s++;
          else if (t.phase === 'Failed') f++;
          else if (t.phase === 'Pulling') pulling = true;
        }
      }
      succeeded = s;
      failed = f;
      if (firstPullingAt === undefined && (pulling || s > 0)) firstPullingAt = at;
      if (allSucceededAt === undefined && s + f >= o.images) { allSucceededAt = at; resolveDone(); }
    }, (e) => log(`NodeImage watch failed: ${e.message}`));
    await watch.ready;

    // Experiments only, recorded with the result: BENCH_AGENT_ENTRY runs another entry point with the same flags
    // (a trimmed build), BENCH_AGENT_NODE_ARGS adds V8 flags (--max-semi-space-size=1). Recorded runs set neither.
    const mainJs = process.env['BENCH_AGENT_ENTRY'] ?? fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
    // The agent runs with the V8 flags deploy/agent/daemonset.yaml gives it (NODE_OPTIONS there), unless an
    // experiment overrides them.
    const nodeArgs = (process.env['BENCH_AGENT_NODE_ARGS'] ?? daemonSetNodeOptions(repoRootOfBench())).split(' ').filter((a) => a !== '');
    const args = [...nodeArgs, mainJs, 'agent', '--kubeconfig', ready.kubeconfigPath, '--node-name', NODE_NAME, '--cri-endpoint', served.address, '--health-port', '0', '--log-level', 'warn'];
    spawnedAt = performance.now();
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    agent = proc;
    const outTail = tail(proc.stdout);
    const errTail = tail(proc.stderr);
    sampler = new ProcSampler(proc.pid!, o.sampleIntervalMs);
    const exitedEarly = once(proc, 'exit').then(([code]) => code as number | null);
    const progress = setInterval(() => log(`  ${succeeded} / ${o.images} tags Succeeded after ${round((performance.now() - spawnedAt) / 1000, 1)} s`), 5000);
    const outcome = await Promise.race([
      done.then(() => 'ok' as const),
      exitedEarly.then((code) => `agent exited with ${String(code)}` as const),
      sleep(o.timeoutSeconds * 1000, 'timeout' as const, { ref: false }),
    ]);
    clearInterval(progress);
    if (outcome !== 'ok') {
      throw new Error(`agent phase: ${outcome} (${succeeded} / ${o.images} Succeeded); agent output:\n${outTail()}\n${errTail()}`);
    }
    const atAll = sampler.sample() ?? sampler.readings[sampler.readings.length - 1]!;
    const cpuAtAll = atAll.cpuSeconds;
    log(`all ${o.images} tags Succeeded ${round((allSucceededAt! - spawnedAt) / 1000, 2)} s after spawn (first Pulling after ${round((firstPullingAt! - spawnedAt) / 1000, 2)} s); RSS ${(atAll.rssBytes / MIB).toFixed(1)} MiB; watching ${o.steadySeconds} s idle`);
    const steadyFrom = performance.now();
    await sleep(o.steadySeconds * 1000);
    const end = sampler.sample()!;
    sampler.stop();
    const steadyReadings: ProcReading[] = sampler.between(steadyFrom + (o.steadySeconds * 1000) / 2, end.atMs);
    const steadyBytes = median(steadyReadings.map((r) => r.rssBytes));
    const runtime = await ask<{ type: 'runtimeStats'; pulls: number; images: number }>(child, { type: 'runtimeStats' }, 'imagepull child');

    const t0 = performance.now();
    proc.kill('SIGTERM');
    const exitCode = await Promise.race([exitedEarly, sleep(35_000, 'timeout' as const, { ref: false })]);
    const stopSeconds = exitCode === 'timeout' ? null : round((performance.now() - t0) / 1000, 2);
    if (exitCode === 'timeout') proc.kill('SIGKILL');
    agent = undefined;

    const result: AgentPhaseResult = {
      options: o,
      agentNodeArgs: nodeArgs,
      ...(process.env['BENCH_AGENT_ENTRY'] ? { agentEntry: process.env['BENCH_AGENT_ENTRY'] } : {}),
      rssTimeline: timeline(sampler.readings, spawnedAt),
      agentCommand: ['node', ...args.map((a) => a.replace(fileURLToPath(new URL('..', import.meta.url)), ''))].join(' '),
      firstPullingSeconds: firstPullingAt === undefined ? null : round((firstPullingAt - spawnedAt) / 1000, 2),
      allSucceededSeconds: round((allSucceededAt! - spawnedAt) / 1000, 2),
      succeeded, failed, runtimePulls: runtime.pulls, statusWrites,
      rss: { peakBytes: end.hwmBytes, atAllSucceededBytes: atAll.rssBytes, steadyBytes, endBytes: end.rssBytes },
      cpu: {
        toAllSucceededSeconds: round(cpuAtAll, 2),
        steadyCoresUsed: round((end.cpuSeconds - cpuAtAll) / ((end.atMs - atAll.atMs) / 1000), 4),
        totalSeconds: round(end.cpuSeconds, 2),
      },
      baseline,
      overBaseline: {
        steadyRssRatio: ratio(steadyBytes, baseline.rssBytes),
        steadyRssDeltaBytes: steadyBytes - baseline.rssBytes,
        peakRssRatio: ratio(end.hwmBytes, baseline.rssBytes),
      },
      stopSeconds,
      exitCode: exitCode === 'timeout' ? null : exitCode,
      samples: sampler.readings.length,
    };
    log(`agent: peak RSS ${(result.rss.peakBytes / MIB).toFixed(1)} MiB, steady ${(steadyBytes / MIB).toFixed(1)} MiB (baseline ${(baseline.rssBytes / MIB).toFixed(1)} MiB), CPU ${result.cpu.toAllSucceededSeconds} s to all Succeeded, ${result.cpu.steadyCoresUsed} cores idle; ${runtime.pulls} PullImage calls, ${statusWrites} status writes; SIGTERM → exit ${stopSeconds} s (code ${String(result.exitCode)})`);
    return result;
  } finally {
    sampler?.stop();
    watch?.close();
    client?.close();
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    if (child.exitCode === null) {
      await ask(child, { type: 'stop' }, 'imagepull child').catch(() => child.kill('SIGKILL'));
      await exited(child);
    }
    await rm(socketPath, { force: true });
  }
}
