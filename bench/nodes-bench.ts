/**
 * Sandbox nodes benchmark (issue 5): 1,000 emulated nodes on the built-in runtime (in-process above the sandbox's
 * threshold), 10,000 bare pods (no nodeName) created through the API; time from the first create until every pod
 * is Running with Ready=True, pods per second, and the sandbox process's RSS and CPU seconds. For scale, the same
 * run measures the API server's raw create throughput with the foundation benchmark's server child
 * (`server-child.ts`, kruise mode: API server only) on the same pods; ratio = raw creates/s ÷ end-to-end pods/s.
 *
 * The sandbox runs in a child process (this file, forked as its own entry point), so its RSS and CPU time are
 * its own and the load generator does not share its event loop. Child protocol (request/reply over IPC):
 *   parent → { type: 'start', nodes, imagePullSeconds } child → { type: 'ready', url, token, caCertPem, startSeconds }
 *   parent → { type: 'stats' }                        child → { type: 'stats', cpuUserUs, cpuSystemUs, rssBytes, peakRssBytes, heapUsedBytes }
 *   parent → { type: 'stop' }                         child → { type: 'stopped', stopSeconds } and exits
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { ask, exited, forkHelper } from './child-ipc.js';
import { BenchClient, openWatch, type Target } from './http-client.js';
import { ServerProcess } from './server-process.js';
import { ratio, round, summarise, type Summary } from './stats.js';
import { createSandboxPki } from '../src/sandbox/apiserver/pki.js';

export interface NodesBenchOptions {
  /** @default 1000 */
  nodes: number;
  /** @default 10000 */
  pods: number;
  /** Creates in flight (as the apiserver benchmark). @default 8 */
  concurrency: number;
  /** Built-in runtime pull time. @default 2 */
  imagePullSeconds: number;
  /** Give up waiting for Ready after this long. @default 300 */
  timeoutSeconds: number;
}

export const DEFAULT_OPTIONS: Readonly<NodesBenchOptions> = Object.freeze({
  nodes: 1000, pods: 10000, concurrency: 8, imagePullSeconds: 2, timeoutSeconds: 300,
});

export const TARGETS = Object.freeze({ allReadySeconds: 60, rssBytes: 3 * 1024 ** 3 });

interface ChildStats { type: 'stats'; cpuUserUs: number; cpuSystemUs: number; rssBytes: number; peakRssBytes: number; heapUsedBytes: number }

export interface NodesBenchResult {
  options: NodesBenchOptions;
  startup: { seconds: number; rssBytes: number; transport: string };
  pods: {
    created: number; createErrors: number; createSeconds: number; createsPerSecond: number; createLatencyMs: Summary;
    /** First create to the last pod Running and Ready. */
    allReadySeconds: number; podsPerSecond: number; ready: number;
    /** Per pod: its create request's start to the watch event showing it Ready. */
    createToReadyMs: Summary;
    cpuSeconds: number; rssBytes: number; peakRssBytes: number; heapUsedBytes: number;
  };
  rawCreate: { created: number; errors: number; seconds: number; perSecond: number; latencyMs: Summary };
  /** raw creates/s ÷ end-to-end pods/s: how much slower a pod is to run than to store. */
  ratios: Record<string, number | null>;
  stopSeconds: number;
  checks: { metric: string; target: string; value: number; pass: boolean }[];
}

type Log = (line: string) => void;

function podBody(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `bench-${i}`, namespace: 'default', labels: { app: 'bench', shard: String(i % 10) } },
    spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }], terminationGracePeriodSeconds: 1 },
  });
}

async function createAll(client: BenchClient, n: number, concurrency: number, onStart?: (i: number, at: number) => void): Promise<{ latencies: number[]; errors: number; seconds: number; firstStart: number }> {
  const bodies = Array.from({ length: n }, (_, i) => podBody(i));
  const limit = pLimit(concurrency);
  const latencies: number[] = [];
  let errors = 0;
  const firstStart = performance.now();
  await Promise.all(bodies.map((b, i) => limit(async () => {
    onStart?.(i, performance.now());
    const r = await client.request('POST', '/api/v1/namespaces/default/pods', b);
    if (r.status !== 201) errors++; else latencies.push(r.ms);
  })));
  return { latencies, errors, seconds: (performance.now() - firstStart) / 1000, firstStart };
}

async function rawCreateThroughput(o: NodesBenchOptions, log: Log): Promise<NodesBenchResult['rawCreate']> {
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
  const token = randomBytes(16).toString('hex');
  const server = await ServerProcess.start('kruise', { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem }, token);
  const client = new BenchClient({ url: server.url, token, caCertPem: pki.caCertPem }, o.concurrency);
  try {
    const r = await createAll(client, o.pods, o.concurrency);
    const perSecond = round((o.pods - r.errors) / r.seconds, 0);
    log(`raw create (API server only): ${o.pods} pods in ${round(r.seconds, 2)} s = ${perSecond}/s`);
    return { created: o.pods - r.errors, errors: r.errors, seconds: round(r.seconds, 2), perSecond, latencyMs: summarise(r.latencies) };
  } finally {
    client.close();
    await server.stop();
  }
}

function isRunningAndReady(pod: { status?: { phase?: string; conditions?: { type: string; status: string }[] } }): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function runNodesBench(o: NodesBenchOptions, log: Log): Promise<NodesBenchResult> {
  const rawCreate = await rawCreateThroughput(o, log);

  const child = forkHelper(new URL(import.meta.url));
  const started = await ask<{ type: 'ready'; url: string; token: string; caCertPem: string; startSeconds: number; transport: string }>(
    child, { type: 'start', nodes: o.nodes, imagePullSeconds: o.imagePullSeconds }, 'nodes child');
  const startStats = await ask<ChildStats>(child, { type: 'stats' }, 'nodes child');
  log(`sandbox with ${o.nodes} Ready nodes (${started.transport}) in ${started.startSeconds} s, RSS ${(startStats.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  const target: Target = { url: started.url, token: started.token, caCertPem: started.caCertPem };
  const client = new BenchClient(target, o.concurrency);
  const createdAt = new Float64Array(o.pods);
  const readyAt = new Float64Array(o.pods);
  let ready = 0;
  let resolveAll!: () => void;
  const allReady = new Promise<void>((r) => { resolveAll = r; });
  const watch = openWatch(target, '/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dbench', (ev, at) => {
    const pod = ev.object as { metadata: { name: string }; status?: { phase?: string; conditions?: { type: string; status: string }[] } };
    const i = Number(pod.metadata?.name?.slice('bench-'.length));
    if (!Number.isInteger(i) || readyAt[i] !== 0 || !isRunningAndReady(pod)) return;
    readyAt[i] = at;
    if (++ready === o.pods) resolveAll();
  }, (e) => log(`watch failed: ${e.message}`));
  await watch.ready;
  try {
    const before = await ask<ChildStats>(child, { type: 'stats' }, 'nodes child');
    const created = await createAll(client, o.pods, o.concurrency, (i, at) => { createdAt[i] = at; });
    const createsPerSecond = round((o.pods - created.errors) / created.seconds, 0);
    log(`created ${o.pods - created.errors} pods in ${round(created.seconds, 2)} s (${createsPerSecond}/s, ${created.errors} errors); waiting for Ready`);
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), o.timeoutSeconds * 1000).unref());
    const progress = setInterval(() => log(`  ${ready} / ${o.pods} Ready after ${round((performance.now() - created.firstStart) / 1000, 1)} s`), 5000);
    const outcome = await Promise.race([allReady.then(() => 'ok' as const), timeout]);
    clearInterval(progress);
    const end = outcome === 'ok' ? Math.max(...readyAt) : performance.now();
    const after = await ask<ChildStats>(child, { type: 'stats' }, 'nodes child');
    const allReadySeconds = round((end - created.firstStart) / 1000, 2);
    const toReady: number[] = [];
    for (let i = 0; i < o.pods; i++) if (readyAt[i]! > 0) toReady.push(readyAt[i]! - createdAt[i]!);
    const cpuSeconds = round((after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6, 2);
    const podsPerSecond = round(ready / allReadySeconds, 0);
    log(`${ready} / ${o.pods} pods Running and Ready ${outcome === 'ok' ? '' : '(TIMED OUT) '}after ${allReadySeconds} s: ${podsPerSecond} pods/s; sandbox CPU ${cpuSeconds} s, RSS ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB (peak ${(after.peakRssBytes / 2 ** 20).toFixed(0)} MiB)`);
    watch.close();
    client.close();
    const stopped = await ask<{ type: 'stopped'; stopSeconds: number }>(child, { type: 'stop' }, 'nodes child');
    await exited(child);
    const result: NodesBenchResult = {
      options: o,
      startup: { seconds: started.startSeconds, rssBytes: startStats.rssBytes, transport: started.transport },
      pods: {
        created: o.pods - created.errors, createErrors: created.errors, createSeconds: round(created.seconds, 2), createsPerSecond,
        createLatencyMs: summarise(created.latencies), allReadySeconds, podsPerSecond, ready, createToReadyMs: summarise(toReady),
        cpuSeconds, rssBytes: after.rssBytes, peakRssBytes: after.peakRssBytes, heapUsedBytes: after.heapUsedBytes,
      },
      rawCreate,
      ratios: {
        'raw creates/s ÷ end-to-end pods/s': ratio(rawCreate.perSecond, podsPerSecond),
        'raw creates/s ÷ creates/s under node load': ratio(rawCreate.perSecond, createsPerSecond),
      },
      stopSeconds: stopped.stopSeconds,
      checks: [
        { metric: `all ${o.pods} pods Ready (s)`, target: `<= ${TARGETS.allReadySeconds}`, value: outcome === 'ok' ? allReadySeconds : Infinity, pass: outcome === 'ok' && allReadySeconds <= TARGETS.allReadySeconds },
        { metric: 'sandbox peak RSS (MiB)', target: `<= ${TARGETS.rssBytes / 2 ** 20}`, value: round(after.peakRssBytes / 2 ** 20, 0), pass: after.peakRssBytes <= TARGETS.rssBytes },
      ],
    };
    return result;
  } finally {
    watch.close();
    client.close();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export function nodesSummary(r: NodesBenchResult): string {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
  const p = r.pods;
  const rows = [
    '| metric | value |', '|---|---:|',
    `| nodes Ready at start (${r.startup.transport} runtimes) | ${r.options.nodes} in ${r.startup.seconds} s, RSS ${mib(r.startup.rssBytes)} MiB |`,
    `| pods created / errors | ${p.created} / ${p.createErrors} |`,
    `| creates/s under node load (${r.options.concurrency} in flight) | ${p.createsPerSecond} |`,
    `| all Running and Ready after (s) | ${p.allReadySeconds} (${p.ready} Ready) |`,
    `| pods/s end to end | ${p.podsPerSecond} |`,
    `| create → Ready p50 / p99 ms | ${p.createToReadyMs.p50} / ${p.createToReadyMs.p99} |`,
    `| sandbox CPU seconds (creates → all Ready) | ${p.cpuSeconds} |`,
    `| sandbox RSS / peak RSS MiB | ${mib(p.rssBytes)} / ${mib(p.peakRssBytes)} |`,
    `| raw creates/s (API server only, same run) | ${r.rawCreate.perSecond} |`,
    ...Object.entries(r.ratios).map(([k, v]) => `| ratio ${k} | ${v ?? '–'} |`),
    `| SIGTERM-style stop of the sandbox (s) | ${r.stopSeconds} |`,
    '', '| target | value | pass |', '|---|---:|:---:|',
    ...r.checks.map((c) => `| ${c.metric} ${c.target} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`),
  ];
  return rows.join('\n');
}

// ---------------------------------------------------------------- child side

async function childMain(): Promise<void> {
  const [{ pino }, { startSandbox }, { sandboxFeatureGates }] = await Promise.all([
    import('pino'), import('../src/sandbox/sandbox.js'), import('../src/api/feature-gates.js'),
  ]);
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
  let dir: string | undefined;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 250);
  sampler.unref();
  const reply = (m: object): void => { process.send!(m); };
  process.on('message', (m: { type: string; nodes?: number; imagePullSeconds?: number }) => {
    void (async () => {
      try {
        if (m.type === 'start') {
          dir = await mkdtemp(join(tmpdir(), 'kts-nodes-bench-'));
          const t0 = performance.now();
          sandbox = await startSandbox({
            port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''),
            logger: pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'error' }, pino.destination(2)),
            nodes: { count: m.nodes ?? 1000, imagePullSeconds: m.imagePullSeconds ?? 2 },
          });
          reply({ type: 'ready', url: sandbox.url, token: sandbox.token, caCertPem: sandbox.caCertPem, startSeconds: round((performance.now() - t0) / 1000, 2), transport: sandbox.nodes?.transport ?? 'none' });
        } else if (m.type === 'stats') {
          const cpu = process.cpuUsage();
          const mem = process.memoryUsage();
          peakRss = Math.max(peakRss, mem.rss);
          reply({ type: 'stats', cpuUserUs: cpu.user, cpuSystemUs: cpu.system, rssBytes: mem.rss, peakRssBytes: peakRss, heapUsedBytes: mem.heapUsed });
        } else if (m.type === 'stop') {
          const t0 = performance.now();
          await sandbox?.close();
          if (dir) await rm(dir, { recursive: true, force: true });
          reply({ type: 'stopped', stopSeconds: round((performance.now() - t0) / 1000, 2) });
          process.exit(0);
        }
      } catch (e) {
        reply({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
      }
    })();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await childMain();
