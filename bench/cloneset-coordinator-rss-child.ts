/**
 * The two processes of the coordinator RSS phase (cloneset-coordinator-rss.ts), one entry point: the first message
 * says which this child is.
 *
 * - `start-sandbox`: a sandbox with emulated nodes and their agents but no coordinator (`coordinator: false`); it
 *   keeps the admission webhooks until the coordinator child takes them over.
 * - `start-coordinator`: what `kruise-ts coordinator --kubeconfig K --no-leader-elect --webhook-port 0` runs, built
 *   through the CLI's own `buildRole` (same controllers, client, health server and webhooks), minus flag parsing.
 *
 * Protocol (request/reply over IPC, child-ipc.ts):
 *   → { type: 'start-sandbox', nodes, imagePullSeconds, kubeconfigPath }  ← { type: 'ready', url, token, caCertPem, startSeconds, transport }
 *   → { type: 'start-coordinator', kubeconfigPath, qps, burst, webhooks, featureGates }  ← { type: 'ready', startSeconds }
 *   → { type: 'stats', gc?, caches? }  ← { type: 'stats', ...ChildMemory }
 *   → { type: 'heap-snapshot', path }  ← { type: 'heap-snapshot', path }
 *   → { type: 'stop' }                 ← { type: 'stopped' }, then exits
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { pino, type Logger } from 'pino';
import type { KubeObject } from '../src/api/meta.js';
import type { SharedInformer } from '../src/kube/informer/shared-informer.js';
import type { Manager } from '../src/kube/manager.js';
import { round } from './stats.js';

/** What one informer of the coordinator holds. */
export interface CacheCount {
  /** `group/version/plural` plus the scope, as the informer factory keys it. */
  informer: string;
  objects: number;
  /** The cached objects serialised: a lower bound on what they take on the heap (strings, no object headers). */
  jsonBytes: number;
}

export interface ChildMemory {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** V8's heap limit for this process. */
  heapLimitBytes: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Coordinator with `caches: true`. */
  caches?: CacheCount[];
}

type Message =
  | { type: 'start-sandbox'; nodes: number; imagePullSeconds: number; kubeconfigPath: string }
  | { type: 'start-coordinator'; kubeconfigPath: string; qps: number; burst: number; webhooks: boolean; featureGates: string }
  | { type: 'stats'; gc?: boolean; caches?: boolean }
  | { type: 'heap-snapshot'; path: string }
  | { type: 'stop' };

function countCaches(manager: Manager): CacheCount[] {
  // The factory's informers are private; reaching them here is for this measurement only.
  const informers = (manager.informers as unknown as { informers: Map<string, SharedInformer<KubeObject>> }).informers;
  return [...informers.entries()].map(([informer, inf]) => {
    let jsonBytes = 0;
    for (const o of inf.cache.list()) jsonBytes += JSON.stringify(o).length;
    return { informer: informer.replace(/\|+$/, ''), objects: inf.cache.size, jsonBytes };
  });
}

async function main(): Promise<void> {
  const logger: Logger = pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'error' }, pino.destination(2));
  let stop: (() => Promise<void>) | undefined;
  let manager: Manager | undefined;
  const reply = (m: object): void => { process.send!(m); };
  const handle = async (m: Message): Promise<void> => {
    if (m.type === 'start-sandbox') {
      const [{ startSandbox }, { sandboxFeatureGates }] = await Promise.all([
        import('../src/sandbox/sandbox.js'), import('../src/api/feature-gates.js'),
      ]);
      const t0 = performance.now();
      const sandbox = await startSandbox({
        port: 0, kubeconfigPath: m.kubeconfigPath, featureGates: sandboxFeatureGates(''), logger, coordinator: false,
        nodes: { count: m.nodes, imagePullSeconds: m.imagePullSeconds },
      });
      stop = () => sandbox.close();
      reply({
        type: 'ready', url: sandbox.url, token: sandbox.token, caCertPem: sandbox.caCertPem,
        startSeconds: round((performance.now() - t0) / 1000, 2), transport: sandbox.nodes?.transport ?? 'none',
      });
    } else if (m.type === 'start-coordinator') {
      // What the binary loads before any command runs (main.ts's static imports: commander, and the CRI client
      // through the `cri` commands), so this process holds what a `kruise-ts coordinator` process holds.
      await Promise.all([
        import('commander'), import('../src/cli/cri-commands.js'), import('../src/cli/get-imagepulljobs.js'), import('../src/cli/rollout.js'),
      ]);
      const { buildRole } = await import('../src/cli/runtime-role.js');
      const t0 = performance.now();
      const built = await buildRole('coordinator', {
        kubeconfig: m.kubeconfigPath, healthPort: 0, leaderElect: false, kubeApiQps: m.qps, kubeApiBurst: m.burst,
        featureGates: m.featureGates,
        ...(m.webhooks ? { webhookPort: 0, webhookHost: '127.0.0.1' } : {}),
      }, { inClusterHost: undefined, podName: 'bench-coordinator', nodeName: undefined }, logger);
      const abort = new AbortController();
      const done = built.run(abort.signal);
      stop = async () => { abort.abort(); await done; };
      manager = built.manager;
      // Leading means the webhooks were served and their configurations applied first (coordinator-role.ts).
      const deadline = performance.now() + 60_000;
      while (built.manager.state !== 'leading') {
        if (performance.now() > deadline) throw new Error(`coordinator not leading after 60 s (state ${built.manager.state})`);
        await Promise.race([done.then(() => { throw new Error('coordinator stopped while starting'); }), new Promise((r) => setTimeout(r, 20))]);
      }
      await built.manager.informers.waitForSync();
      reply({ type: 'ready', startSeconds: round((performance.now() - t0) / 1000, 2) });
    } else if (m.type === 'stats') {
      if (m.gc) {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (!gc) throw new Error('run with --expose-gc');
        gc();
      }
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      const out: ChildMemory = {
        rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, heapTotalBytes: mem.heapTotal, externalBytes: mem.external,
        arrayBuffersBytes: mem.arrayBuffers, heapLimitBytes: getHeapStatistics().heap_size_limit,
        cpuUserUs: cpu.user, cpuSystemUs: cpu.system,
        ...(m.caches && manager ? { caches: countCaches(manager) } : {}),
      };
      reply({ type: 'stats', ...out });
    } else if (m.type === 'heap-snapshot') {
      reply({ type: 'heap-snapshot', path: writeHeapSnapshot(m.path) });
    } else {
      await stop?.();
      reply({ type: 'stopped' });
      process.exit(0);
    }
  };
  process.on('message', (m: Message) => {
    handle(m).catch((e: unknown) => reply({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }));
  });
}

await main();
