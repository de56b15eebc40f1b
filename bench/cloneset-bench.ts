/**
 * CloneSet benchmark (issue 8). Four parts, one run:
 *
 * 1. Planner: `calculateDiffs` + `chooseUpdateCandidates` for a 2,000-Pod CloneSet, in process (`cloneset-planner.ts`).
 * 2. Raw create throughput: the foundation benchmark's server child (`server-child.ts`, kruise mode: the API server
 *    alone) takes the same number of bare pods, 8 creates in flight.
 * 3. A sandbox with `nodes` emulated nodes (a child process, this file forked as its own entry point): a CloneSet
 *    scaled 0 → `pods` (first ADDED pod event … last, and … last Ready), then an in-place image update of every
 *    Pod with maxUnavailable 20%. "One container restart" is measured in the same sandbox first: a 1-replica
 *    CloneSet updated in place (patch → its Pod Ready on the new image); the ideal is 5 rounds × that.
 *    Before the scale-out, the same sandbox takes the same number of bare Pods straight from a client (`direct`,
 *    as many in flight as the controller writes at once), which are then force-deleted: "raw creation" with the
 *    same nodes, webhooks and watchers busy, so the ratio isolates what the controller adds. Before they go, their
 *    image is changed by hand in rounds of 20% (`nginx:1.24`, another image than the update's): the in-place
 *    update's rounds without the controller, the other same-run reference for the update.
 * 4. The coordinator's own RSS (`cloneset-coordinator-rss.ts`): a sandbox without its coordinator and, in another
 *    process, the coordinator as `kruise-ts coordinator` runs it; `cloneSets` × `podsPerCloneSet` Pods, all Ready.
 *
 * Child protocol (request/reply over IPC):
 *   parent → { type: 'start', nodes, imagePullSeconds } child → { type: 'ready', url, token, caCertPem, startSeconds, transport }
 *   parent → { type: 'stats', gc? }                   child → { type: 'stats', rssBytes, peakRssBytes, heapUsedBytes, cpuUserUs, cpuSystemUs }
 *   parent → { type: 'stop' }                         child → { type: 'stopped' } and exits
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import pLimit from 'p-limit';
import { ask, exited, forkHelper } from './child-ipc.js';
import { DEFAULT_COORDINATOR_RSS_OPTIONS, runCoordinatorRssPhase, type CoordinatorRssResult } from './cloneset-coordinator-rss.js';
import { runPlannerBench, type PlannerResult } from './cloneset-planner.js';
import { BenchClient, openWatch, type Target, type WatchStream } from './http-client.js';
import { ServerProcess } from './server-process.js';
import { ratio, round, summarise, type Summary } from './stats.js';
import { createSandboxPki } from '../src/sandbox/apiserver/pki.js';

export interface CloneSetBenchOptions {
  /** @default 200 */
  nodes: number;
  /** Replicas of the scaled and updated CloneSet. @default 2000 */
  pods: number;
  /** Planner Pods. @default 2000 */
  plannerPods: number;
  /** @default 1000 */
  plannerIterations: number;
  /** RSS part. @default 100 */
  cloneSets: number;
  /** @default 20 */
  podsPerCloneSet: number;
  /** Raw creates in flight (API server alone). @default 8 */
  concurrency: number;
  /** Direct creates in flight in the sandbox: the in-process controller's writeConcurrency. @default 64 */
  directConcurrency: number;
  /** Built-in runtime pull time. @default 2 */
  imagePullSeconds: number;
  /** Per wait. @default 300 */
  timeoutSeconds: number;
}

export const DEFAULT_OPTIONS: Readonly<CloneSetBenchOptions> = Object.freeze({
  nodes: 200, pods: 2000, plannerPods: 2000, plannerIterations: 1000, cloneSets: 100, podsPerCloneSet: 20,
  concurrency: 8, directConcurrency: 64, imagePullSeconds: 2, timeoutSeconds: 300,
});

export const TARGETS = Object.freeze({ scaleOutOfRaw: 0.8, updateOfIdeal: 1.5, plannerP99Ms: 5, rssBytes: 256 * 2 ** 20 });

interface ChildStats { type: 'stats'; cpuUserUs: number; cpuSystemUs: number; rssBytes: number; peakRssBytes: number; heapUsedBytes: number }
interface Started { type: 'ready'; url: string; token: string; caCertPem: string; startSeconds: number; transport: string }

export interface CloneSetBenchResult {
  options: CloneSetBenchOptions;
  planner: PlannerResult;
  rawCreate: { created: number; errors: number; seconds: number; perSecond: number; latencyMs: Summary };
  /** Bare Pods created straight into the scale-out's sandbox: the same-run baseline for the controller. */
  direct: {
    created: number; errors: number; seconds: number; perSecond: number; allReadySeconds: number; readyPerSecond: number; timedOut: boolean;
    /**
     * The same in-place update without the controller: the bench patches the bare Pods' image itself, 20% at a time,
     * each round once the previous one is Ready on the new image. What the nodes need for the rounds, same run.
     */
    inPlaceRoundsSeconds: number; inPlaceTimedOut: boolean;
  };
  scaleOut: {
    startup: { seconds: number; transport: string };
    /** Patch replicas 0 → N until the last Pod's ADDED event. */
    allCreatedSeconds: number; createdPerSecond: number;
    /** … until the last Pod Running and Ready. */
    allReadySeconds: number; readyPerSecond: number; ready: number; timedOut: boolean;
  };
  update: {
    /** One Pod's in-place update (1-replica CloneSet, patch → Ready on the new image), s. */
    oneRestartSeconds: number;
    /** 5 rounds (maxUnavailable 20%) × oneRestartSeconds. */
    idealSeconds: number;
    /** Patch → every Pod Ready on the new image. */
    seconds: number; updated: number; timedOut: boolean;
    mostNotReady: number; maxUnavailable: number;
    sandboxCpuSeconds: number;
  };
  coordinatorRss: CoordinatorRssResult;
  ratios: Record<string, number | null>;
  checks: { metric: string; target: string; value: number; pass: boolean }[];
}

type Log = (line: string) => void;
type PodLike = {
  metadata: { name?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { containers?: { image?: string }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { image?: string; ready?: boolean }[] };
};

const CS_PATH = '/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets';

function isReady(p: PodLike): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Ready and running the template image: the container status reports it, not just the spec. (A Pod whose spec
 * was just patched still shows Ready with the old container until the kubelet catches up.)
 */
function isReadyOn(p: PodLike, image: string): boolean {
  const statuses = p.status?.containerStatuses ?? [];
  return isReady(p) && p.spec?.containers?.[0]?.image === image && statuses.length > 0
    && statuses.every((c) => c.ready === true && c.image === image);
}

function cloneSet(name: string, replicas: number, image: string): string {
  return JSON.stringify({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, bench: 'cloneset' } },
        spec: { containers: [{ name: 'main', image }], terminationGracePeriodSeconds: 1 },
      },
      updateStrategy: { type: 'InPlaceIfPossible', partition: 0, maxUnavailable: '20%' },
    },
  });
}

async function must(client: BenchClient, method: string, path: string, body?: string, contentType?: string): Promise<void> {
  const r = await client.request(method, path, body, contentType);
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
}

const mergePatch = (client: BenchClient, name: string, patch: object): Promise<void> =>
  must(client, 'PATCH', `${CS_PATH}/${name}`, JSON.stringify(patch), 'application/merge-patch+json');

const imagePatch = (image: string): object => ({ spec: { template: { spec: { containers: [{ name: 'main', image }] } } } });

/** Per-Pod state from one watch, and a way to wait for a predicate over it. */
class PodTracker {
  readonly pods = new Map<string, PodLike>();
  readonly addedAt = new Map<string, number>();
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  private readonly watch: WatchStream;
  onChange: ((name: string, pod: PodLike | undefined) => void) | undefined;

  constructor(target: Target, labelSelector: string, log: Log) {
    this.watch = openWatch(target, `/api/v1/namespaces/default/pods?watch=true&labelSelector=${encodeURIComponent(labelSelector)}`, (ev, at) => {
      const pod = ev.object as PodLike;
      const name = pod.metadata?.name;
      if (!name) return;
      if (ev.type === 'DELETED' || pod.metadata.deletionTimestamp) this.pods.delete(name);
      else {
        if (!this.addedAt.has(name)) this.addedAt.set(name, at);
        this.pods.set(name, pod);
      }
      this.onChange?.(name, this.pods.get(name));
      this.waiters = this.waiters.filter((w) => { if (w.pred()) { w.resolve(); return false; } return true; });
    }, (e) => log(`watch failed: ${e.message}`));
  }

  ready(): Promise<void> { return this.watch.ready; }

  /** Resolves true when `pred` holds (checked on every event), false after `timeoutMs`. */
  until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.waiters = this.waiters.filter((w) => w !== waiter); resolve(false); }, timeoutMs);
      t.unref();
      const waiter = { pred, resolve: () => { clearTimeout(t); resolve(true); } };
      this.waiters.push(waiter);
    });
  }

  count(pred: (p: PodLike) => boolean): number {
    let n = 0;
    for (const p of this.pods.values()) if (pred(p)) n++;
    return n;
  }

  close(): void { this.watch.close(); }
}

async function rawCreateThroughput(o: CloneSetBenchOptions, log: Log): Promise<CloneSetBenchResult['rawCreate']> {
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
  const token = randomBytes(16).toString('hex');
  const server = await ServerProcess.start('kruise', { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem }, token);
  const client = new BenchClient({ url: server.url, token, caCertPem: pki.caCertPem }, o.concurrency);
  try {
    const limit = pLimit(o.concurrency);
    const latencies: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.pods }, (_, i) => limit(async () => {
      const body = JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `raw-${i}`, namespace: 'default', labels: { app: 'raw' } },
        spec: { containers: [{ name: 'main', image: 'nginx:alpine' }], terminationGracePeriodSeconds: 1 },
      });
      const r = await client.request('POST', '/api/v1/namespaces/default/pods', body);
      if (r.status !== 201) errors++; else latencies.push(r.ms);
    })));
    const seconds = (performance.now() - t0) / 1000;
    const perSecond = round((o.pods - errors) / seconds, 0);
    log(`raw create (API server only): ${o.pods} pods in ${round(seconds, 2)} s = ${perSecond}/s`);
    return { created: o.pods - errors, errors, seconds: round(seconds, 2), perSecond, latencyMs: summarise(latencies) };
  } finally {
    client.close();
    await server.stop();
  }
}

async function startChild(o: CloneSetBenchOptions, log: Log): Promise<{ child: ChildProcess; started: Started; target: Target }> {
  const child = forkHelper(new URL(import.meta.url));
  const started = await ask<Started>(child, { type: 'start', nodes: o.nodes, imagePullSeconds: o.imagePullSeconds }, 'cloneset child');
  log(`sandbox with ${o.nodes} Ready nodes (${started.transport}) in ${started.startSeconds} s`);
  return { child, started, target: { url: started.url, token: started.token, caCertPem: started.caCertPem } };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await ask<{ type: 'stopped' }>(child, { type: 'stop' }, 'cloneset child');
  await exited(child);
}

/** Parts 3a-3c: probe restart, scale-out, in-place update, in one sandbox. */
/**
 * Part 3's baseline: `o.pods` bare Pods POSTed straight into the sandbox, `directConcurrency` in flight, until each
 * create returned and until every Pod is Ready; then force-deleted, and the sandbox's CPU let settle, so the
 * scale-out starts from the same quiet state.
 */
async function directCreate(o: CloneSetBenchOptions, child: ChildProcess, target: Target, tracker: PodTracker, log: Log): Promise<CloneSetBenchResult['direct']> {
  const client = new BenchClient(target, o.directConcurrency);
  const isDirect = (p: PodLike): boolean => p.metadata.labels?.['app'] === 'direct';
  try {
    const limit = pLimit(o.directConcurrency);
    let errors = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: o.pods }, (_, i) => limit(async () => {
      const body = JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `direct-${i}`, namespace: 'default', labels: { app: 'direct', bench: 'cloneset' } },
        spec: { containers: [{ name: 'main', image: 'nginx:alpine' }], terminationGracePeriodSeconds: 1 },
      });
      const r = await client.request('POST', '/api/v1/namespaces/default/pods', body);
      if (r.status !== 201) errors++;
    })));
    const seconds = (performance.now() - t0) / 1000;
    const created = o.pods - errors;
    const ok = await tracker.until(() => tracker.count((p) => isDirect(p) && isReady(p)) >= created, o.timeoutSeconds * 1000);
    const allReadySeconds = (performance.now() - t0) / 1000;
    const result = {
      created, errors, seconds: round(seconds, 2), perSecond: round(created / seconds, 0),
      allReadySeconds: round(allReadySeconds, 2), readyPerSecond: round(created / allReadySeconds, 0), timedOut: !ok,
      inPlaceRoundsSeconds: 0, inPlaceTimedOut: false,
    };
    log(`direct creation in the sandbox (${o.directConcurrency} in flight): ${created} pods in ${result.seconds} s = ${result.perSecond}/s, all Ready after ${result.allReadySeconds} s${ok ? '' : ' (TIMED OUT)'}`);

    // The rounds of an in-place update, driven by hand: image patched on 20% of the Pods, wait, next 20%.
    const image = 'nginx:1.24';
    const names = Array.from({ length: o.pods }, (_, i) => `direct-${i}`);
    const perRound = Math.max(1, Math.floor(o.pods * 0.2));
    const r0 = performance.now();
    let inPlaceTimedOut = false;
    for (let start = 0; start < names.length && !inPlaceTimedOut; start += perRound) {
      const batch = names.slice(start, start + perRound);
      await Promise.all(batch.map((name) => limit(() => client.request('PATCH', `/api/v1/namespaces/default/pods/${name}`,
        JSON.stringify({ spec: { containers: [{ name: 'main', image }] } }), 'application/strategic-merge-patch+json'))));
      const done = (): boolean => batch.every((name) => { const p = tracker.pods.get(name); return p !== undefined && isReadyOn(p, image); });
      inPlaceTimedOut = !await tracker.until(done, o.timeoutSeconds * 1000);
    }
    const inPlaceRoundsSeconds = round((performance.now() - r0) / 1000, 2);
    log(`direct in-place rounds (${Math.ceil(o.pods / perRound)} × ${perRound}, no controller): ${inPlaceRoundsSeconds} s${inPlaceTimedOut ? ' (TIMED OUT)' : ''}`);
    await Promise.all(Array.from({ length: o.pods }, (_, i) => limit(() =>
      client.request('DELETE', `/api/v1/namespaces/default/pods/direct-${i}?gracePeriodSeconds=0`))));
    if (!await tracker.until(() => tracker.count(isDirect) === 0, o.timeoutSeconds * 1000)) throw new Error('direct pods were not deleted');
    await settle(child, log);
    return { ...result, inPlaceRoundsSeconds, inPlaceTimedOut };
  } finally {
    client.close();
  }
}

/** Waits (at most 60 s) until the sandbox child uses under a third of a core over a second: nodes done tearing down. */
async function settle(child: ChildProcess, log: Log): Promise<void> {
  const deadline = performance.now() + 60_000;
  let last = await ask<ChildStats>(child, { type: 'stats' }, 'cloneset child');
  let lastAt = performance.now();
  while (performance.now() < deadline) {
    await sleep(1000);
    const now = await ask<ChildStats>(child, { type: 'stats' }, 'cloneset child');
    const at = performance.now();
    const cores = (now.cpuUserUs + now.cpuSystemUs - last.cpuUserUs - last.cpuSystemUs) / 1000 / (at - lastAt);
    if (cores < 0.33) return;
    last = now;
    lastAt = at;
  }
  log('  the sandbox was still busy after 60 s; going on');
}

async function scaleAndUpdate(o: CloneSetBenchOptions, log: Log): Promise<Pick<CloneSetBenchResult, 'direct' | 'scaleOut' | 'update'>> {
  const { child, started, target } = await startChild(o, log);
  const client = new BenchClient(target, 4);
  const tracker = new PodTracker(target, 'bench=cloneset', log);
  const timeoutMs = o.timeoutSeconds * 1000;
  try {
    await tracker.ready();
    // 3a. One container restart: a 1-replica CloneSet updated in place.
    await must(client, 'POST', CS_PATH, cloneSet('probe', 1, 'busybox:1.36'));
    const probePod = (): PodLike | undefined => [...tracker.pods.values()].find((p) => p.metadata.labels?.['app'] === 'probe');
    if (!await tracker.until(() => { const p = probePod(); return p !== undefined && isReadyOn(p, 'busybox:1.36'); }, timeoutMs)) throw new Error('probe pod never Ready');
    const p0 = performance.now();
    await mergePatch(client, 'probe', imagePatch('busybox:1.37'));
    if (!await tracker.until(() => { const p = probePod(); return p !== undefined && isReadyOn(p, 'busybox:1.37'); }, timeoutMs)) throw new Error('probe pod never updated');
    const oneRestartSeconds = round((performance.now() - p0) / 1000, 2);
    const maxUnavailable = Math.floor(o.pods * 0.2);
    const idealSeconds = round(Math.ceil(o.pods / Math.max(1, maxUnavailable)) * oneRestartSeconds, 2);
    log(`one in-place container restart (1-replica CloneSet): ${oneRestartSeconds} s; ideal update ${idealSeconds} s`);

    // 3b. The baseline, then the scale-out 0 → N.
    const direct = await directCreate(o, child, target, tracker, log);
    const isBig = (p: PodLike): boolean => p.metadata.labels?.['app'] === 'big';
    await must(client, 'POST', CS_PATH, cloneSet('big', 0, 'nginx:alpine'));
    await sleep(500);
    let readyCount = 0;
    let lastReadyAt = 0;
    const readyNames = new Set<string>();
    tracker.onChange = (name, pod) => {
      if (!pod || !isBig(pod) || readyNames.has(name) || !isReady(pod)) return;
      readyNames.add(name);
      readyCount++;
      lastReadyAt = performance.now();
    };
    const s0 = performance.now();
    await mergePatch(client, 'big', { spec: { replicas: o.pods } });
    const progress = setInterval(() => log(`  ${tracker.count(isBig)} created, ${readyCount} Ready after ${round((performance.now() - s0) / 1000, 1)} s`), 5000);
    const okReady = await tracker.until(() => readyCount >= o.pods, timeoutMs);
    clearInterval(progress);
    const bigAdded = [...tracker.addedAt.entries()].filter(([n]) => n.startsWith('big-')).map(([, t]) => t);
    const allCreatedSeconds = round((Math.max(...bigAdded) - s0) / 1000, 2);
    const allReadySeconds = round(((okReady ? lastReadyAt : performance.now()) - s0) / 1000, 2);
    const scaleOut = {
      startup: { seconds: started.startSeconds, transport: started.transport },
      allCreatedSeconds, createdPerSecond: round(bigAdded.length / allCreatedSeconds, 0),
      allReadySeconds, readyPerSecond: round(readyCount / allReadySeconds, 0), ready: readyCount, timedOut: !okReady,
    };
    log(`scale-out 0 → ${o.pods}: all created after ${allCreatedSeconds} s (${scaleOut.createdPerSecond}/s), ${readyCount} Ready after ${allReadySeconds} s${okReady ? '' : ' (TIMED OUT)'}`);

    // 3c. In-place update of every Pod, maxUnavailable 20%.
    const newImage = 'nginx:1.25';
    let mostNotReady = 0;
    const notReady = new Set<string>();
    let updated = 0;
    const updatedNames = new Set<string>();
    tracker.onChange = (name, pod) => {
      if (pod && !isBig(pod)) return;
      if (!pod || !isReady(pod)) notReady.add(name); else notReady.delete(name);
      mostNotReady = Math.max(mostNotReady, notReady.size);
      if (pod && !updatedNames.has(name) && isReadyOn(pod, newImage)) { updatedNames.add(name); updated++; }
    };
    const before = await ask<ChildStats>(child, { type: 'stats' }, 'cloneset child');
    const u0 = performance.now();
    await mergePatch(client, 'big', imagePatch(newImage));
    const progress2 = setInterval(() => log(`  ${updated} / ${o.pods} updated, ${notReady.size} not Ready after ${round((performance.now() - u0) / 1000, 1)} s`), 5000);
    const okUpdate = await tracker.until(() => updated >= o.pods, timeoutMs);
    clearInterval(progress2);
    const seconds = round((performance.now() - u0) / 1000, 2);
    const after = await ask<ChildStats>(child, { type: 'stats' }, 'cloneset child');
    const sandboxCpuSeconds = round((after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6, 2);
    log(`in-place update: ${updated} / ${o.pods} Pods on ${newImage} after ${seconds} s${okUpdate ? '' : ' (TIMED OUT)'} (ideal ${idealSeconds} s), at most ${mostNotReady} not Ready`);
    return {
      direct, scaleOut,
      update: { oneRestartSeconds, idealSeconds, seconds, updated, timedOut: !okUpdate, mostNotReady, maxUnavailable, sandboxCpuSeconds },
    };
  } finally {
    tracker.close();
    client.close();
    await stopChild(child).catch(() => undefined);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

export async function runCloneSetBench(o: CloneSetBenchOptions, log: Log): Promise<CloneSetBenchResult> {
  const planner = runPlannerBench(o.plannerPods, o.plannerIterations);
  log(`planner (${o.plannerPods} pods, ${o.plannerIterations} iterations): p50 ${planner.planMs.p50} ms, p99 ${planner.planMs.p99} ms (updateNum ${planner.updateNum}, chosen ${planner.chosen})`);
  const rawCreate = await rawCreateThroughput(o, log);
  const { direct, scaleOut, update } = await scaleAndUpdate(o, log);
  const coordinatorRss = await runCoordinatorRssPhase({
    ...DEFAULT_COORDINATOR_RSS_OPTIONS, nodes: o.nodes, cloneSets: o.cloneSets, podsPerCloneSet: o.podsPerCloneSet,
    imagePullSeconds: o.imagePullSeconds, timeoutSeconds: o.timeoutSeconds,
  }, log);
  const scaleOfDirect = ratio(scaleOut.createdPerSecond, direct.perSecond);
  const updateOfIdeal = ratio(update.seconds, update.idealSeconds);
  return {
    options: o, planner, rawCreate, direct, scaleOut, update, coordinatorRss,
    ratios: {
      'scale-out created/s ÷ direct creates/s (same sandbox)': scaleOfDirect,
      'scale-out all-Ready time ÷ direct all-Ready time': ratio(scaleOut.allReadySeconds, direct.allReadySeconds),
      'scale-out created/s ÷ raw creates/s (API server alone)': ratio(scaleOut.createdPerSecond, rawCreate.perSecond),
      'update time ÷ ideal': updateOfIdeal,
      'update time ÷ the same rounds driven without the controller': ratio(update.seconds, direct.inPlaceRoundsSeconds),
    },
    checks: [
      { metric: 'scale-out created/s ÷ direct creates/s in the same sandbox', target: `>= ${TARGETS.scaleOutOfRaw}`, value: scaleOfDirect ?? 0, pass: !scaleOut.timedOut && !direct.timedOut && (scaleOfDirect ?? 0) >= TARGETS.scaleOutOfRaw },
      { metric: 'in-place update time ÷ ideal', target: `<= ${TARGETS.updateOfIdeal}`, value: update.timedOut ? Infinity : updateOfIdeal ?? Infinity, pass: !update.timedOut && updateOfIdeal !== null && updateOfIdeal <= TARGETS.updateOfIdeal },
      { metric: `planner p99 (${o.plannerPods} pods, ms)`, target: `<= ${TARGETS.plannerP99Ms}`, value: planner.planMs.p99, pass: planner.planMs.p99 <= TARGETS.plannerP99Ms },
      coordinatorRss.check,
    ],
  };
}

export function cloneSetSummary(r: CloneSetBenchResult): string {
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
  const s = r.scaleOut;
  const u = r.update;
  const c = r.coordinatorRss;
  const rows = [
    '| metric | value |', '|---|---:|',
    `| planner: calculateDiffs + chooseUpdateCandidates, ${r.planner.pods} pods, p50 / p99 / max ms | ${r.planner.planMs.p50} / ${r.planner.planMs.p99} / ${r.planner.planMs.max} |`,
    `| raw creates/s (API server only, ${r.options.concurrency} in flight, same run) | ${r.rawCreate.perSecond} |`,
    `| sandbox: ${r.options.nodes} nodes Ready at start (${s.startup.transport}) | ${s.startup.seconds} s |`,
    `| direct creation in that sandbox, ${r.options.directConcurrency} in flight: created/s / all Ready (s) | ${r.direct.perSecond} / ${r.direct.allReadySeconds} |`,
    `| direct in-place rounds in that sandbox (bare pods patched 20% at a time, no controller) (s) | ${r.direct.inPlaceRoundsSeconds} |`,
    `| scale-out 0 → ${r.options.pods}: all created (s) / created/s | ${s.allCreatedSeconds} / ${s.createdPerSecond} |`,
    `| scale-out: all Running and Ready (s) / Ready/s | ${s.allReadySeconds} / ${s.readyPerSecond} (${s.ready} Ready) |`,
    `| one in-place container restart, 1-replica CloneSet (s) | ${u.oneRestartSeconds} |`,
    `| in-place update of ${r.options.pods} pods, maxUnavailable 20% (${u.maxUnavailable}): actual / ideal (s) | ${u.seconds} / ${u.idealSeconds} |`,
    `| update: most pods not Ready at once / sandbox CPU s | ${u.mostNotReady} / ${u.sandboxCpuSeconds} |`,
    `| ${c.options.cloneSets} CloneSets × ${c.options.podsPerCloneSet}: all Ready (s) | ${c.allReadySeconds} (${c.ready} Ready) |`,
    `| coordinator process alone, RSS after GC: idle / with the CloneSets / peak (MiB) | ${mib(c.idle.rssBytes)} / ${mib(c.loaded.rssBytes)} / ${mib(c.peakRssBytes)} |`,
    `| coordinator heap used with the CloneSets (MiB) / CPU from idle to loaded (s) | ${mib(c.loaded.heapUsedBytes)} / ${c.cpuSeconds} |`,
    `| sandbox process without its coordinator, loaded, after GC (MiB) | ${mib(c.sandboxRssBytes)} |`,
    ...Object.entries(r.ratios).map(([k, v]) => `| ratio ${k} | ${v ?? '–'} |`),
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
  process.on('message', (m: { type: string; nodes?: number; imagePullSeconds?: number; gc?: boolean }) => {
    void (async () => {
      try {
        if (m.type === 'start') {
          dir = await mkdtemp(join(tmpdir(), 'kts-cloneset-bench-'));
          const t0 = performance.now();
          sandbox = await startSandbox({
            port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''),
            logger: pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'error' }, pino.destination(2)),
            nodes: { count: m.nodes ?? 200, imagePullSeconds: m.imagePullSeconds ?? 2 },
          });
          reply({ type: 'ready', url: sandbox.url, token: sandbox.token, caCertPem: sandbox.caCertPem, startSeconds: round((performance.now() - t0) / 1000, 2), transport: sandbox.nodes?.transport ?? 'none' });
        } else if (m.type === 'stats') {
          if (m.gc) (globalThis as { gc?: () => void }).gc?.();
          const cpu = process.cpuUsage();
          const mem = process.memoryUsage();
          peakRss = Math.max(peakRss, mem.rss);
          reply({ type: 'stats', cpuUserUs: cpu.user, cpuSystemUs: cpu.system, rssBytes: mem.rss, peakRssBytes: peakRss, heapUsedBytes: mem.heapUsed });
        } else if (m.type === 'stop') {
          await sandbox?.close();
          if (dir) await rm(dir, { recursive: true, force: true });
          reply({ type: 'stopped' });
          process.exit(0);
        }
      } catch (e) {
        reply({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
      }
    })();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await childMain();
