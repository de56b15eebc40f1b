/**
 * The sandbox side of the ImagePullJob benchmark, in its own process (forked by `imagepull-bench.ts`), so the
 * sandbox's RSS and CPU time are its own and the load generator and the agent under test do not share its event
 * loop. Request/reply over IPC (`child-ipc.ts`):
 *
 *   { type: 'start', nodes, imagePullSeconds }  → { type: 'ready', url, token, caCertPem, kubeconfigPath, startSeconds, transport, runtimes }
 *   { type: 'instrumentPulls' }                 → { type: 'ok' }   every emulated node's PullImage is timed from now on
 *   { type: 'pulls' }                           → { type: 'pulls', records }  (monotonic ms, see monotonic-clock.ts)
 *   { type: 'serveRuntime', socketPath, pullLatencyMs, imageSizeBytes }
 *                                               → { type: 'serving', address }  a BuiltinRuntime on a unix socket
 *   { type: 'runtimeStats' }                    → { type: 'runtimeStats', pulls, images }
 *   { type: 'stats' }                           → { type: 'stats', cpuUserUs, cpuSystemUs, rssBytes, peakRssBytes, heapUsedBytes }
 *   { type: 'stop' }                            → { type: 'stopped', stopSeconds } and exits
 *
 * Pull timing wraps each node runtime's `pullImage` on the instance (the in-process CRI client looks the method up
 * on the runtime per call), so it sees exactly when the node's puller asked the runtime and when the runtime answered.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { monotonicMs } from './monotonic-clock.js';
import { round } from './stats.js';

export interface PullRecord {
  /** 1-based index of the emulated node (`kruise-ts-node-<node>`). */
  node: number;
  image: string;
  startMs: number;
  endMs: number;
  ok: boolean;
}

type Message =
  | { type: 'start'; nodes: number; imagePullSeconds: number }
  | { type: 'instrumentPulls' }
  | { type: 'pulls' }
  | { type: 'serveRuntime'; socketPath: string; pullLatencyMs: number; imageSizeBytes: number }
  | { type: 'runtimeStats' }
  | { type: 'stats' }
  | { type: 'stop' };

interface PullImageLike { pullImage: (req: { image?: { image?: string } | null }, ctx?: unknown) => Promise<unknown> }

async function childMain(): Promise<void> {
  const [{ pino }, { startSandbox }, { sandboxFeatureGates }, cri] = await Promise.all([
    import('pino'), import('../src/sandbox/sandbox.js'), import('../src/api/feature-gates.js'), import('../src/sandbox/cri/index.js'),
  ]);
  const logger = pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'error' }, pino.destination(2));
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
  let served: { server: Awaited<ReturnType<typeof cri.serveBuiltinRuntime>>; runtime: InstanceType<typeof cri.BuiltinRuntime>; pulls: number } | undefined;
  let dir: string | undefined;
  const records: PullRecord[] = [];
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 250);
  sampler.unref();
  const reply = (m: object): void => { process.send!(m); };

  const handle = async (m: Message): Promise<void> => {
    switch (m.type) {
      case 'start': {
        dir = await mkdtemp(join(tmpdir(), 'kts-ipb-'));
        const t0 = performance.now();
        sandbox = await startSandbox({
          port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger,
          ...(m.nodes > 0 ? { nodes: { count: m.nodes, imagePullSeconds: m.imagePullSeconds } } : {}),
        });
        reply({
          type: 'ready', url: sandbox.url, token: sandbox.token, caCertPem: sandbox.caCertPem, kubeconfigPath: sandbox.kubeconfigPath,
          startSeconds: round((performance.now() - t0) / 1000, 2), transport: sandbox.nodes?.transport ?? 'none',
          runtimes: sandbox.nodes?.runtimes.length ?? 0,
        });
        return;
      }
      case 'instrumentPulls': {
        const runtimes = sandbox?.nodes?.runtimes ?? [];
        runtimes.forEach((runtime, i) => {
          const target = runtime as unknown as PullImageLike;
          const original = target.pullImage.bind(runtime);
          target.pullImage = async (req, ctx) => {
            const startMs = monotonicMs();
            let ok = false;
            try {
              const res = await original(req, ctx);
              ok = true;
              return res;
            } finally {
              records.push({ node: i + 1, image: req.image?.image ?? '', startMs, endMs: monotonicMs(), ok });
            }
          };
        });
        reply({ type: 'ok' });
        return;
      }
      case 'pulls':
        reply({ type: 'pulls', records });
        return;
      case 'serveRuntime': {
        const runtime = new cri.BuiltinRuntime({
          pullLatencyMs: m.pullLatencyMs, registry: { defaultSizeBytes: () => m.imageSizeBytes }, logger,
        });
        const target = runtime as unknown as PullImageLike;
        const original = target.pullImage.bind(runtime);
        const state = { pulls: 0 };
        target.pullImage = async (req, ctx) => {
          state.pulls++;
          return original(req, ctx);
        };
        const server = await cri.serveBuiltinRuntime({ socketPath: m.socketPath, runtime, logger });
        served = { server, runtime, get pulls() { return state.pulls; } };
        reply({ type: 'serving', address: server.address });
        return;
      }
      case 'runtimeStats':
        reply({ type: 'runtimeStats', pulls: served?.pulls ?? 0, images: served?.runtime.stats().images ?? 0 });
        return;
      case 'stats': {
        const c = process.cpuUsage();
        const mem = process.memoryUsage();
        peakRss = Math.max(peakRss, mem.rss);
        reply({ type: 'stats', cpuUserUs: c.user, cpuSystemUs: c.system, rssBytes: mem.rss, peakRssBytes: peakRss, heapUsedBytes: mem.heapUsed });
        return;
      }
      case 'stop': {
        const t0 = performance.now();
        await served?.server.destroy();
        await sandbox?.close();
        if (dir) await rm(dir, { recursive: true, force: true });
        reply({ type: 'stopped', stopSeconds: round((performance.now() - t0) / 1000, 2) });
        process.exit(0);
      }
    }
  };

  process.on('message', (m: Message) => {
    handle(m).catch((e: unknown) => reply({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }));
  });
}

await childMain();
