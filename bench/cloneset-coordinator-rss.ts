/**
 * The coordinator's own RSS (issue 8: 100 CloneSets × 20 Pods ≤ 256 MiB; upstream's manager is limited to 512 MiB).
 * cloneset-bench.ts part 4 measures the whole sandbox process; here the coordinator runs apart:
 *
 * 1. a sandbox child with `nodes` emulated nodes and their agents, without its coordinator (`coordinator: false`);
 * 2. a coordinator child, as `kruise-ts coordinator --kubeconfig <the sandbox's> --no-leader-elect`, serving the
 *    webhooks too (`webhooks: false` leaves them to the sandbox); its client gets the budget the sandbox gives its
 *    in-process coordinator (`qps`), so the run is paced as cloneset-bench's;
 * 3. idle: the coordinator synced, no CloneSet, 3 s settled, after a forced GC;
 * 4. `cloneSets` CloneSets × `podsPerCloneSet` Pods created 4 at a time, every Pod Ready, 3 s settled, forced GC:
 *    the coordinator child's RSS and heap, what its informers cache, and its peak (VmHWM) over the run.
 *
 *   node DIST/bench/cloneset-coordinator-rss.js [--nodes=200] [--clone-sets=100] [--pods-per-clone-set=20]
 *     [--qps=N] [--burst=N] [--no-webhooks] [--heap-snapshot=FILE]
 * prints the result as JSON on stdout (progress on stderr).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import pLimit from 'p-limit';
import { ask, exited, forkHelper } from './child-ipc.js';
import type { ChildMemory } from './cloneset-coordinator-rss-child.js';
import { BenchClient, openWatch, type Target } from './http-client.js';
import { readProc } from './proc-sampler.js';
import { round } from './stats.js';

export interface CoordinatorRssOptions {
  /** @default 200 */
  nodes: number;
  /** @default 100 */
  cloneSets: number;
  /** @default 20 */
  podsPerCloneSet: number;
  /** Built-in runtime pull time. @default 2 */
  imagePullSeconds: number;
  /** The wait for every Pod Ready. @default 300 */
  timeoutSeconds: number;
  /** The coordinator child serves the admission webhooks (as `kruise-ts coordinator` does). @default true */
  webhooks: boolean;
  /**
   * The coordinator client's budget. @default the one the sandbox gives its in-process coordinator
   * (imagepull-wiring.ts: max(500, 5 × nodes) qps, burst max(1000, 10 × nodes)), so both runs are paced alike
   */
  qps?: number;
  burst?: number;
  /** Writes a heap snapshot of the coordinator here once loaded (investigation only). */
  heapSnapshotPath?: string;
}

export const DEFAULT_COORDINATOR_RSS_OPTIONS: Readonly<CoordinatorRssOptions> = Object.freeze({
  nodes: 200, cloneSets: 100, podsPerCloneSet: 20, imagePullSeconds: 2, timeoutSeconds: 300, webhooks: true,
});

export const COORDINATOR_RSS_TARGET_BYTES = 256 * 2 ** 20;

type Stats = ChildMemory & { type: 'stats' };

export interface CoordinatorRssResult {
  options: CoordinatorRssOptions;
  coordinator: { qps: number; burst: number; webhooks: boolean; startSeconds: number };
  sandbox: { startSeconds: number; transport: string };
  /** Synced, no CloneSet, after GC. */
  idle: ChildMemory;
  /** Every Pod Ready, 3 s settled, after GC; `caches` is what its informers hold. */
  loaded: ChildMemory;
  /** VmHWM of the coordinator child at the end: its peak RSS over the whole run. */
  peakRssBytes: number;
  /** Coordinator CPU from idle to loaded, s. */
  cpuSeconds: number;
  ready: number;
  allReadySeconds: number;
  timedOut: boolean;
  /** The sandbox child (API server + nodes + agents, no coordinator) loaded, after GC, for scale. */
  sandboxRssBytes: number;
  check: { metric: string; target: string; value: number; pass: boolean };
}

type Log = (line: string) => void;
type PodLike = { metadata?: { name?: string; deletionTimestamp?: string }; status?: { phase?: string; conditions?: { type: string; status: string }[] } };

const CS_PATH = '/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets';
const CHILD = new URL('./cloneset-coordinator-rss-child.js', import.meta.url);
const mib = (b: number): number => round(b / 2 ** 20, 0);

function isReady(p: PodLike): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function cloneSet(name: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, bench: 'cloneset-rss' } },
        spec: { containers: [{ name: 'main', image: 'nginx:alpine' }], terminationGracePeriodSeconds: 1 },
      },
      updateStrategy: { type: 'InPlaceIfPossible', partition: 0, maxUnavailable: '20%' },
    },
  });
}

/** Counts the bench's Pods and the Ready ones from one watch; resolves a wait when the count is reached. */
function watchReady(target: Target, log: Log): { ready: Promise<void>; count: () => { pods: number; ready: number }; until: (n: number, timeoutMs: number) => Promise<boolean>; close: () => void } {
  const pods = new Map<string, boolean>();
  let readyCount = 0;
  let waiter: { n: number; resolve: (ok: boolean) => void } | undefined;
  const stream = openWatch(target, `/api/v1/namespaces/default/pods?watch=true&labelSelector=${encodeURIComponent('bench=cloneset-rss')}`, (ev) => {
    const pod = ev.object as PodLike;
    const name = pod.metadata?.name;
    if (!name) return;
    const was = pods.get(name) ?? false;
    const gone = ev.type === 'DELETED' || pod.metadata?.deletionTimestamp !== undefined;
    const now = !gone && isReady(pod);
    if (gone) pods.delete(name); else pods.set(name, now);
    readyCount += Number(now) - Number(was);
    if (waiter && readyCount >= waiter.n) { waiter.resolve(true); waiter = undefined; }
  }, (e) => log(`watch failed: ${e.message}`));
  return {
    ready: stream.ready,
    count: () => ({ pods: pods.size, ready: readyCount }),
    until: (n, timeoutMs) => new Promise((resolve) => {
      if (readyCount >= n) { resolve(true); return; }
      const t = setTimeout(() => { waiter = undefined; resolve(false); }, timeoutMs);
      waiter = { n, resolve: (ok) => { clearTimeout(t); resolve(ok); } };
    }),
    close: () => stream.close(),
  };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  await ask<{ type: 'stopped' }>(child, { type: 'stop' }, 'coordinator rss child').catch(() => undefined);
  await Promise.race([exited(child), sleep(30_000, undefined, { ref: false })]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function describe(s: ChildMemory): string {
  return `RSS ${mib(s.rssBytes)} MiB, heap used ${mib(s.heapUsedBytes)} / total ${mib(s.heapTotalBytes)} MiB, external ${mib(s.externalBytes)} MiB`;
}

export async function runCoordinatorRssPhase(o: CoordinatorRssOptions, log: Log): Promise<CoordinatorRssResult> {
  const dir = await mkdtemp(join(tmpdir(), 'kts-coordinator-rss-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  const qps = o.qps ?? Math.max(500, 5 * o.nodes);
  const burst = o.burst ?? Math.max(1000, 10 * o.nodes);
  let sandbox: ChildProcess | undefined;
  let coordinator: ChildProcess | undefined;
  let watch: ReturnType<typeof watchReady> | undefined;
  let client: BenchClient | undefined;
  try {
    sandbox = forkHelper(CHILD);
    const s = await ask<{ type: 'ready'; url: string; token: string; caCertPem: string; startSeconds: number; transport: string }>(
      sandbox, { type: 'start-sandbox', nodes: o.nodes, imagePullSeconds: o.imagePullSeconds, kubeconfigPath }, 'sandbox child');
    log(`sandbox without coordinator: ${o.nodes} Ready nodes (${s.transport}) in ${s.startSeconds} s`);
    const target: Target = { url: s.url, token: s.token, caCertPem: s.caCertPem };
    const { sandboxFeatureGates } = await import('../src/api/feature-gates.js');
    coordinator = forkHelper(CHILD);
    const c = await ask<{ type: 'ready'; startSeconds: number }>(coordinator, {
      type: 'start-coordinator', kubeconfigPath, qps, burst, webhooks: o.webhooks, featureGates: sandboxFeatureGates('').toString(),
    }, 'coordinator child');
    log(`coordinator child synced and leading in ${c.startSeconds} s (qps ${qps}, webhooks ${o.webhooks ? 'in the coordinator' : 'in the sandbox'})`);
    await sleep(3000);
    const idle = await ask<Stats>(coordinator, { type: 'stats', gc: true, caches: true }, 'coordinator child');
    log(`coordinator idle: ${describe(idle)}`);

    client = new BenchClient(target, 4);
    watch = watchReady(target, log);
    await watch.ready;
    const total = o.cloneSets * o.podsPerCloneSet;
    const t0 = performance.now();
    const limit = pLimit(4);
    await Promise.all(Array.from({ length: o.cloneSets }, (_, i) => limit(async () => {
      const r = await client!.request('POST', CS_PATH, cloneSet(`rss-${i}`, o.podsPerCloneSet));
      if (r.status !== 201) throw new Error(`create CloneSet rss-${i}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
    })));
    const w = watch;
    const progress = setInterval(() => { const n = w.count(); log(`  ${n.pods} Pods, ${n.ready} / ${total} Ready after ${round((performance.now() - t0) / 1000, 1)} s`); }, 5000);
    const ok = await watch.until(total, o.timeoutSeconds * 1000);
    clearInterval(progress);
    const allReadySeconds = round((performance.now() - t0) / 1000, 2);
    await sleep(3000); // status writes settle
    const loaded = await ask<Stats>(coordinator, { type: 'stats', gc: true, caches: true }, 'coordinator child');
    const peakRssBytes = readProc(coordinator.pid!)?.hwmBytes ?? NaN;
    const sandboxStats = await ask<Stats>(sandbox, { type: 'stats', gc: true }, 'sandbox child');
    const ready = watch.count().ready;
    log(`${o.cloneSets} CloneSets × ${o.podsPerCloneSet}: ${ready} Ready after ${allReadySeconds} s${ok ? '' : ' (TIMED OUT)'}`);
    log(`coordinator loaded: ${describe(loaded)}; peak RSS ${mib(peakRssBytes)} MiB; sandbox without coordinator ${mib(sandboxStats.rssBytes)} MiB`);
    if (o.heapSnapshotPath !== undefined) {
      const h = await ask<{ type: 'heap-snapshot'; path: string }>(coordinator, { type: 'heap-snapshot', path: o.heapSnapshotPath }, 'coordinator child');
      log(`heap snapshot: ${h.path}`);
    }
    const { type: _i, ...idleMem } = idle;
    const { type: _l, ...loadedMem } = loaded;
    return {
      options: o,
      coordinator: { qps, burst, webhooks: o.webhooks, startSeconds: c.startSeconds },
      sandbox: { startSeconds: s.startSeconds, transport: s.transport },
      idle: idleMem, loaded: loadedMem, peakRssBytes,
      cpuSeconds: round((loaded.cpuUserUs + loaded.cpuSystemUs - idle.cpuUserUs - idle.cpuSystemUs) / 1e6, 2),
      ready, allReadySeconds, timedOut: !ok, sandboxRssBytes: sandboxStats.rssBytes,
      check: {
        metric: `coordinator process RSS, ${o.cloneSets} × ${o.podsPerCloneSet} on ${o.nodes} nodes (MiB, after GC)`,
        target: `<= ${mib(COORDINATOR_RSS_TARGET_BYTES)}`, value: mib(loaded.rssBytes),
        pass: ok && loaded.rssBytes <= COORDINATOR_RSS_TARGET_BYTES,
      },
    };
  } finally {
    watch?.close();
    client?.close();
    // The coordinator first: the sandbox's API server must outlive its watches and last writes.
    const s0 = performance.now();
    await stopChild(coordinator);
    const s1 = performance.now();
    await stopChild(sandbox);
    log(`stopped: coordinator child in ${round((s1 - s0) / 1000, 1)} s, sandbox child in ${round((performance.now() - s1) / 1000, 1)} s`);
    await rm(dir, { recursive: true, force: true });
  }
}

function parseArgs(argv: readonly string[]): CoordinatorRssOptions {
  const o: CoordinatorRssOptions = { ...DEFAULT_COORDINATOR_RSS_OPTIONS };
  const ints = {
    '--nodes': 'nodes', '--clone-sets': 'cloneSets', '--pods-per-clone-set': 'podsPerCloneSet', '--timeout-seconds': 'timeoutSeconds',
    '--qps': 'qps', '--burst': 'burst',
  } as const;
  for (const arg of argv) {
    const [flag, value] = arg.split('=', 2) as [string, string | undefined];
    if (flag === '--no-webhooks') o.webhooks = false;
    else if (flag === '--heap-snapshot' && value) o.heapSnapshotPath = value;
    else if (flag in ints && value !== undefined && /^\d+$/.test(value)) o[ints[flag as keyof typeof ints]] = Number(value);
    else throw new Error(`${arg}: expected --nodes=N, --clone-sets=N, --pods-per-clone-set=N, --timeout-seconds=N, --qps=N, --burst=N, --no-webhooks or --heap-snapshot=FILE`);
  }
  return o;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = await runCoordinatorRssPhase(parseArgs(process.argv.slice(2)), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
