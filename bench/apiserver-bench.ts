/**
 * API server benchmark (issue: "1,000 nodes and 30,000 pods stored"). The same workload runs against two servers,
 * each in its own child process: the baseline (bench/baseline-server.ts, a bare node:https in-memory store) and
 * the kruise-ts embedded API server. Phases, per server:
 *   1. setup: namespaces, 1,000 nodes, ReplicaSets that own the pods (so GC keeps them);
 *   2. create 30,000 pods over HTTPS, 8 requests in flight (p-limit) on keep-alive connections → creates/s;
 *   3. RSS and heapUsed of the server process once the data is loaded (before and after a forced GC);
 *   4. list all pods, serially; list with fieldSelector spec.nodeName=<node>, serially and 8 in flight;
 *   5. 100 raw watches from a fresh resourceVersion (some all-namespace, some per node), then kubelet-style
 *      status patches at a fixed rate; each delivery's latency is measured from the write's HTTP response
 *      (and, secondarily, from the moment the write was sent) to the event's arrival.
 * Latencies are time to the last byte of the response at the client; the client does not parse list bodies
 * inside the timed window. Ratios are kruise-ts / baseline from the same run (machines here are noisy).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { createSandboxPki } from '../src/sandbox/apiserver/pki.js';
import {
  type OwnerRef, type PodRef, Rng, namespaceName, namespaceObject, nodeName, nodeObject, podObject, replicaSetObject,
  runningStatusPatch,
} from './fixtures.js';
import { BenchClient, openWatch, type Target, type WatchStream } from './http-client.js';
import type { ServerMode } from './server-child.js';
import { ServerProcess } from './server-process.js';
import { ratio, round, summarise, type Summary } from './stats.js';

/** Workload size and pacing. Defaults are the issue's numbers; smaller values are for smoke runs. */
export interface ApiServerBenchOptions {
  seed: number;
  /** @default 1000 */
  nodes: number;
  /** @default 30000 */
  pods: number;
  /** @default 10 */
  namespaces: number;
  /** Pods per owning ReplicaSet. @default 100 */
  podsPerOwner: number;
  /** Requests in flight for creates and the concurrent list phase. @default 8 */
  concurrency: number;
  /** @default 10 */
  listAllRepetitions: number;
  /** @default 500 */
  fieldListSerial: number;
  /** @default 2000 */
  fieldListConcurrent: number;
  /** @default 100 */
  watchers: number;
  /** Of `watchers`, how many watch every namespace; the rest each watch one node. @default 40 */
  allNamespaceWatchers: number;
  /** @default 2000 */
  updates: number;
  /** Open-loop rate of the status patches: paced, so the server is not saturated. @default 250 */
  updatesPerSecond: number;
  /** @default 5000 */
  deliveryTimeoutMs: number;
  /** @default ['baseline', 'kruise'] */
  targets: ServerMode[];
}

export const DEFAULT_OPTIONS: Readonly<Omit<ApiServerBenchOptions, 'seed'>> = Object.freeze({
  nodes: 1000, pods: 30000, namespaces: 10, podsPerOwner: 100, concurrency: 8,
  listAllRepetitions: 10, fieldListSerial: 500, fieldListConcurrent: 2000,
  watchers: 100, allNamespaceWatchers: 40, updates: 2000, updatesPerSecond: 250, deliveryTimeoutMs: 5000,
  targets: ['baseline', 'kruise'] as ServerMode[],
});

export interface Targets {
  createsPerSecond: number;
  fieldListP99Ms: number;
  watchDeliveryP99Ms: number;
  rssBytes: number;
}

export const TARGETS: Readonly<Targets> = Object.freeze({
  createsPerSecond: 3000, fieldListP99Ms: 5, watchDeliveryP99Ms: 20, rssBytes: 1024 ** 3,
});

interface CpuWindow { serverMs: number; clientMs: number }

export interface TargetResult {
  setup: { namespaces: number; nodes: number; owners: number; seconds: number };
  create: { count: number; errors: number; seconds: number; perSecond: number; latencyMs: Summary; serverCpuUsPerOp: number; clientCpuUsPerOp: number };
  memoryAfterLoad: MemoryReading;
  listAll: { items: number; bytes: number; latencyMs: Summary; serverCpuMsPerOp: number };
  listByNode: {
    avgItems: number;
    avgBytes: number;
    serial: { latencyMs: Summary; serverCpuUsPerOp: number };
    concurrent: { perSecond: number; latencyMs: Summary; serverCpuUsPerOp: number };
  };
  watch: {
    watchers: number; allNamespace: number; byNode: number; updates: number; updatesPerSecond: number;
    writeLatencyMs: Summary; writeErrors: number;
    expectedDeliveries: number; received: number; missing: number; unexpected: number;
    /** Deliveries that reached the watcher before the write's own response (counted as 0 ms from the ack). */
    beforeAck: number;
    deliveryFromAckMs: Summary;
    deliveryFromSendMs: Summary;
    serverCpuUsPerUpdate: number;
  };
  memoryAfterWatch: MemoryReading;
  /** Readings without a forced GC between phases: what the process holds, garbage included. */
  memoryTimeline: { phase: string; rssBytes: number; heapUsedBytes: number; largeObjectBytes: number; externalBytes: number }[];
  phases: PhaseMark[];
}

/** A phase's bounds on the monotonic clock (µs, as V8 .cpuprofile timestamps), to slice the server's profile. */
export interface PhaseMark { phase: string; startUs: number; endUs: number }

const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface MemoryReading { rssBytes: number; heapUsedBytes: number; afterGc?: { rssBytes: number; heapUsedBytes: number } }

export interface ApiServerBenchResult {
  options: ApiServerBenchOptions;
  results: Partial<Record<ServerMode, TargetResult>>;
  ratios?: Record<string, number | null>;
  checks: { metric: string; target: string; value: number; pass: boolean }[];
}

type Log = (line: string) => void;

/** What one pod of the fixture set is: its identity plus the index of its owner. */
interface PodPlan extends PodRef { owner: number }

export async function runApiServerBench(options: ApiServerBenchOptions, log: Log): Promise<ApiServerBenchResult> {
  const o = options;
  if (o.allNamespaceWatchers > o.watchers) throw new RangeError('allNamespaceWatchers must not exceed watchers');
  if (o.watchers - o.allNamespaceWatchers > o.nodes) throw new RangeError('more per-node watchers than nodes');
  const plan = planPods(o);
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
  const results: ApiServerBenchResult['results'] = {};
  for (const mode of o.targets) {
    log(`\n== ${mode} ==`);
    const token = randomBytes(16).toString('hex');
    const server = await ServerProcess.start(mode, { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem }, token);
    try {
      results[mode] = await runTarget(o, plan, { url: server.url, token, caCertPem: pki.caCertPem }, server, log);
    } finally {
      await server.stop();
    }
  }
  const base = results.baseline;
  const ours = results.kruise;
  const out: ApiServerBenchResult = { options: o, results, checks: [] };
  if (base && ours) {
    out.ratios = {
      'create throughput (baseline/kruise, >1 = kruise slower)': ratio(base.create.perSecond, ours.create.perSecond),
      'create server CPU per op': ratio(ours.create.serverCpuUsPerOp, base.create.serverCpuUsPerOp),
      'list all p50': ratio(ours.listAll.latencyMs.p50, base.listAll.latencyMs.p50),
      'list all server CPU per op': ratio(ours.listAll.serverCpuMsPerOp, base.listAll.serverCpuMsPerOp),
      'list by node p50 (serial)': ratio(ours.listByNode.serial.latencyMs.p50, base.listByNode.serial.latencyMs.p50),
      'list by node p99 (serial)': ratio(ours.listByNode.serial.latencyMs.p99, base.listByNode.serial.latencyMs.p99),
      'list by node throughput (baseline/kruise)': ratio(base.listByNode.concurrent.perSecond, ours.listByNode.concurrent.perSecond),
      'list by node server CPU per op': ratio(ours.listByNode.serial.serverCpuUsPerOp, base.listByNode.serial.serverCpuUsPerOp),
      'watch delivery p50 from ack': ratio(ours.watch.deliveryFromAckMs.p50, base.watch.deliveryFromAckMs.p50),
      'watch delivery p99 from ack': ratio(ours.watch.deliveryFromAckMs.p99, base.watch.deliveryFromAckMs.p99),
      'watch delivery p99 from send': ratio(ours.watch.deliveryFromSendMs.p99, base.watch.deliveryFromSendMs.p99),
      'status patch server CPU per op': ratio(ours.watch.serverCpuUsPerUpdate, base.watch.serverCpuUsPerUpdate),
      'RSS after load': ratio(ours.memoryAfterLoad.rssBytes, base.memoryAfterLoad.rssBytes),
      'heapUsed after load (after GC)': ratio(ours.memoryAfterLoad.afterGc?.heapUsedBytes ?? NaN, base.memoryAfterLoad.afterGc?.heapUsedBytes ?? NaN),
    };
  }
  if (ours) {
    const peakRss = Math.max(ours.memoryAfterLoad.rssBytes, ours.memoryAfterWatch.rssBytes, ...ours.memoryTimeline.map((m) => m.rssBytes));
    out.checks = [
      { metric: 'pod creates/s (8 in flight)', target: `>= ${TARGETS.createsPerSecond}`, value: ours.create.perSecond, pass: ours.create.perSecond >= TARGETS.createsPerSecond },
      { metric: 'field-selected list p99 ms (serial)', target: `<= ${TARGETS.fieldListP99Ms}`, value: ours.listByNode.serial.latencyMs.p99, pass: ours.listByNode.serial.latencyMs.p99 <= TARGETS.fieldListP99Ms },
      { metric: 'watch delivery p99 ms (from write ack)', target: `<= ${TARGETS.watchDeliveryP99Ms}`, value: ours.watch.deliveryFromAckMs.p99, pass: ours.watch.deliveryFromAckMs.p99 <= TARGETS.watchDeliveryP99Ms && ours.watch.missing === 0 },
      { metric: 'RSS MiB after load (30,000 pods stored)', target: `<= ${TARGETS.rssBytes / 1024 ** 2}`, value: round(ours.memoryAfterLoad.rssBytes / 1024 ** 2, 1), pass: ours.memoryAfterLoad.rssBytes <= TARGETS.rssBytes },
      { metric: 'peak RSS MiB over all phases (garbage included)', target: `<= ${TARGETS.rssBytes / 1024 ** 2}`, value: round(peakRss / 1024 ** 2, 1), pass: peakRss <= TARGETS.rssBytes },
    ];
  }
  return out;
}

/** Pod names, nodes and owners, drawn once so both servers get the same workload. */
function planPods(o: ApiServerBenchOptions): { pods: PodPlan[]; owners: { namespace: string; app: string; hash: string; team: string }[] } {
  const rng = new Rng(o.seed);
  const ownerCount = Math.ceil(o.pods / o.podsPerOwner);
  const owners = Array.from({ length: ownerCount }, (_, i) => ({
    namespace: namespaceName(i % o.namespaces),
    app: `svc-${String(i).padStart(3, '0')}`,
    hash: rng.suffix(10),
    team: `team-${i % 7}`,
  }));
  const names = new Set<string>();
  const pods: PodPlan[] = [];
  for (let i = 0; i < o.pods; i++) {
    const ownerIndex = Math.floor(i / o.podsPerOwner);
    const owner = owners[ownerIndex]!;
    let name: string;
    do name = `${owner.app}-${owner.hash}-${rng.suffix(5)}`; while (names.has(name));
    names.add(name);
    pods.push({ namespace: owner.namespace, name, nodeName: nodeName(rng.int(o.nodes)), owner: ownerIndex });
  }
  return { pods, owners };
}

class CpuMeter {
  private server = 0;
  private client = process.cpuUsage();

  private constructor(private readonly proc: ServerProcess) {}

  static async start(proc: ServerProcess): Promise<CpuMeter> {
    const m = new CpuMeter(proc);
    const s = await proc.stats();
    m.server = s.cpuUserUs + s.cpuSystemUs;
    m.client = process.cpuUsage();
    return m;
  }

  async stop(): Promise<CpuWindow> {
    const s = await this.proc.stats();
    const c = process.cpuUsage(this.client);
    return { serverMs: (s.cpuUserUs + s.cpuSystemUs - this.server) / 1000, clientMs: (c.user + c.system) / 1000 };
  }
}

async function memory(proc: ServerProcess): Promise<MemoryReading> {
  const s = await proc.stats(true);
  return { rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes, ...(s.afterGc ? { afterGc: s.afterGc } : {}) };
}

function expectStatus(r: { status: number; body: Buffer }, want: number, what: string): void {
  if (r.status !== want) throw new Error(`${what}: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`);
}

const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(1)} MiB`;

async function runTarget(o: ApiServerBenchOptions, plan: ReturnType<typeof planPods>, target: Target, proc: ServerProcess, log: Log): Promise<TargetResult> {
  const client = new BenchClient(target, o.concurrency);
  const limit = pLimit(o.concurrency);
  const phases: PhaseMark[] = [];
  const memoryTimeline: TargetResult['memoryTimeline'] = [];
  let phaseStart = monotonicUs();
  const endPhase = async (phase: string): Promise<void> => {
    phases.push({ phase, startUs: phaseStart, endUs: monotonicUs() });
    const s = await proc.stats();
    memoryTimeline.push({ phase, rssBytes: s.rssBytes, heapUsedBytes: s.heapUsedBytes, largeObjectBytes: s.largeObjectBytes, externalBytes: s.externalBytes });
    phaseStart = monotonicUs();
  };
  try {
    // ------------------------------------------------------------------ 1. setup
    let t0 = performance.now();
    for (let i = 0; i < o.namespaces; i++) {
      expectStatus(await client.request('POST', '/api/v1/namespaces', JSON.stringify(namespaceObject(namespaceName(i)))), 201, 'create namespace');
    }
    await limit.map(Array.from({ length: o.nodes }, (_, i) => i), async (i) => {
      expectStatus(await client.request('POST', '/api/v1/nodes', JSON.stringify(nodeObject(i))), 201, 'create node');
    });
    const owners: OwnerRef[] = await limit.map(plan.owners, async (w) => {
      const r = await client.request('POST', `/apis/apps/v1/namespaces/${w.namespace}/replicasets`, JSON.stringify(replicaSetObject(w.namespace, w.app, w.hash, w.team)));
      expectStatus(r, 201, 'create replicaset');
      const rs = JSON.parse(r.body.toString('utf8')) as { metadata: { name: string; uid: string } };
      return { ...w, name: rs.metadata.name, uid: rs.metadata.uid };
    });
    const setupSeconds = (performance.now() - t0) / 1000;
    await endPhase('setup');
    log(`setup: ${o.namespaces} namespaces, ${o.nodes} nodes, ${owners.length} replicasets in ${setupSeconds.toFixed(1)} s`);

    // ------------------------------------------------------------------ 2. creates
    // Bodies are serialised up front so the client's own JSON work stays out of the timed window.
    const bodies = plan.pods.map((p) => JSON.stringify(podObject(owners[p.owner]!, p.name, p.nodeName)));
    const avgPodBytes = Math.round(bodies.reduce((n, b) => n + b.length, 0) / bodies.length);
    const createLatency: number[] = [];
    let createErrors = 0;
    let firstError = '';
    let cpu = await CpuMeter.start(proc);
    t0 = performance.now();
    await limit.map(plan.pods, async (p, i) => {
      const r = await client.request('POST', `/api/v1/namespaces/${p.namespace}/pods`, bodies[i]);
      createLatency.push(r.ms);
      if (r.status !== 201) {
        createErrors++;
        firstError ||= `HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 300)}`;
      }
    });
    const createSeconds = (performance.now() - t0) / 1000;
    let w = await cpu.stop();
    await endPhase('create');
    const create = {
      count: o.pods, errors: createErrors, seconds: round(createSeconds), perSecond: round(o.pods / createSeconds, 0),
      latencyMs: summarise(createLatency), serverCpuUsPerOp: round((w.serverMs * 1000) / o.pods, 1), clientCpuUsPerOp: round((w.clientMs * 1000) / o.pods, 1),
    };
    log(`create: ${o.pods} pods (~${avgPodBytes} B each) in ${createSeconds.toFixed(2)} s = ${create.perSecond}/s; latency p50 ${create.latencyMs.p50} p99 ${create.latencyMs.p99} ms; server CPU ${create.serverCpuUsPerOp} µs/op, client ${create.clientCpuUsPerOp} µs/op; errors ${createErrors}${firstError ? ` (first: ${firstError})` : ''}`);
    if (createErrors > 0) throw new Error(`pod creates failed: ${firstError}`);

    // ------------------------------------------------------------------ 3. memory
    const memoryAfterLoad = await memory(proc);
    log(`memory after load: rss ${mib(memoryAfterLoad.rssBytes)}, heapUsed ${mib(memoryAfterLoad.heapUsedBytes)}; after GC rss ${mib(memoryAfterLoad.afterGc?.rssBytes ?? NaN)}, heapUsed ${mib(memoryAfterLoad.afterGc?.heapUsedBytes ?? NaN)}`);

    // ------------------------------------------------------------------ 4. lists
    const check = await client.request('GET', '/api/v1/pods');
    expectStatus(check, 200, 'list pods');
    const listed = (JSON.parse(check.body.toString('utf8')) as { items: unknown[] }).items.length;
    if (listed !== o.pods) throw new Error(`list returned ${listed} pods, expected ${o.pods}`);
    const listAllLatency: number[] = [];
    let listBytes = 0;
    cpu = await CpuMeter.start(proc);
    for (let i = 0; i < o.listAllRepetitions; i++) {
      const r = await client.request('GET', '/api/v1/pods');
      expectStatus(r, 200, 'list pods');
      listAllLatency.push(r.ms);
      listBytes = r.body.length;
    }
    w = await cpu.stop();
    await endPhase('list-all');
    const listAll = { items: listed, bytes: listBytes, latencyMs: summarise(listAllLatency), serverCpuMsPerOp: round(w.serverMs / o.listAllRepetitions, 1) };
    log(`list all: ${listed} pods, ${mib(listBytes)}; p50 ${listAll.latencyMs.p50} ms, max ${listAll.latencyMs.max} ms; server CPU ${listAll.serverCpuMsPerOp} ms/op`);

    const podsPerNode = new Map<string, number>();
    for (const p of plan.pods) podsPerNode.set(p.nodeName, (podsPerNode.get(p.nodeName) ?? 0) + 1);
    const nodeRng = new Rng(o.seed ^ 0x6e6f6465);
    const byNodePath = (): { path: string; node: string } => {
      const node = nodeName(nodeRng.int(o.nodes));
      return { path: `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`, node };
    };
    // Correctness first: the selector must return exactly that node's pods.
    let itemsSum = 0, bytesSum = 0;
    for (let i = 0; i < 20; i++) {
      const { path, node } = byNodePath();
      const r = await client.request('GET', path);
      expectStatus(r, 200, 'list by node');
      const items = (JSON.parse(r.body.toString('utf8')) as { items: { spec: { nodeName: string } }[] }).items;
      if (items.length !== (podsPerNode.get(node) ?? 0) || items.some((x) => x.spec.nodeName !== node)) {
        throw new Error(`fieldSelector spec.nodeName=${node} returned ${items.length} pods, expected ${podsPerNode.get(node) ?? 0}`);
      }
      itemsSum += items.length;
      bytesSum += r.body.length;
    }
    const serialLatency: number[] = [];
    cpu = await CpuMeter.start(proc);
    for (let i = 0; i < o.fieldListSerial; i++) {
      const r = await client.request('GET', byNodePath().path);
      expectStatus(r, 200, 'list by node');
      serialLatency.push(r.ms);
    }
    w = await cpu.stop();
    const serial = { latencyMs: summarise(serialLatency), serverCpuUsPerOp: round((w.serverMs * 1000) / o.fieldListSerial, 1) };
    const concurrentLatency: number[] = [];
    const paths = Array.from({ length: o.fieldListConcurrent }, () => byNodePath().path);
    cpu = await CpuMeter.start(proc);
    t0 = performance.now();
    await limit.map(paths, async (path) => {
      const r = await client.request('GET', path);
      expectStatus(r, 200, 'list by node');
      concurrentLatency.push(r.ms);
    });
    const concurrentSeconds = (performance.now() - t0) / 1000;
    w = await cpu.stop();
    const concurrent = { perSecond: round(o.fieldListConcurrent / concurrentSeconds, 0), latencyMs: summarise(concurrentLatency), serverCpuUsPerOp: round((w.serverMs * 1000) / o.fieldListConcurrent, 1) };
    await endPhase('list-by-node');
    const listByNode = { avgItems: round(itemsSum / 20, 1), avgBytes: Math.round(bytesSum / 20), serial, concurrent };
    log(`list by node (~${listByNode.avgItems} pods, ${Math.round(listByNode.avgBytes / 1024)} KiB): serial p50 ${serial.latencyMs.p50} p99 ${serial.latencyMs.p99} ms (server CPU ${serial.serverCpuUsPerOp} µs/op); ${o.concurrency} in flight: ${concurrent.perSecond}/s, p50 ${concurrent.latencyMs.p50} p99 ${concurrent.latencyMs.p99} ms`);

    // ------------------------------------------------------------------ 5. watch
    phaseStart = monotonicUs();
    const watch = await runWatchPhase(o, plan.pods, owners, client, target, proc, log);
    await endPhase('watch');
    const memoryAfterWatch = await memory(proc);
    log(`memory without forced GC: ${memoryTimeline.map((m) => `after ${m.phase} rss ${mib(m.rssBytes)} heapUsed ${mib(m.heapUsedBytes)} (large objects ${mib(m.largeObjectBytes)}, external ${mib(m.externalBytes)})`).join('; ')}`);
    log(`phases (monotonic µs, to slice a --cpu-prof profile): ${phases.map((p) => `${p.phase} ${p.startUs}-${p.endUs}`).join(', ')}`);
    log(`memory after watch: rss ${mib(memoryAfterWatch.rssBytes)}, heapUsed ${mib(memoryAfterWatch.heapUsedBytes)}; after GC rss ${mib(memoryAfterWatch.afterGc?.rssBytes ?? NaN)}, heapUsed ${mib(memoryAfterWatch.afterGc?.heapUsedBytes ?? NaN)}`);

    return {
      setup: { namespaces: o.namespaces, nodes: o.nodes, owners: owners.length, seconds: round(setupSeconds, 2) },
      create, memoryAfterLoad, listAll, listByNode, watch, memoryAfterWatch, memoryTimeline, phases,
    };
  } finally {
    client.close();
  }
}

interface Track { sentAt: number; ackAt: number; expected: number; received: number[] }

async function runWatchPhase(o: ApiServerBenchOptions, pods: readonly PodPlan[], owners: readonly OwnerRef[], client: BenchClient, target: Target, proc: ServerProcess, log: Log): Promise<TargetResult['watch']> {
  const rng = new Rng(o.seed ^ 0x77617463);
  const head = await client.request('GET', '/api/v1/pods?limit=1');
  expectStatus(head, 200, 'list for resourceVersion');
  const rv = (JSON.parse(head.body.toString('utf8')) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

  // Per-node watchers go to distinct nodes that have pods, so each of them sees some of the writes.
  const nodesWithPods = [...new Set(pods.map((p) => p.nodeName))];
  const watchedNodes = new Set<string>();
  while (watchedNodes.size < Math.min(o.watchers - o.allNamespaceWatchers, nodesWithPods.length)) watchedNodes.add(rng.pick(nodesWithPods));
  const podsOnWatchedNodes = pods.filter((p) => watchedNodes.has(p.nodeName));

  const tracks = new Map<string, Track>();
  let unexpected = 0;
  let streamError: Error | undefined;
  const onEvent = (ev: { type: string; object: unknown }, at: number): void => {
    if (ev.type === 'BOOKMARK') return;
    const pod = ev.object as { metadata?: { namespace?: string; name?: string }; status?: { containerStatuses?: { restartCount?: number }[] } };
    const seq = pod.status?.containerStatuses?.[0]?.restartCount;
    const tr = ev.type === 'MODIFIED' ? tracks.get(`${pod.metadata?.namespace}/${pod.metadata?.name}#${seq}`) : undefined;
    if (tr) tr.received.push(at); else unexpected++;
  };
  const streams: WatchStream[] = [];
  const base = `/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`;
  for (let i = 0; i < o.allNamespaceWatchers; i++) streams.push(openWatch(target, base, onEvent, (e) => { streamError ??= e; }));
  for (const node of watchedNodes) {
    streams.push(openWatch(target, `${base}&fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`, onEvent, (e) => { streamError ??= e; }));
  }
  try {
    await Promise.all(streams.map((s) => s.ready));
    log(`watch: ${streams.length} watches open from resourceVersion ${rv} (${o.allNamespaceWatchers} all-namespace, ${watchedNodes.size} per node)`);

    const writeLatency: number[] = [];
    let writeErrors = 0;
    const limit = pLimit(o.concurrency);
    const writes: Promise<void>[] = [];
    const intervalMs = 1000 / o.updatesPerSecond;
    const cpu = await CpuMeter.start(proc);
    const start = performance.now();
    for (let seq = 1; seq <= o.updates; seq++) {
      const due = start + (seq - 1) * intervalMs;
      const wait = due - performance.now();
      if (wait >= 1) await sleep(wait);
      // Half the writes hit pods on watched nodes, so per-node watchers are exercised too.
      const pod = seq % 2 === 1 && podsOnWatchedNodes.length > 0 ? rng.pick(podsOnWatchedNodes) : rng.pick(pods);
      const owner = owners[pod.owner]!;
      const image = `registry.example.com/${owner.team}/${owner.app}:v1.4.2`;
      const body = JSON.stringify(runningStatusPatch(pod, Number(pod.nodeName.slice(5)), seq, image, rng.hex(64)));
      const track: Track = { sentAt: 0, ackAt: NaN, expected: o.allNamespaceWatchers + (watchedNodes.has(pod.nodeName) ? 1 : 0), received: [] };
      tracks.set(`${pod.namespace}/${pod.name}#${seq}`, track);
      writes.push(limit(async () => {
        track.sentAt = performance.now();
        const r = await client.request('PATCH', `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/status`, body, 'application/merge-patch+json');
        track.ackAt = r.endedAt;
        writeLatency.push(r.ms);
        if (r.status !== 200) { writeErrors++; track.expected = 0; }
      }));
    }
    await Promise.all(writes);
    const writesDone = performance.now();
    const expectedDeliveries = [...tracks.values()].reduce((n, t) => n + t.expected, 0);
    const receivedCount = (): number => { let n = 0; for (const t of tracks.values()) n += t.received.length; return n; };
    while (receivedCount() < expectedDeliveries && performance.now() - writesDone < o.deliveryTimeoutMs && !streamError) await sleep(10);
    const window = await cpu.stop();
    if (streamError) throw streamError;

    const fromAck: number[] = [];
    const fromSend: number[] = [];
    let beforeAck = 0;
    let missing = 0;
    for (const t of tracks.values()) {
      missing += Math.max(0, t.expected - t.received.length);
      for (const at of t.received) {
        if (at < t.ackAt) beforeAck++;
        fromAck.push(Math.max(0, at - t.ackAt));
        fromSend.push(at - t.sentAt);
      }
    }
    const result = {
      watchers: streams.length, allNamespace: o.allNamespaceWatchers, byNode: watchedNodes.size, updates: o.updates, updatesPerSecond: o.updatesPerSecond,
      writeLatencyMs: summarise(writeLatency), writeErrors,
      expectedDeliveries, received: receivedCount(), missing, unexpected, beforeAck,
      deliveryFromAckMs: summarise(fromAck), deliveryFromSendMs: summarise(fromSend),
      serverCpuUsPerUpdate: round((window.serverMs * 1000) / o.updates, 1),
    };
    log(`watch: ${o.updates} status patches at ${o.updatesPerSecond}/s (patch p50 ${result.writeLatencyMs.p50} p99 ${result.writeLatencyMs.p99} ms, errors ${writeErrors}); ` +
      `${result.received}/${expectedDeliveries} deliveries (missing ${missing}, unexpected ${unexpected}, ${beforeAck} before the ack); ` +
      `from ack p50 ${result.deliveryFromAckMs.p50} p99 ${result.deliveryFromAckMs.p99} ms; from send p50 ${result.deliveryFromSendMs.p50} p99 ${result.deliveryFromSendMs.p99} ms; server CPU ${result.serverCpuUsPerUpdate} µs/update`);
    return result;
  } finally {
    for (const s of streams) s.close();
  }
}
