/**
 * Admission benchmark (issue 6: "Admission latency added to a DELETE and to a CREATE through the sandbox, p50/p99,
 * webhook on vs. off in the same run. Target: p99 added latency <= 5 ms").
 *
 * A child process (admission-child.ts) runs what `kruise-ts sandbox` runs: the embedded API server with our CRDs
 * and the coordinator's admission server in `apply` mode with the sandbox feature gates, which registers our
 * Mutating/ValidatingWebhookConfigurations with `url` clientConfigs pointing at itself. This process sends
 * requests over HTTPS (keep-alive, one socket for the sequential phases) and times each to the last byte:
 *   - CREATE of a CloneSet: the API server calls `mcloneset.kb.io` (defaulting, a JSON patch back) and, after its
 *     own validation, `vcloneset.kb.io`;
 *   - DELETE of a Deployment labelled `policy.kruise.io/delete-protection: Cascading` with replicas 0: one call to
 *     `vbuiltindeployment.kb.io`, which allows it;
 *   - DELETE of an unlabelled Deployment: the objectSelector (`Exists`) keeps it from any webhook; what remains
 *     is the chain's own matching work;
 *   - CREATE of a CloneSet with 8 requests in flight (throughput, and latency under queueing).
 * Webhook ON = our two configurations exist; OFF = this process deleted them (the API server reads them on every
 * request, so a change applies at once). Rounds alternate ON and OFF (which goes first is drawn from the seed)
 * so that load changes on the shared machine hit both modes alike; one unrecorded warm-up round per mode first.
 * Added latency = ON − OFF of the pooled samples, at p50 and at p99.
 *
 * Also reported: the webhook calls as the API server timed them (admission-child.ts wraps its WebhookCaller),
 * the coordinator's own handler time (`kruise_admission_request_duration_seconds`, doubling buckets from
 * 0.5 ms, so p50/p99 are "at most" bounds; the mean is exact), and the CPU of the server process per request.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ChildProcess } from 'node:child_process';
import pLimit from 'p-limit';
import type { KubeObject } from '../src/api/meta.js';
import { createSandboxPki } from '../src/sandbox/apiserver/pki.js';
import type { AdmissionChildReply, AdmissionChildRequest, RawHistogram, WebhookCall } from './admission-child.js';
import { ask, exited, forkHelper } from './child-ipc.js';
import { Rng } from './fixtures.js';
import { BenchClient, type TimedResponse } from './http-client.js';
import { round, summarise, type Summary } from './stats.js';

/** Workload size. Defaults take 70–105 s on 2 shared vCPUs today (the ON rounds are slow); smaller values are for smoke runs. */
export interface AdmissionBenchOptions {
  seed: number;
  /** Recorded rounds per mode (ON and OFF alternate). @default 10 */
  rounds: number;
  /** Sequential requests of each kind per round. @default 200 */
  requests: number;
  /** CloneSet creates per round in the concurrent phase. @default 100 */
  concurrentRequests: number;
  /** Requests in flight in the concurrent phase and for the untimed setup. @default 8 */
  concurrency: number;
  /** Sequential requests of each kind in the unrecorded warm-up round of each mode. @default 100 */
  warmupRequests: number;
}

export const DEFAULT_OPTIONS: Readonly<Omit<AdmissionBenchOptions, 'seed'>> = Object.freeze({
  rounds: 10, requests: 200, concurrentRequests: 100, concurrency: 8, warmupRequests: 100,
});

/** The issue's target: p99 latency added by the webhooks. */
export const TARGET_ADDED_P99_MS = 5;

export type Mode = 'on' | 'off';
export type SequentialKind = 'createCloneSet' | 'deleteLabelledDeployment' | 'deleteUnlabelledDeployment';
const SEQUENTIAL_KINDS: readonly SequentialKind[] = ['createCloneSet', 'deleteLabelledDeployment', 'deleteUnlabelledDeployment'];
const KIND_TEXT: Record<SequentialKind | 'createCloneSetConcurrent', string> = {
  createCloneSet: 'CREATE CloneSet (mutating + validating webhook)',
  deleteLabelledDeployment: 'DELETE Deployment labelled Cascading, replicas 0 (validating webhook)',
  deleteUnlabelledDeployment: 'DELETE unlabelled Deployment (no webhook: objectSelector)',
  createCloneSetConcurrent: 'CREATE CloneSet, 8 in flight',
};
/** Webhook calls the API server must make per request with the webhooks ON. */
const CALLS_PER_REQUEST: Record<SequentialKind, number> = { createCloneSet: 2, deleteLabelledDeployment: 1, deleteUnlabelledDeployment: 0 };

const NAMESPACE = 'bench-admission';
const LABEL = 'policy.kruise.io/delete-protection';

export interface Added { p50: number; p90: number; p99: number; mean: number }

export interface HistogramBounds { count: number; meanMs: number | null; p50AtMostMs: number | null; p99AtMostMs: number | null }

export interface SequentialResult {
  on: Summary;
  off: Summary;
  /** ON − OFF of the pooled samples. */
  addedMs: Added;
  serverCpuUsPerOp: { on: number; off: number; added: number };
  /** Webhook calls per request with the webhooks ON (checked: every request made exactly these). */
  webhookCallsPerRequest: number;
  /** Per request, the sum of its webhook calls as the API server timed them (POST to parsed response). */
  webhookCallMsPerRequest?: Summary;
  /** The same by webhook path, per call. */
  webhookCallMsByPath?: Record<string, Summary>;
  /** The coordinator's handler time by path (its own histogram; from request start to response end). */
  coordinatorMsByPath?: Record<string, HistogramBounds>;
}

export interface ConcurrentResult {
  on: { latencyMs: Summary; perSecond: number; serverCpuUsPerOp: number };
  off: { latencyMs: Summary; perSecond: number; serverCpuUsPerOp: number };
  addedMs: Added;
  /** OFF ÷ ON creates/s: > 1 means the webhooks cost throughput. */
  throughputRatio: number | null;
}

export interface RoundRecord { round: number; mode: Mode; p50: Record<string, number>; p99: Record<string, number> }

export interface AdmissionBenchResult {
  options: AdmissionBenchOptions;
  sequential: Record<SequentialKind, SequentialResult>;
  concurrent: { createCloneSet: ConcurrentResult };
  /** JSON paths the CloneSet create response had with the webhooks ON and not OFF: what the mutating webhook set. */
  defaultedByWebhook: string[];
  /** `kruise_admission_requests_total` over the recorded rounds, by `path result`. */
  coordinatorResults: Record<string, number>;
  rounds: RoundRecord[];
  checks: { metric: string; target: string; value: number; pass: boolean }[];
}

type Log = (line: string) => void;

/** One measured phase's raw data, accumulated over rounds. */
interface Acc {
  latency: number[];
  cpuUs: number;
  ops: number;
  calls: WebhookCall[];
  wallMs: number;
  coordinator: Map<string, RawHistogram>;
}

const newAcc = (): Acc => ({ latency: [], cpuUs: 0, ops: 0, calls: [], wallMs: 0, coordinator: new Map() });

function cloneSetBody(name: string): string {
  return JSON.stringify({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', metadata: { name, labels: { app: name } },
    spec: {
      replicas: 0, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } },
    },
  });
}

function deploymentBody(name: string, labelled: boolean): string {
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, labels: { app: name, ...(labelled ? { [LABEL]: 'Cascading' } : {}) } },
    spec: {
      replicas: 0, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } },
    },
  });
}

function expectStatus(r: TimedResponse, want: number[], what: string): void {
  if (!want.includes(r.status)) throw new Error(`${what}: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 400)}`);
}

function added(on: Summary, off: Summary): Added {
  return { p50: round(on.p50 - off.p50), p90: round(on.p90 - off.p90), p99: round(on.p99 - off.p99), mean: round(on.mean - off.mean) };
}

function addHistogram(into: Map<string, RawHistogram>, path: string, h: RawHistogram): void {
  const cur = into.get(path);
  if (!cur) {
    into.set(path, { count: h.count, sumSeconds: h.sumSeconds, buckets: h.buckets.map(([le, n]) => [le, n]) });
    return;
  }
  cur.count += h.count;
  cur.sumSeconds += h.sumSeconds;
  const byLe = new Map(h.buckets.map(([le, n]) => [String(le), n]));
  cur.buckets = cur.buckets.map(([le, n]) => [le, n + (byLe.get(String(le)) ?? 0)]);
}

/** Mean, and for p50/p99 the upper bound of the bucket holding that rank (≤ 2× the true value: buckets double). */
function bounds(h: RawHistogram): HistogramBounds {
  const sorted = h.buckets.map(([le, n]) => ({ le: Number(le), n })).sort((a, b) => a.le - b.le);
  const at = (q: number): number | null => {
    if (h.count === 0) return null;
    const b = sorted.find((x) => x.n >= q * h.count);
    return b && Number.isFinite(b.le) ? round(b.le * 1000) : null;
  };
  return { count: h.count, meanMs: h.count > 0 ? round((h.sumSeconds / h.count) * 1000, 4) : null, p50AtMostMs: at(0.5), p99AtMostMs: at(0.99) };
}

/** Every JSON path (objects only, to depth 4) of `a` that `b` lacks. */
function pathsOnlyIn(a: unknown, b: unknown, prefix = '', depth = 0): string[] {
  if (typeof a !== 'object' || a === null || Array.isArray(a) || depth > 4) return [];
  const out: string[] = [];
  const other = typeof b === 'object' && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(a as Record<string, unknown>)) {
    const p = prefix === '' ? k : `${prefix}.${k}`;
    if (!(k in other)) out.push(p);
    else out.push(...pathsOnlyIn(v, other[k], p, depth + 1));
  }
  return out;
}

class Child {
  private constructor(private readonly proc: ChildProcess) {}

  static async start(tls: { certPem: string; keyPem: string }, token: string, caCertPem: string): Promise<{ child: Child; url: string; configurations: KubeObject[] }> {
    const proc = forkHelper(new URL('./admission-child.js', import.meta.url));
    const child = new Child(proc);
    const r = await child.ask({ type: 'start', tls, token, caCertPem });
    if (r.type !== 'ready') throw new Error(`admission child did not start: ${JSON.stringify(r).slice(0, 300)}`);
    return { child, url: r.url, configurations: r.configurations };
  }

  get pid(): number | undefined { return this.proc.pid; }

  /** Starts a window: clears the child's call log and snapshots its metrics; resolves with its CPU µs so far. */
  async mark(): Promise<number> {
    const r = await this.ask({ type: 'mark' });
    if (r.type !== 'mark') throw new Error(`unexpected reply: ${r.type}`);
    return r.cpuUs;
  }

  async sample(): Promise<Extract<AdmissionChildReply, { type: 'sample' }>> {
    const r = await this.ask({ type: 'sample' });
    if (r.type !== 'sample') throw new Error(`unexpected reply: ${r.type}`);
    return r;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.proc.send({ type: 'stop' } satisfies AdmissionChildRequest);
    await exited(this.proc);
  }

  private ask(m: AdmissionChildRequest): Promise<Exclude<AdmissionChildReply, { type: 'error' }>> {
    return ask<AdmissionChildReply>(this.proc, m, 'admission child');
  }
}

export async function runAdmissionBench(options: AdmissionBenchOptions, log: Log): Promise<AdmissionBenchResult> {
  const o = options;
  if (o.rounds < 1 || o.requests < 1 || o.concurrency < 1) throw new RangeError('rounds, requests and concurrency must be at least 1');
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
  const token = randomBytes(16).toString('hex');
  const { child, url, configurations } = await Child.start({ certPem: pki.serverCertPem, keyPem: pki.serverKeyPem }, token, pki.caCertPem);
  log(`server child pid ${String(child.pid)} at ${url}: API server + admission webhooks (apply mode, sandbox gates)`);
  const client = new BenchClient({ url, token, caCertPem: pki.caCertPem }, o.concurrency);
  const limit = pLimit(o.concurrency);
  const rng = new Rng(o.seed);
  let mode: Mode = 'on';
  try {
    expectStatus(await client.request('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } })), [201], 'create namespace');

    const setMode = async (want: Mode): Promise<void> => {
      if (mode === want) return;
      for (const c of configurations) {
        const plural = c.kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
        const base = `/apis/admissionregistration.k8s.io/v1/${plural}`;
        if (want === 'on') expectStatus(await client.request('POST', base, JSON.stringify(c)), [201], `create ${c.kind}`);
        else expectStatus(await client.request('DELETE', `${base}/${c.metadata.name ?? ''}`), [200], `delete ${c.kind}`);
      }
      mode = want;
    };

    const acc = {
      on: Object.fromEntries([...SEQUENTIAL_KINDS, 'createCloneSetConcurrent'].map((k) => [k, newAcc()])) as Record<SequentialKind | 'createCloneSetConcurrent', Acc>,
      off: Object.fromEntries([...SEQUENTIAL_KINDS, 'createCloneSetConcurrent'].map((k) => [k, newAcc()])) as Record<SequentialKind | 'createCloneSetConcurrent', Acc>,
    };
    const coordinatorResults: Record<string, number> = {};
    const rounds: RoundRecord[] = [];
    const firstCreate: Partial<Record<Mode, unknown>> = {};

    /**
     * Times `n` requests, sequentially or `concurrency` in flight, between a mark and a sample of the child (the
     * server CPU is read at the end of the mark and at the start of the sample, so the IPC stays outside).
     */
    const measured = async (into: Acc | undefined, kind: SequentialKind | 'createCloneSetConcurrent', n: number,
      send: (i: number) => Promise<TimedResponse>): Promise<Summary> => {
      const latency: number[] = [];
      const cpuAtMark = await child.mark();
      const t0 = performance.now();
      if (kind === 'createCloneSetConcurrent') {
        await limit.map(Array.from({ length: n }, (_, i) => i), async (i) => { latency.push((await send(i)).ms); });
      } else {
        for (let i = 0; i < n; i++) latency.push((await send(i)).ms);
      }
      const wallMs = performance.now() - t0;
      const s = await child.sample();
      const want = mode === 'on' ? CALLS_PER_REQUEST[kind === 'createCloneSetConcurrent' ? 'createCloneSet' : kind] * n : 0;
      if (s.calls.length !== want) throw new Error(`${kind} (${mode}): ${s.calls.length} webhook calls, expected ${want}`);
      const failed = s.calls.find((c) => !c.ok);
      if (failed) throw new Error(`${kind} (${mode}): a webhook call to ${failed.path} failed`);
      if (into) {
        into.latency.push(...latency);
        into.ops += n;
        into.cpuUs += s.cpuUs - cpuAtMark;
        into.wallMs += wallMs;
        into.calls.push(...s.calls);
        for (const [path, h] of Object.entries(s.coordinator)) addHistogram(into.coordinator, path, h);
        for (const [k, v] of Object.entries(s.results)) coordinatorResults[k] = (coordinatorResults[k] ?? 0) + v;
      }
      return summarise(latency);
    };

    const runRound = async (r: number, m: Mode, n: number, nConcurrent: number, record: boolean): Promise<void> => {
      await setMode(m);
      const tag = `${record ? 'r' : 'w'}${r}-${m}`;
      const a = record ? acc[m] : undefined;
      // Untimed setup: the Deployments this round deletes.
      await limit.map(Array.from({ length: n }, (_, i) => i), async (i) => {
        const base = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`;
        expectStatus(await client.request('POST', base, deploymentBody(`dl-${tag}-${i}`, true)), [201], 'create labelled deployment');
        expectStatus(await client.request('POST', base, deploymentBody(`du-${tag}-${i}`, false)), [201], 'create unlabelled deployment');
      });
      const cloneSets = `/apis/apps.kruise.io/v1alpha1/namespaces/${NAMESPACE}/clonesets`;
      const deployments = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`;
      const bodies = Array.from({ length: n }, (_, i) => cloneSetBody(`cs-${tag}-${i}`));
      const p50: Record<string, number> = {};
      const p99: Record<string, number> = {};
      const note = (kind: string, s: Summary): void => { p50[kind] = s.p50; p99[kind] = s.p99; };

      note('createCloneSet', await measured(a?.createCloneSet, 'createCloneSet', n, async (i) => {
        const res = await client.request('POST', cloneSets, bodies[i]);
        expectStatus(res, [201], 'create cloneset');
        if (i === 0 && firstCreate[m] === undefined) firstCreate[m] = JSON.parse(res.body.toString('utf8'));
        return res;
      }));
      note('deleteLabelledDeployment', await measured(a?.deleteLabelledDeployment, 'deleteLabelledDeployment', n, async (i) => {
        const res = await client.request('DELETE', `${deployments}/dl-${tag}-${i}`);
        expectStatus(res, [200, 202], 'delete labelled deployment');
        return res;
      }));
      note('deleteUnlabelledDeployment', await measured(a?.deleteUnlabelledDeployment, 'deleteUnlabelledDeployment', n, async (i) => {
        const res = await client.request('DELETE', `${deployments}/du-${tag}-${i}`);
        expectStatus(res, [200, 202], 'delete unlabelled deployment');
        return res;
      }));
      const concurrentBodies = Array.from({ length: nConcurrent }, (_, i) => cloneSetBody(`cc-${tag}-${i}`));
      note('createCloneSetConcurrent', await measured(a?.createCloneSetConcurrent, 'createCloneSetConcurrent', nConcurrent, async (i) => {
        const res = await client.request('POST', cloneSets, concurrentBodies[i]);
        expectStatus(res, [201], 'create cloneset');
        return res;
      }));
      if (record) rounds.push({ round: r, mode: m, p50, p99 });
      log(`${record ? 'round' : 'warm-up'} ${r} ${m.padEnd(3)}: p50/p99 ms create ${p50['createCloneSet']}/${p99['createCloneSet']}, ` +
        `delete labelled ${p50['deleteLabelledDeployment']}/${p99['deleteLabelledDeployment']}, ` +
        `delete unlabelled ${p50['deleteUnlabelledDeployment']}/${p99['deleteUnlabelledDeployment']}, ` +
        `create ×8 ${p50['createCloneSetConcurrent']}/${p99['createCloneSetConcurrent']}`);
    };

    const started = performance.now();
    for (const m of ['on', 'off'] as const) await runRound(0, m, o.warmupRequests, Math.min(o.warmupRequests, o.concurrentRequests), false);
    for (let r = 1; r <= o.rounds; r++) {
      const order: Mode[] = rng.next() < 0.5 ? ['on', 'off'] : ['off', 'on'];
      for (const m of order) await runRound(r, m, o.requests, o.concurrentRequests, true);
    }
    log(`measured in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await setMode('on');

    const sequential = {} as Record<SequentialKind, SequentialResult>;
    for (const kind of SEQUENTIAL_KINDS) {
      const on = acc.on[kind];
      const off = acc.off[kind];
      const sOn = summarise(on.latency);
      const sOff = summarise(off.latency);
      const cpuOn = round(on.cpuUs / on.ops, 1);
      const cpuOff = round(off.cpuUs / off.ops, 1);
      const res: SequentialResult = {
        on: sOn, off: sOff, addedMs: added(sOn, sOff),
        serverCpuUsPerOp: { on: cpuOn, off: cpuOff, added: round(cpuOn - cpuOff, 1) },
        webhookCallsPerRequest: CALLS_PER_REQUEST[kind],
      };
      const k = CALLS_PER_REQUEST[kind];
      if (k > 0) {
        const perRequest: number[] = [];
        for (let i = 0; i + k <= on.calls.length; i += k) perRequest.push(on.calls.slice(i, i + k).reduce((t, c) => t + c.ms, 0));
        res.webhookCallMsPerRequest = summarise(perRequest);
        const byPath = new Map<string, number[]>();
        for (const c of on.calls) byPath.set(c.path, [...(byPath.get(c.path) ?? []), c.ms]);
        res.webhookCallMsByPath = Object.fromEntries([...byPath].map(([p, xs]) => [p, summarise(xs)]));
        res.coordinatorMsByPath = Object.fromEntries([...on.coordinator].map(([p, h]) => [p, bounds(h)]));
      }
      sequential[kind] = res;
    }
    const cOn = acc.on.createCloneSetConcurrent;
    const cOff = acc.off.createCloneSetConcurrent;
    const side = (x: Acc) => ({ latencyMs: summarise(x.latency), perSecond: round(x.ops / (x.wallMs / 1000), 0), serverCpuUsPerOp: round(x.cpuUs / x.ops, 1) });
    const conOn = side(cOn);
    const conOff = side(cOff);
    const concurrent = {
      createCloneSet: {
        on: conOn, off: conOff, addedMs: added(conOn.latencyMs, conOff.latencyMs),
        throughputRatio: conOn.perSecond > 0 ? round(conOff.perSecond / conOn.perSecond, 2) : null,
      },
    };
    const checks = SEQUENTIAL_KINDS.map((kind) => ({
      metric: `${KIND_TEXT[kind]}: added p99 ms`, target: `<= ${TARGET_ADDED_P99_MS}`,
      value: sequential[kind].addedMs.p99, pass: sequential[kind].addedMs.p99 <= TARGET_ADDED_P99_MS,
    }));
    return {
      options: o, sequential, concurrent,
      defaultedByWebhook: pathsOnlyIn(firstCreate.on, firstCreate.off).filter((p) => !p.startsWith('metadata.')),
      coordinatorResults, rounds, checks,
    };
  } finally {
    client.close();
    await child.stop();
  }
}

const fmt = (s: Summary): string => `${s.p50} / ${s.p99}`;

/** The markdown tables run.ts prints after the run. */
export function admissionSummary(r: AdmissionBenchResult): string {
  const rows = ['| request | ON p50 / p99 ms | OFF p50 / p99 ms | added p50 / p99 ms | server CPU µs ON / OFF |', '|---|---:|---:|---:|---:|'];
  for (const kind of SEQUENTIAL_KINDS) {
    const s = r.sequential[kind];
    rows.push(`| ${KIND_TEXT[kind]} | ${fmt(s.on)} | ${fmt(s.off)} | ${s.addedMs.p50} / ${s.addedMs.p99} | ${s.serverCpuUsPerOp.on} / ${s.serverCpuUsPerOp.off} |`);
  }
  const c = r.concurrent.createCloneSet;
  rows.push(`| ${KIND_TEXT.createCloneSetConcurrent} | ${fmt(c.on.latencyMs)} | ${fmt(c.off.latencyMs)} | ${c.addedMs.p50} / ${c.addedMs.p99} | ${c.on.serverCpuUsPerOp} / ${c.off.serverCpuUsPerOp} |`);
  rows.push(`| creates/s, 8 in flight (ON / OFF) | ${c.on.perSecond} | ${c.off.perSecond} | ratio ${String(c.throughputRatio)} | |`);
  const calls = ['', '| webhook path | calls | API server: call p50 / p99 ms | coordinator handler mean ms (p50 / p99 ≤) |', '|---|---:|---:|---:|'];
  for (const kind of SEQUENTIAL_KINDS) {
    const s = r.sequential[kind];
    for (const [path, sum] of Object.entries(s.webhookCallMsByPath ?? {})) {
      const h = s.coordinatorMsByPath?.[path];
      calls.push(`| ${path} | ${sum.n} | ${fmt(sum)} | ${h ? `${String(h.meanMs)} (${String(h.p50AtMostMs)} / ${String(h.p99AtMostMs)})` : '–'} |`);
    }
  }
  const checks = ['', '| target | value | pass |', '|---|---:|:---:|', ...r.checks.map((x) => `| ${x.metric} ${x.target} | ${x.value} | ${x.pass ? 'yes' : '**no**'} |`)];
  return [...rows, ...calls, ...checks].join('\n');
}
