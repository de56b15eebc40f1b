/**
 * Child process of the admission benchmark: the sandbox's API server and the coordinator's admission webhooks in
 * one process, wired as `startSandbox` wires them (src/sandbox/sandbox.ts): `ApiServer.start`, our CRDs applied,
 * a KubeClient of the `sandbox` role, `startAdmissionServer` on 127.0.0.1 in `apply` mode with the sandbox feature
 * gates. Driven over the fork IPC channel (strictly request/reply, child-ipc.ts):
 *   parent → { type: 'start', tls, token, caCertPem }  child → { type: 'ready', url, webhookPort, configurations }
 *   parent → { type: 'mark' }                          child → { type: 'mark', cpuUs } (clears the call log, snapshots metrics)
 *   parent → { type: 'sample' }                        child → { type: 'sample', cpuUs, calls, coordinator, results }
 * A sample holds what happened since the last mark.
 *   parent → { type: 'stop' }                          child closes everything and exits
 *
 * One difference from the sandbox, for measurement only: the API server gets its AdmissionChain passed in
 * (`ApiServerOptions.admission`), built with exactly the options `ApiServer`'s constructor uses, except that the
 * real `createHttpsWebhookCaller()` is wrapped to time each webhook call (POST to parsed JSON, as the API server
 * sees it: connect, TLS handshake, request, the coordinator's handler, response). The wrapper costs two
 * `performance.now()` calls and an array push.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { sandboxFeatureGates } from '../src/api/feature-gates.js';
import type { KubeObject } from '../src/api/meta.js';
import { VERSION } from '../src/api/version.js';
import { startAdmissionServer, type AdmissionServer } from '../src/coordinator/admission/index.js';
import { makeClient } from '../src/kube/client-config.js';
import type { KubeClient } from '../src/kube/kube-client.js';
import { AdmissionChain, createHttpsWebhookCaller, type WebhookCaller } from '../src/sandbox/apiserver/admission/index.js';
import { ApiServer } from '../src/sandbox/apiserver/api-server.js';
import { MemoryStorage } from '../src/sandbox/apiserver/storage/memory-storage.js';
import { renderKubeconfig } from '../src/sandbox/kubeconfig.js';
import { DEFAULT_CRD_DIR, readManifests } from '../src/sandbox/sandbox.js';

export type AdmissionChildRequest =
  | { type: 'start'; tls: { certPem: string; keyPem: string }; token: string; caCertPem: string }
  | { type: 'mark' }
  | { type: 'sample' }
  | { type: 'stop' };

/** One webhook call as the API server made it: the webhook path, its duration and whether it succeeded. */
export interface WebhookCall { path: string; ms: number; ok: boolean }

/**
 * A prom-client seconds histogram (one label set) as raw numbers, so the parent can add up several windows:
 * cumulative bucket counts by upper bound (`le`, a number, or '+Inf').
 */
export interface RawHistogram { count: number; sumSeconds: number; buckets: [number | string, number][] }

export type AdmissionChildReply =
  | { type: 'ready'; url: string; webhookPort: number; configurations: KubeObject[] }
  | { type: 'mark'; cpuUs: number }
  | {
    type: 'sample';
    /** Process CPU (user + system) since the child started, µs: API server and webhook server together. */
    cpuUs: number;
    /** Webhook calls since the mark, in the order they finished. */
    calls: WebhookCall[];
    /** `kruise_admission_request_duration_seconds` since the mark, by webhook path (paths with no review left out). */
    coordinator: Record<string, RawHistogram>;
    /** `kruise_admission_requests_total` since the mark, by `path result`. */
    results: Record<string, number>;
  }
  | { type: 'error'; message: string };

const DURATION = 'kruise_admission_request_duration_seconds';
const REQUESTS = 'kruise_admission_requests_total';

interface Running {
  apiServer: ApiServer;
  admission: AdmissionServer;
  client: KubeClient;
  registry: Registry;
}

let running: Running | undefined;
let calls: WebhookCall[] = [];
let marked: { durations: Map<string, RawHistogram>; results: Map<string, number> } | undefined;

function reply(m: AdmissionChildReply): void { process.send?.(m); }

function cpuUs(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

function timedCaller(inner: WebhookCaller): WebhookCaller {
  return async (url, caBundlePem, review, timeoutMs, signal) => {
    const started = performance.now();
    let ok = false;
    try {
      const r = await inner(url, caBundlePem, review, timeoutMs, signal);
      ok = true;
      return r;
    } finally {
      calls.push({ path: new URL(url).pathname, ms: performance.now() - started, ok });
    }
  };
}

/** The coordinator's review histogram and result counter, read from its registry. */
async function readMetrics(registry: Registry): Promise<{ durations: Map<string, RawHistogram>; results: Map<string, number> }> {
  const durations = new Map<string, RawHistogram>();
  const of = (path: string): RawHistogram => {
    let h = durations.get(path);
    if (!h) durations.set(path, h = { count: 0, sumSeconds: 0, buckets: [] });
    return h;
  };
  type Value = { value: number; labels: Record<string, string | number>; metricName?: string };
  const histogram = await registry.getSingleMetric(DURATION)?.get();
  for (const v of (histogram?.values ?? []) as Value[]) {
    const h = of(String(v.labels['path']));
    if (v.metricName === `${DURATION}_count`) h.count = v.value;
    else if (v.metricName === `${DURATION}_sum`) h.sumSeconds = v.value;
    else if (v.metricName === `${DURATION}_bucket`) h.buckets.push([v.labels['le'] ?? '+Inf', v.value]);
  }
  const results = new Map<string, number>();
  const counter = await registry.getSingleMetric(REQUESTS)?.get();
  for (const v of (counter?.values ?? []) as Value[]) results.set(`${String(v.labels['path'])} ${String(v.labels['result'])}`, v.value);
  return { durations, results };
}

function since(now: RawHistogram, before: RawHistogram | undefined): RawHistogram {
  const old = new Map((before?.buckets ?? []).map(([le, n]) => [String(le), n]));
  return {
    count: now.count - (before?.count ?? 0),
    sumSeconds: now.sumSeconds - (before?.sumSeconds ?? 0),
    buckets: now.buckets.map(([le, n]) => [le, n - (old.get(String(le)) ?? 0)]),
  };
}

async function start(m: Extract<AdmissionChildRequest, { type: 'start' }>): Promise<Running> {
  const logger = pino({ level: 'silent' });
  const storage = new MemoryStorage();
  // The chain ApiServer's constructor would build (api-server.ts), with the timed caller.
  const chain = new AdmissionChain({
    listMutating: () => storage.list('admissionregistration.k8s.io/mutatingwebhookconfigurations').map((e) => e.object),
    listValidating: () => storage.list('admissionregistration.k8s.io/validatingwebhookconfigurations').map((e) => e.object),
    getNamespaceLabels: (ns) => {
      const e = storage.get('/namespaces', '', ns);
      return e ? (e.object.metadata.labels ?? {}) : undefined;
    },
    uid: () => randomUUID(),
    caller: timedCaller(createHttpsWebhookCaller()),
    logger,
  });
  const apiServer = await ApiServer.start({
    port: 0, tls: m.tls, storage, admission: chain, logger,
    tokens: new Map([[m.token, { username: 'bench-admin', groups: ['system:masters', 'system:authenticated'] }]]),
  });
  for (const crd of await readManifests(DEFAULT_CRD_DIR)) await apiServer.applyObject(crd);
  await apiServer.idle();
  const kc = new KubeConfig();
  kc.loadFromString(renderKubeconfig({ server: apiServer.url, caCertPem: m.caCertPem, token: m.token }));
  const client = makeClient({ kubeConfig: kc, role: 'sandbox', version: VERSION });
  const registry = new Registry();
  const admission = await startAdmissionServer({
    port: 0, host: '127.0.0.1', gates: sandboxFeatureGates(''), client, registry, logger, configurations: 'apply',
  });
  return { apiServer, admission, client, registry };
}

process.on('message', (m: AdmissionChildRequest) => {
  void (async () => {
    try {
      switch (m.type) {
        case 'start': {
          running = await start(m);
          reply({
            type: 'ready', url: running.apiServer.url, webhookPort: running.admission.port,
            configurations: structuredClone([...running.admission.configurations]),
          });
          break;
        }
        case 'mark': {
          if (!running) throw new Error('not started');
          calls = [];
          marked = await readMetrics(running.registry);
          reply({ type: 'mark', cpuUs: cpuUs() });
          break;
        }
        case 'sample': {
          if (!running || !marked) throw new Error('sample before mark');
          const cpu = cpuUs();
          const taken = calls;
          calls = [];
          const now = await readMetrics(running.registry);
          const coordinator: Record<string, RawHistogram> = {};
          for (const [path, h] of now.durations) {
            const d = since(h, marked.durations.get(path));
            if (d.count > 0) coordinator[path] = d;
          }
          const results: Record<string, number> = {};
          for (const [key, n] of now.results) {
            const d = n - (marked.results.get(key) ?? 0);
            if (d > 0) results[key] = d;
          }
          reply({ type: 'sample', cpuUs: cpu, calls: taken, coordinator, results });
          break;
        }
        case 'stop': {
          if (running) {
            await running.admission.close(1000);
            running.client.close();
            await running.apiServer.close();
          }
          // A normal exit, so `--cpu-prof` (inherited from the parent) writes its profile.
          process.exit(0);
        }
      }
    } catch (e) {
      reply({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
    }
  })();
});
