/**
 * Controller-runtime benchmark (issue 3: "Informer over 30,000 pods"). The kruise-ts API server runs in a child
 * process (server-child.ts) holding 1,000 nodes and 30,000 pods; this process is the controller. Phases:
 *   1. sync probes: a fresh child (sync-probe-child.ts) per probe fills one cache of every pod, alternating our
 *      informer and the baseline (one plain GET + JSON.parse into a Map; also in pages of 500): time to a full
 *      cache, and heapUsed/RSS per cached pod after forced GCs. Ratio = informer ÷ baseline, from the same run;
 *   2. controller: a Controller with a no-op Reconciler (4 workers) fed by an informer handler that enqueues
 *      `namespace/name`. (a) the initial list enqueues every pod; (b) burst: every key enqueued at once, time
 *      to drain; (c) steady: a writer child patches pod status at 1,000/s open-loop for 10 s, each write
 *      numbered in status.containerStatuses[0].restartCount; the server child stamps each commit, this process
 *      stamps each reconcile start, on one monotonic clock → event-to-reconcile latency;
 *   3. recovery: the randomized fault scenario of test/integration/kube/informer.test.ts, 20 times, against a
 *      second server child with a short event history and random faults on the informer's requests (500, 429,
 *      410, drop, half-open, delay, lost response) plus every open watch cut every 40 writes; each run measures
 *      the time from "faults stop" to "cache equals store" and checks the handlers saw a consistent history.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { KubeObject } from '../src/api/meta.js';
import { Controller, type Reconciler } from '../src/kube/controller/index.js';
import { InformerFactory, objectKey, type InformerMetrics, type SharedInformer } from '../src/kube/informer/index.js';
import { KubeClient } from '../src/kube/kube-client.js';
import { KubeMetrics } from '../src/kube/metrics.js';
import { resources } from '../src/kube/resource-ref.js';
import { createSandboxPki } from '../src/sandbox/apiserver/pki.js';
import { renderKubeconfig } from '../src/sandbox/kubeconfig.js';
import { ask, exited, forkHelper } from './child-ipc.js';
import { Rng, runningStatusPatch, type PodRef } from './fixtures.js';
import type { Target } from './http-client.js';
import { MetricsSnapshot, type HistogramMs } from './metrics-snapshot.js';
import { monotonicMs } from './monotonic-clock.js';
import type { FaultKind, FaultReport } from './random-faults.js';
import { ServerProcess } from './server-process.js';
import { ratio, round, summarise, type Summary } from './stats.js';
import type { ProbeMode, ProbeReply, ProbeRequest, ProbeResult } from './sync-probe-child.js';
import type { PlannedWrite, WriterReply, WriterRequest } from './writer-child.js';

/** Workload size and pacing. Defaults are the issue's numbers; smaller values are for smoke runs. */
export interface InformerBenchOptions {
  seed: number;
  /** @default 1000 */
  nodes: number;
  /** @default 30000 */
  pods: number;
  /** @default 10 */
  namespaces: number;
  /** @default 100 */
  podsPerOwner: number;
  /** Sync probes per mode (informer, baseline), alternating, each in a fresh process. @default 3 */
  syncRepetitions: number;
  /** Workers of the no-op controller. @default 4 */
  workers: number;
  /** Open-loop rate of the status patches. @default 1000 */
  updatesPerSecond: number;
  /** @default 10 */
  updateSeconds: number;
  /** Writes in flight at most (the writer child's sockets). @default 16 */
  writerConcurrency: number;
  /** After the last write, how long to wait for the last reconciles. @default 5000 */
  settleTimeoutMs: number;
  /** Runs of the randomized fault scenario. @default 20 */
  faultRuns: number;
  /** Writes per fault run (create / patch / delete of ConfigMaps, as in the test). @default 300 */
  faultWrites: number;
  /** Distinct ConfigMap names the writes pick from. @default 15 */
  faultObjects: number;
  /** Give up waiting for the cache to equal the store after this long (the run then fails). @default 10000 */
  recoveryTimeoutMs: number;
}

export const DEFAULT_OPTIONS: Readonly<Omit<InformerBenchOptions, 'seed'>> = Object.freeze({
  nodes: 1000, pods: 30000, namespaces: 10, podsPerOwner: 100, syncRepetitions: 3, workers: 4,
  updatesPerSecond: 1000, updateSeconds: 10, writerConcurrency: 16, settleTimeoutMs: 5000,
  faultRuns: 20, faultWrites: 300, faultObjects: 15, recoveryTimeoutMs: 10_000,
});

export const TARGETS = Object.freeze({ reconcileP99Ms: 10, bytesPerCachedPod: 4096, recoveryMs: 2000 });

/**
 * Informer tuning of the recovery phase: the integration test's. With the production defaults (backoff 1 s → 30 s,
 * silence watchdog 5 min) a half-open watch alone takes minutes to notice, so "2 s" presumes these settings.
 */
export const RECOVERY_TUNING = Object.freeze({ initialBackoffMs: 20, maxBackoffMs: 200, watchSilenceTimeoutMs: 500, requestTimeoutMs: 2000 });

const USER_AGENT = 'kruise-ts/bench (informer)';
const WRITER_USER_AGENT = 'kruise-ts/bench (writer)';

interface ProbeSummary {
  runs: Omit<ProbeResult, 'type' | 'mode'>[];
  syncMs: Summary;
  /** Medians over the runs. */
  heapBytesPerObject: number;
  rssBytesPerObject: number;
  /** RSS growth without a forced GC (what the process holds right after the sync). */
  rssNoGcBytesPerObject: number;
}

interface QueueMetrics {
  adds: number;
  retries: number;
  queueDuration: HistogramMs;
  workDuration: HistogramMs;
  reconcileDuration: HistogramMs;
  reconciles: Record<string, number>;
}

interface ControllerResult {
  /** Informer start to `hasSynced` in this process (handler registered, controller running). */
  syncMs: number;
  /** Informer start until every pod listed was reconciled once (the adds of the first list). */
  initialListReconciledMs: number;
  burst: { keys: number; enqueueMs: number; drainMs: number; reconcilesPerSecond: number; benchCpuUsPerReconcile: number; metrics: QueueMetrics };
  steady: {
    updates: number; updatesPerSecond: number; seconds: number; achievedPerSecond: number; maxLateMs: number;
    writeErrors: number; writeLatencyMs: Summary;
    reconciles: number; reconcilesPerSecond: number;
    /** Writes whose commit was never followed by a reconcile that saw it. */
    missing: number;
    /** Commit (server child) → reconcile start (this process): the event-to-reconcile latency. */
    fromCommitMs: Summary;
    /** Commit → the informer's handler ran (watch delivery, decode, cache, handler queue). */
    commitToHandlerMs: Summary;
    /** Handler (enqueue) → reconcile start (work queue and worker). */
    handlerToReconcileMs: Summary;
    /** This process's event-loop delay (monitorEventLoopDelay, 1 ms resolution) and GC pauses meanwhile. */
    eventLoopDelayMs: { p50: number; p99: number; max: number };
    gc: Record<string, { count: number; totalMs: number; maxMs: number }>;
    /** 1-minute load average before and after: the machine is shared, and the tail follows its load. */
    loadAverage1m: { before: number; after: number };
    /** From the write's HTTP response at the writer; events may beat the response (then 0, counted). */
    fromAckMs: Summary;
    beforeAck: number;
    fromSendMs: Summary;
    benchCpuUsPerUpdate: number;
    serverCpuUsPerUpdate: number;
    writerCpuUsPerUpdate: number;
    metrics: QueueMetrics;
  };
}

interface RecoveryRun {
  run: number;
  seed: number;
  /** Faults stop → the cache equals the store; null if it never did within recoveryTimeoutMs. */
  recoveryMs: number | null;
  /** Handlers saw no impossible event (update/delete of an unknown object, double add) and end equal to the store. */
  handlersConsistent: boolean;
  problem?: string;
  pass: boolean;
  faults: Record<FaultKind, number>;
  faultsByRequest: Record<string, number>;
  /** The last fault before they stopped: what it hit, and how long before the stop. */
  lastFault: { kind: FaultKind; request: string; msBeforeStop: number } | null;
  watchesDropped: number;
  relists: number;
  watchRestarts: Record<string, number>;
  objectsAtEnd: number;
}

export interface InformerBenchResult {
  options: InformerBenchOptions;
  load: { pods: number; seconds: number };
  sync: Record<ProbeMode, ProbeSummary>;
  controller: ControllerResult;
  recovery: { runs: RecoveryRun[]; recoveryMs: Summary; maxMs: number | null; passed: number; total: number; tuning: typeof RECOVERY_TUNING };
  ratios: Record<string, number | null>;
  checks: { metric: string; target: string; value: number | string; pass: boolean }[];
}

type Log = (line: string) => void;

const silent = pino({ level: 'silent' });
const median = (xs: readonly number[]): number => summarise(xs).p50;
const kib = (b: number): string => `${(b / 1024).toFixed(2)} KiB`;

function kubeConfigFor(target: Target): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(renderKubeconfig({ server: target.url, caCertPem: target.caCertPem, token: target.token }));
  return kc;
}

export async function runInformerBench(o: InformerBenchOptions, log: Log): Promise<InformerBenchResult> {
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
  const tls = { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem };
  const token = randomBytes(16).toString('hex');

  // ------------------------------------------------------------------ the cluster
  const server = await ServerProcess.start('kruise', tls, token);
  let load: InformerBenchResult['load'];
  let sync: InformerBenchResult['sync'];
  let controller: ControllerResult;
  try {
    const target: Target = { url: server.url, token, caCertPem: pki.caCertPem };
    load = await server.load({ seed: o.seed, nodes: o.nodes, pods: o.pods, namespaces: o.namespaces, podsPerOwner: o.podsPerOwner });
    load.seconds = round(load.seconds, 1);
    log(`load: ${load.pods} pods on ${o.nodes} nodes stored in the server child in ${load.seconds} s`);
    if (load.pods !== o.pods) throw new Error(`the server holds ${load.pods} pods, expected ${o.pods}`);

    // ---------------------------------------------------------------- 1. sync probes
    const probes: Record<ProbeMode, ProbeResult[]> = { informer: [], baseline: [], 'baseline-paged': [] };
    const modes: ProbeMode[] = ['baseline', 'informer', 'baseline-paged'];
    for (let i = 0; i < o.syncRepetitions; i++) {
      for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) {
        const p = await runProbe(mode, target);
        if (p.objects !== o.pods) throw new Error(`${mode} probe cached ${p.objects} pods, expected ${o.pods}`);
        probes[mode].push(p);
        log(`sync probe ${mode}: ${p.syncMs.toFixed(0)} ms${p.phasesMs ? ` (GET ${p.phasesMs.fetch.toFixed(0)}, parse ${p.phasesMs.parse.toFixed(0)}, Map ${p.phasesMs.fill.toFixed(0)})` : ''}; ` +
          `heapUsed +${kib((p.after.heapUsedBytes - p.before.heapUsedBytes) / p.objects)}/pod, RSS +${kib((p.after.rssBytes - p.before.rssBytes) / p.objects)}/pod after GC ` +
          `(+${kib((p.afterNoGc.rssBytes - p.before.rssBytes) / p.objects)}/pod before GC)`);
      }
    }
    sync = { informer: summariseProbes(probes.informer), baseline: summariseProbes(probes.baseline), 'baseline-paged': summariseProbes(probes['baseline-paged']) };

    // ---------------------------------------------------------------- 2. controller
    controller = await runControllerPhase(o, target, server, log);
  } finally {
    await server.stop();
  }

  // ------------------------------------------------------------------ 3. recovery after faults
  const recovery = await runRecoveryPhase(o, tls, token, pki.caCertPem, log);

  const inf = sync.informer;
  const base = sync.baseline;
  const ratios: Record<string, number | null> = {
    'initial sync time (median)': ratio(inf.syncMs.p50, base.syncMs.p50),
    'heapUsed per cached pod': ratio(inf.heapBytesPerObject, base.heapBytesPerObject),
    'RSS per cached pod (after GC)': ratio(inf.rssBytesPerObject, base.rssBytesPerObject),
    'RSS per cached pod (no forced GC)': ratio(inf.rssNoGcBytesPerObject, base.rssNoGcBytesPerObject),
    'RSS per cached pod (after GC), baseline paged ÷ baseline': ratio(sync['baseline-paged'].rssBytesPerObject, base.rssBytesPerObject),
  };
  const s = controller.steady;
  const checks: InformerBenchResult['checks'] = [
    {
      metric: `event-to-reconcile p99 ms (commit → reconcile start, ${o.updatesPerSecond} updates/s)`, target: `<= ${TARGETS.reconcileP99Ms}`,
      value: s.fromCommitMs.p99, pass: s.fromCommitMs.p99 <= TARGETS.reconcileP99Ms && s.missing === 0,
    },
    {
      metric: 'memory per cached pod, bytes (heapUsed after GC)', target: `<= ${TARGETS.bytesPerCachedPod}`,
      value: inf.heapBytesPerObject, pass: inf.heapBytesPerObject <= TARGETS.bytesPerCachedPod,
    },
    {
      metric: 'memory per cached pod, bytes (RSS after GC)', target: `<= ${TARGETS.bytesPerCachedPod}`,
      value: inf.rssBytesPerObject, pass: inf.rssBytesPerObject <= TARGETS.bytesPerCachedPod,
    },
    {
      metric: `recovery to a correct cache after faults, max ms over ${recovery.total} runs`, target: `<= ${TARGETS.recoveryMs}`,
      value: recovery.maxMs ?? 'never', pass: recovery.passed === recovery.total,
    },
    { metric: 'fault runs passed', target: `${recovery.total} / ${recovery.total}`, value: `${recovery.passed} / ${recovery.total}`, pass: recovery.passed === recovery.total },
  ];
  return { options: o, load, sync, controller, recovery, ratios, checks };
}

// -------------------------------------------------------------------- 1. sync probes

async function runProbe(mode: ProbeMode, target: Target): Promise<ProbeResult> {
  const child = forkHelper(new URL('./sync-probe-child.js', import.meta.url));
  try {
    const r = await ask<ProbeReply>(child, { type: 'run', mode, target, userAgent: USER_AGENT } satisfies ProbeRequest, `${mode} sync probe`);
    return r;
  } finally {
    await exited(child);
  }
}

function summariseProbes(runs: readonly ProbeResult[]): ProbeSummary {
  const per = (f: (p: ProbeResult) => number): number => Math.round(median(runs.map((p) => f(p) / p.objects)));
  return {
    runs: runs.map(({ type: _t, mode: _m, ...rest }) => ({
      ...rest, syncMs: round(rest.syncMs, 1),
      ...(rest.phasesMs ? { phasesMs: { fetch: round(rest.phasesMs.fetch, 1), parse: round(rest.phasesMs.parse, 1), fill: round(rest.phasesMs.fill, 1) } } : {}),
    })),
    syncMs: summarise(runs.map((p) => p.syncMs)),
    heapBytesPerObject: per((p) => p.after.heapUsedBytes - p.before.heapUsedBytes),
    rssBytesPerObject: per((p) => p.after.rssBytes - p.before.rssBytes),
    rssNoGcBytesPerObject: per((p) => p.afterNoGc.rssBytes - p.before.rssBytes),
  };
}

// -------------------------------------------------------------------- 2. controller

type Pod = KubeObject & { spec?: { nodeName?: string; containers?: { image?: string }[] }; status?: { containerStatuses?: { restartCount?: number }[] } };

/** The write's sequence number, carried in the first container's restartCount (0: not one of ours). */
function seqOf(pod: Pod | undefined): number {
  return pod?.status?.containerStatuses?.[0]?.restartCount ?? 0;
}

function queueMetrics(m: MetricsSnapshot, name: string): QueueMetrics {
  return {
    adds: m.counter('workqueue_adds_total', { name }),
    retries: m.counter('workqueue_retries_total', { name }),
    queueDuration: m.histogramMs('workqueue_queue_duration_seconds', { name }),
    workDuration: m.histogramMs('workqueue_work_duration_seconds', { name }),
    reconcileDuration: m.histogramMs('controller_reconcile_duration_seconds', { controller: name }),
    reconciles: m.byLabel('controller_reconcile_total', 'result', { controller: name }),
  };
}

async function runControllerPhase(o: InformerBenchOptions, target: Target, server: ServerProcess, log: Log): Promise<ControllerResult> {
  const registry = new Registry();
  const metrics = new KubeMetrics(registry);
  const client = new KubeClient({ kubeConfig: kubeConfigFor(target), qps: 1000, burst: 2000, userAgent: USER_AGENT, observer: metrics });
  const factory = new InformerFactory({ client, logger: silent, metrics });
  const informer: SharedInformer<Pod> = factory.informerFor<Pod>(resources.pods);

  // What the no-op reconciler records: when each reconcile began and which write of its key the cache held.
  let reconciles = 0;
  let observing = false;
  const obsKey: string[] = [];
  const obsSeq: number[] = [];
  const obsAt: number[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  const reconciledCount = (count: number): Promise<void> => {
    if (reconciles >= count) return Promise.resolve();
    return new Promise((resolve) => { waiter = { count, resolve }; });
  };
  const reconciler: Reconciler = {
    reconcile(key) {
      const at = monotonicMs();
      reconciles++;
      if (observing) {
        obsKey.push(key);
        obsSeq.push(seqOf(informer.cache.get(key)));
        obsAt.push(at);
      }
      if (waiter && reconciles >= waiter.count) { const w = waiter; waiter = undefined; w.resolve(); }
      return Promise.resolve({});
    },
  };
  const name = 'bench-noop';
  const ctl = new Controller({ name, reconciler, workers: o.workers, logger: silent, metrics });
  // When each numbered write reached the handler (the benchmark's only addition to the handler: a clock read).
  const handlerAt = new Map<number, number>();
  informer.addHandler({
    onAdd: (pod) => ctl.enqueue(objectKey(pod)),
    onUpdate: (_old, pod) => {
      if (observing) { const seq = seqOf(pod); if (seq > 0) handlerAt.set(seq, monotonicMs()); }
      ctl.enqueue(objectKey(pod));
    },
    onDelete: (pod) => ctl.enqueue(objectKey(pod)),
  });

  const ac = new AbortController();
  const ctlRunning = ctl.start(ac.signal);
  const t0 = monotonicMs();
  const factoryRunning = factory.start(ac.signal);
  try {
    await informer.waitForSync();
    const syncMs = monotonicMs() - t0;
    await reconciledCount(o.pods);
    const initialListReconciledMs = monotonicMs() - t0;
    log(`controller: informer synced in ${syncMs.toFixed(0)} ms; all ${o.pods} listed pods reconciled ${initialListReconciledMs.toFixed(0)} ms after start`);

    // -------------------------------------------------------------- (b) burst
    const keys = informer.cache.keys();
    let m0 = await MetricsSnapshot.take(registry);
    let cpu = process.cpuUsage();
    const before = reconciles;
    const b0 = monotonicMs();
    for (const k of keys) ctl.enqueue(k);
    const enqueueMs = monotonicMs() - b0;
    await reconciledCount(before + keys.length);
    const drainMs = monotonicMs() - b0;
    let c = process.cpuUsage(cpu);
    const burst = {
      keys: keys.length, enqueueMs: round(enqueueMs, 2), drainMs: round(drainMs, 1),
      reconcilesPerSecond: Math.round(keys.length / (drainMs / 1000)),
      benchCpuUsPerReconcile: round((c.user + c.system) / keys.length, 1),
      metrics: queueMetrics((await MetricsSnapshot.take(registry)).since(m0), name),
    };
    log(`burst window (monotonic µs, to slice a --cpu-prof profile): ${Math.round(b0 * 1000)}-${Math.round((b0 + drainMs) * 1000)}`);
    log(`burst: ${keys.length} keys enqueued in ${burst.enqueueMs} ms, drained in ${burst.drainMs} ms = ${burst.reconcilesPerSecond} reconciles/s (${o.workers} workers), ${burst.benchCpuUsPerReconcile} µs CPU each`);

    // -------------------------------------------------------------- (c) steady updates
    const updates = o.updatesPerSecond * o.updateSeconds;
    const rng = new Rng(o.seed ^ 0x73746579);
    const plannedKey: string[] = [''];
    const writes: PlannedWrite[] = [];
    for (let seq = 1; seq <= updates; seq++) {
      const key = rng.pick(keys);
      const pod = informer.cache.get(key)!;
      const node = pod.spec?.nodeName ?? 'node-0000';
      const ref: PodRef = { namespace: pod.metadata.namespace!, name: pod.metadata.name!, nodeName: node };
      const image = pod.spec?.containers?.[0]?.image ?? 'registry.example.com/app:v1';
      plannedKey.push(key);
      writes.push({
        method: 'PATCH', path: `/api/v1/namespaces/${ref.namespace}/pods/${ref.name}/status`, contentType: 'application/merge-patch+json',
        body: JSON.stringify(runningStatusPatch(ref, Number(node.slice(5)) || 0, seq, image, rng.hex(64))),
      });
    }
    await server.recordCommits('/pods');
    obsKey.length = 0; obsSeq.length = 0; obsAt.length = 0;
    const reconcilesBefore = reconciles;
    observing = true;
    m0 = await MetricsSnapshot.take(registry);
    const serverCpu0 = await server.stats();
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    const gcPauses: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = gcKind((e as { detail?: { kind?: number } }).detail?.kind);
        const g = (gcPauses[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
        g.count++;
        g.totalMs += e.duration;
        g.maxMs = Math.max(g.maxMs, e.duration);
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const load0 = loadavg()[0]!;
    loopDelay.enable();
    const steadyStart = monotonicMs();
    cpu = process.cpuUsage();
    const writer = forkHelper(new URL('./writer-child.js', import.meta.url));
    let done: Extract<WriterReply, { type: 'done' }>;
    try {
      done = await ask<WriterReply>(writer, { type: 'run', target, writes, perSecond: o.updatesPerSecond, concurrency: o.writerConcurrency } satisfies WriterRequest, 'writer');
    } finally {
      await exited(writer);
    }
    const okWrites = done.status.filter((s) => s === 200).length;
    const settleDeadline = monotonicMs() + o.settleTimeoutMs;
    while (monotonicMs() < settleDeadline && (handlerAt.size < okWrites || ctl.queueLength() > 0)) await sleep(10);
    await sleep(50);
    observing = false;
    c = process.cpuUsage(cpu);
    const steadyEnd = monotonicMs();
    loopDelay.disable();
    gcObserver.disconnect();
    for (const g of Object.values(gcPauses)) { g.totalMs = round(g.totalMs, 1); g.maxMs = round(g.maxMs, 2); }
    const serverCpu1 = await server.stats();
    const steadyMetrics = queueMetrics((await MetricsSnapshot.take(registry)).since(m0), name);
    const commits = await server.commitTimes();

    // Which reconcile covered which write: per key, a reconcile that saw write s covers every write of that key
    // committed no later than s (level-based: the reconcile saw that state or a newer one).
    const commitAt = new Map<number, number>();
    for (let i = 0; i < commits.seqs.length; i++) if (!commitAt.has(commits.seqs[i]!)) commitAt.set(commits.seqs[i]!, commits.atMs[i]!);
    const pendingByKey = new Map<string, number[]>();
    for (let seq = 1; seq <= updates; seq++) {
      if (done.status[seq - 1] !== 200 || !commitAt.has(seq)) continue;
      const k = plannedKey[seq]!;
      let l = pendingByKey.get(k);
      if (!l) { l = []; pendingByKey.set(k, l); }
      l.push(seq);
    }
    for (const l of pendingByKey.values()) l.sort((a, b) => commitAt.get(a)! - commitAt.get(b)!);
    const reconcileAt = new Map<number, number>();
    for (let i = 0; i < obsKey.length; i++) {
      const seen = obsSeq[i]!;
      const seenCommit = commitAt.get(seen);
      const l = pendingByKey.get(obsKey[i]!);
      if (seenCommit === undefined || !l) continue;
      while (l.length > 0 && commitAt.get(l[0]!)! <= seenCommit) reconcileAt.set(l.shift()!, obsAt[i]!);
    }
    const fromCommit: number[] = [], toHandler: number[] = [], handlerToReconcile: number[] = [], fromAck: number[] = [], fromSend: number[] = [];
    let beforeAck = 0;
    let missing = 0;
    for (let seq = 1; seq <= updates; seq++) {
      const committed = commitAt.get(seq);
      if (done.status[seq - 1] !== 200 || committed === undefined) continue;
      const r = reconcileAt.get(seq);
      if (r === undefined) { missing++; continue; }
      fromCommit.push(r - committed);
      const h = handlerAt.get(seq);
      if (h !== undefined) { toHandler.push(h - committed); handlerToReconcile.push(Math.max(0, r - h)); }
      const ack = done.ackAtMs[seq - 1]!;
      if (r < ack) beforeAck++;
      fromAck.push(Math.max(0, r - ack));
      fromSend.push(r - done.sentAtMs[seq - 1]!);
    }
    const steadyReconciles = reconciles - reconcilesBefore;
    const writeLatency = done.sentAtMs.map((s, i) => done.ackAtMs[i]! - s).filter((x) => Number.isFinite(x));
    const firstObs = obsAt[0] ?? 0;
    const lastObs = obsAt[obsAt.length - 1] ?? 0;
    const steady: ControllerResult['steady'] = {
      updates, updatesPerSecond: o.updatesPerSecond, seconds: round(done.seconds, 2), achievedPerSecond: Math.round(updates / done.seconds),
      maxLateMs: round(done.maxLateMs, 1), writeErrors: updates - okWrites, writeLatencyMs: summarise(writeLatency),
      reconciles: steadyReconciles, reconcilesPerSecond: lastObs > firstObs ? Math.round(obsAt.length / ((lastObs - firstObs) / 1000)) : 0,
      missing,
      fromCommitMs: summarise(fromCommit), commitToHandlerMs: summarise(toHandler), handlerToReconcileMs: summarise(handlerToReconcile),
      eventLoopDelayMs: { p50: round(loopDelay.percentile(50) / 1e6, 2), p99: round(loopDelay.percentile(99) / 1e6, 2), max: round(loopDelay.max / 1e6, 2) },
      gc: gcPauses,
      loadAverage1m: { before: round(load0, 2), after: round(loadavg()[0]!, 2) },
      fromAckMs: summarise(fromAck), beforeAck, fromSendMs: summarise(fromSend),
      benchCpuUsPerUpdate: round((c.user + c.system) / updates, 1),
      serverCpuUsPerUpdate: round((serverCpu1.cpuUserUs + serverCpu1.cpuSystemUs - serverCpu0.cpuUserUs - serverCpu0.cpuSystemUs) / updates, 1),
      writerCpuUsPerUpdate: round((done.cpuMs * 1000) / updates, 1),
      metrics: steadyMetrics,
    };
    log(`steady window (monotonic µs, to slice a --cpu-prof profile): ${Math.round(steadyStart * 1000)}-${Math.round(steadyEnd * 1000)}`);
    log(`steady: ${updates} status patches at ${o.updatesPerSecond}/s in ${steady.seconds} s (max ${steady.maxLateMs} ms late, ${steady.writeErrors} errors, patch p50 ${steady.writeLatencyMs.p50} p99 ${steady.writeLatencyMs.p99} ms); ` +
      `${steadyReconciles} reconciles (${steady.reconcilesPerSecond}/s), missing ${missing}; commit → reconcile p50 ${steady.fromCommitMs.p50} p99 ${steady.fromCommitMs.p99} max ${steady.fromCommitMs.max} ms ` +
      `(commit → handler p50 ${steady.commitToHandlerMs.p50} p99 ${steady.commitToHandlerMs.p99}; handler → reconcile p50 ${steady.handlerToReconcileMs.p50} p99 ${steady.handlerToReconcileMs.p99}); ` +
      `from ack p99 ${steady.fromAckMs.p99} (${beforeAck} before the ack), from send p99 ${steady.fromSendMs.p99}; CPU µs/update: controller ${steady.benchCpuUsPerUpdate}, server ${steady.serverCpuUsPerUpdate}, writer ${steady.writerCpuUsPerUpdate}; ` +
      `load ${steady.loadAverage1m.before} → ${steady.loadAverage1m.after}; controller event-loop delay p50 ${steady.eventLoopDelayMs.p50} p99 ${steady.eventLoopDelayMs.p99} max ${steady.eventLoopDelayMs.max} ms; GC ${JSON.stringify(steady.gc)}`);
    return { syncMs: round(syncMs, 1), initialListReconciledMs: round(initialListReconciledMs, 1), burst, steady };
  } finally {
    ac.abort();
    await ctlRunning;
    await factoryRunning;
    client.close();
  }
}

function gcKind(kind: number | undefined): string {
  switch (kind) {
    case perfConstants.NODE_PERFORMANCE_GC_MINOR: return 'minor';
    case perfConstants.NODE_PERFORMANCE_GC_MAJOR: return 'major';
    case perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL: return 'incremental';
    case perfConstants.NODE_PERFORMANCE_GC_WEAKCB: return 'weakcb';
    default: return String(kind);
  }
}

// -------------------------------------------------------------------- 3. recovery after faults

interface Seen { type: 'add' | 'update' | 'delete'; name: string; rv: string }

/** The handlers' view: replays what they saw; an impossible event makes it a problem string instead. */
function replay(seen: readonly Seen[]): Map<string, string> | string {
  const live = new Map<string, string>();
  for (const s of seen) {
    if (s.type === 'add' && live.has(s.name)) return `add of ${s.name} that was already known`;
    if (s.type !== 'add' && !live.has(s.name)) return `${s.type} of ${s.name} that was not known`;
    if (s.type === 'delete') live.delete(s.name); else live.set(s.name, s.rv);
  }
  return live;
}

function sameView(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

async function runRecoveryPhase(o: InformerBenchOptions, tls: { certPem: string; keyPem: string }, token: string, caCertPem: string, log: Log): Promise<InformerBenchResult['recovery']> {
  // A short event history, so resuming after a gap meets 410 Gone as it does after etcd compaction.
  const server = await ServerProcess.start('kruise', tls, token, { historyPerResource: 20, bookmarkIntervalMs: 200, faults: true });
  const target: Target = { url: server.url, token, caCertPem };
  const kubeConfig = kubeConfigFor(target);
  const writer = new KubeClient({ kubeConfig, qps: 1000, burst: 1000, userAgent: WRITER_USER_AGENT });
  const runs: RecoveryRun[] = [];
  try {
    for (let run = 0; run < o.faultRuns; run++) {
      const seed = (o.seed + Math.imul(run + 1, 0x9e3779b1)) >>> 0;
      runs.push(await recoveryRun(o, run, seed, server, writer, kubeConfig));
      const r = runs[runs.length - 1]!;
      log(`recovery run ${run + 1}/${o.faultRuns} (seed ${seed}): ${r.recoveryMs === null ? 'never converged' : `${r.recoveryMs} ms`}, ` +
        `${r.pass ? 'pass' : `FAIL${r.problem ? ` (${r.problem})` : ''}`}; faults ${Object.entries(r.faultsByRequest).map(([k, n]) => `${k}×${n}`).join(', ') || 'none'}` +
        `${r.lastFault ? ` (last: ${r.lastFault.kind} on a ${r.lastFault.request}, ${r.lastFault.msBeforeStop} ms before the stop)` : ''}; ` +
        `${r.watchesDropped} watches dropped, ${r.relists} lists, restarts ${JSON.stringify(r.watchRestarts)}`);
    }
  } finally {
    writer.close();
    await server.stop();
  }
  const times = runs.map((r) => r.recoveryMs).filter((x): x is number => x !== null);
  const passed = runs.filter((r) => r.pass).length;
  return {
    runs, recoveryMs: summarise(times), maxMs: times.length === runs.length ? Math.max(...times) : null, passed, total: runs.length, tuning: RECOVERY_TUNING,
  };
}

async function recoveryRun(o: InformerBenchOptions, run: number, seed: number, server: ServerProcess, writer: KubeClient, kubeConfig: KubeConfig): Promise<RecoveryRun> {
  const ns = `recovery-${run}`;
  await writer.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const client = new KubeClient({ kubeConfig, qps: 1000, burst: 1000, userAgent: USER_AGENT, requestTimeoutMs: RECOVERY_TUNING.requestTimeoutMs });
  let relists = 0;
  const watchRestarts: Record<string, number> = {};
  const metrics: InformerMetrics = {
    watchRestarted: (_r, reason) => { watchRestarts[reason] = (watchRestarts[reason] ?? 0) + 1; },
    relisted: () => { relists++; },
    eventReceived: () => undefined,
  };
  const { requestTimeoutMs: _t, ...tuning } = RECOVERY_TUNING;
  const factory = new InformerFactory({ client, logger: silent, metrics, tuning });
  const informer = factory.informerFor(resources.configMaps, { namespace: ns });
  const seen: Seen[] = [];
  informer.addHandler({
    onAdd: (x) => seen.push({ type: 'add', name: x.metadata.name!, rv: x.metadata.resourceVersion! }),
    onUpdate: (_old, x) => seen.push({ type: 'update', name: x.metadata.name!, rv: x.metadata.resourceVersion! }),
    onDelete: (x) => seen.push({ type: 'delete', name: x.metadata.name!, rv: x.metadata.resourceVersion! }),
  });
  const cacheView = (): Map<string, string> => new Map(informer.cache.list().map((x) => [x.metadata.name!, x.metadata.resourceVersion!]));
  const cm = (name: string, v: number): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { v: String(v) } });

  await server.faults({ seed, userAgent: USER_AGENT });
  const ac = new AbortController();
  const running = factory.start(ac.signal);
  const rng = new Rng(seed ^ 0x77726974);
  const names = Array.from({ length: o.faultObjects }, (_, i) => `o${i}`);
  let watchesDropped = 0;
  try {
    for (let i = 0; i < o.faultWrites; i++) {
      const name = rng.pick(names);
      const op = rng.next();
      try {
        if (op < 0.4) await writer.create(resources.configMaps, cm(name, i));
        else if (op < 0.8) await writer.patch(resources.configMaps, ns, name, 'merge', { data: { v: String(i) } });
        else await writer.delete(resources.configMaps, ns, name);
      } catch { /* AlreadyExists / NotFound are part of the random walk */ }
      if (i % 40 === 0) watchesDropped += await server.dropWatches();
    }
    // Faults stop now: the clock starts before the server is told, so IPC time counts against the informer.
    const stoppedAt = monotonicMs();
    const report: FaultReport = await server.faults(null);
    const store = await server.storeView('/configmaps', ns);
    let recoveryMs: number | null = null;
    for (;;) {
      const now = monotonicMs();
      if (sameView(cacheView(), store)) { recoveryMs = round(now - stoppedAt, 1); break; }
      if (now - stoppedAt > o.recoveryTimeoutMs) break;
      await sleep(5);
    }
    // Handlers run off the watch loop, a moment after the cache: give them the same 2 s the test does.
    let view = replay(seen);
    const handlerDeadline = monotonicMs() + 2000;
    while (typeof view !== 'string' && !sameView(view, store) && monotonicMs() < handlerDeadline) {
      await sleep(10);
      view = replay(seen);
    }
    const problem = typeof view === 'string' ? view : sameView(view, store) ? undefined : `the handlers' view (${view.size} objects) differs from the store (${store.size})`;
    const handlersConsistent = problem === undefined;
    return {
      run, seed, recoveryMs, handlersConsistent, ...(problem ? { problem } : recoveryMs === null ? { problem: 'cache never equalled the store' } : {}),
      pass: recoveryMs !== null && recoveryMs <= TARGETS.recoveryMs && handlersConsistent,
      faults: report.counts, faultsByRequest: report.byRequest,
      lastFault: report.last ? { kind: report.last.kind, request: report.last.request, msBeforeStop: round(stoppedAt - report.last.atMs, 1) } : null,
      watchesDropped, relists, watchRestarts, objectsAtEnd: store.size,
    };
  } finally {
    ac.abort();
    await running;
    client.close();
  }
}

// -------------------------------------------------------------------- summary for the console and docs

export function informerSummary(r: InformerBenchResult): string {
  const i = r.sync.informer;
  const b = r.sync.baseline;
  const s = r.controller.steady;
  const u = r.controller.burst;
  const rows: string[] = ['| metric | kruise-ts | baseline | ratio |', '|---|---:|---:|---:|'];
  const row = (name: string, kv: string, bv = '–', x?: number | null): void => {
    rows.push(`| ${name} | ${kv} | ${bv} | ${x === undefined || x === null ? '–' : `${x}×`} |`);
  };
  const fmt = (x: Summary): string => `${x.p50} / ${x.p99}`;
  row(`initial sync of ${r.options.pods} pods, median ms (min–max)`, `${Math.round(i.syncMs.p50)} (${Math.round(Math.min(...i.runs.map((x) => x.syncMs)))}–${Math.round(i.syncMs.max)})`,
    `${Math.round(b.syncMs.p50)} (${Math.round(Math.min(...b.runs.map((x) => x.syncMs)))}–${Math.round(b.syncMs.max)})`, r.ratios['initial sync time (median)']);
  row('heapUsed per cached pod (after GC)', kib(i.heapBytesPerObject), kib(b.heapBytesPerObject), r.ratios['heapUsed per cached pod']);
  row('RSS per cached pod (after GC)', kib(i.rssBytesPerObject), kib(b.rssBytesPerObject), r.ratios['RSS per cached pod (after GC)']);
  row('RSS per cached pod (no forced GC)', kib(i.rssNoGcBytesPerObject), kib(b.rssNoGcBytesPerObject), r.ratios['RSS per cached pod (no forced GC)']);
  const p = r.sync['baseline-paged'];
  row('baseline in pages of 500: sync ms / heapUsed / RSS per pod', '–', `${Math.round(p.syncMs.p50)} / ${kib(p.heapBytesPerObject)} / ${kib(p.rssBytesPerObject)}`);
  row('sync with the controller attached ms / every pod reconciled once ms', `${Math.round(r.controller.syncMs)} / ${Math.round(r.controller.initialListReconciledMs)}`);
  row(`burst: ${u.keys} keys, drain ms (${r.options.workers} workers)`, String(u.drainMs));
  row('burst reconciles/s', String(u.reconcilesPerSecond));
  row('burst controller CPU per reconcile µs', String(u.benchCpuUsPerReconcile));
  row(`status patches sent / per s (target ${s.updatesPerSecond}/s)`, `${s.updates} / ${s.achievedPerSecond}`);
  row('event-to-reconcile p50 / p99 ms (commit → reconcile start)', fmt(s.fromCommitMs));
  row('  commit → handler p50 / p99 ms', fmt(s.commitToHandlerMs));
  row('  handler (enqueue) → reconcile start p50 / p99 ms', fmt(s.handlerToReconcileMs));
  row('write ack → reconcile p50 / p99 ms', `${fmt(s.fromAckMs)} (${s.beforeAck} before the ack)`);
  row('write sent → reconcile p50 / p99 ms', fmt(s.fromSendMs));
  row('writes reconciled / missing', `${s.updates - s.writeErrors - s.missing} / ${s.missing}`);
  row('steady reconciles/s', String(s.reconcilesPerSecond));
  row('CPU µs per update: controller / server / writer', `${s.benchCpuUsPerUpdate} / ${s.serverCpuUsPerUpdate} / ${s.writerCpuUsPerUpdate}`);
  row('queue wait p50 / p99 (bucket bound) ms, steady', `≤ ${s.metrics.queueDuration.p50AtMostMs} / ≤ ${s.metrics.queueDuration.p99AtMostMs}`);
  row('controller event-loop delay p99 / max ms, steady', `${s.eventLoopDelayMs.p99} / ${s.eventLoopDelayMs.max}`);
  row('recovery after faults p50 / max ms', `${r.recovery.recoveryMs.p50} / ${r.recovery.maxMs ?? 'never'}`);
  row('fault runs passed', `${r.recovery.passed} / ${r.recovery.total}`);
  const checks = ['', '| target | value | pass |', '|---|---:|:---:|', ...r.checks.map((c) => `| ${c.metric} ${c.target} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`)];
  return [...rows, ...checks].join('\n');
}
