/**
 * A fresh process that fills one cache of every pod and reports the time and the memory it took; one probe per
 * process, so each starts from the same clean heap and RSS. Forked with --expose-gc by the informer benchmark:
 *   parent → { type: 'run', mode, target, userAgent }
 *   child  → { type: 'probe', ... } and exits
 * Modes:
 * - `informer`: a KubeClient and an InformerFactory over all pods, from `start` to `hasSynced` (the informer's
 *   list, its copies, managedFields strip and default indexes: namespace, controller uid, node name).
 * - `baseline`: one plain node:https GET of /api/v1/pods, JSON.parse, and the items kept in a Map by
 *   `namespace/name`: the least any cache of parsed pods can cost, measured the same way.
 * - `baseline-paged`: the same in pages of 500 (`limit` + `continue`, as client-go's reflector lists), to show
 *   what paging does to the memory a process keeps after the initial list.
 * Memory is read after two forced GCs, before and after filling the cache; the difference divided by the number
 * of objects is the cost of one cached pod.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { InformerFactory } from '../src/kube/informer/index.js';
import { KubeClient } from '../src/kube/kube-client.js';
import { resources } from '../src/kube/resource-ref.js';
import { renderKubeconfig } from '../src/sandbox/kubeconfig.js';
import { BenchClient, type Target } from './http-client.js';
import { monotonicMs } from './monotonic-clock.js';

export type ProbeMode = 'informer' | 'baseline' | 'baseline-paged';

export interface ProbeRequest { type: 'run'; mode: ProbeMode; target: Target; userAgent: string }

export interface ProbeMemory { rssBytes: number; heapUsedBytes: number; externalBytes: number }

export interface ProbeResult {
  type: 'probe';
  mode: ProbeMode;
  objects: number;
  /** Start to a full, usable cache (informer: `hasSynced`). */
  syncMs: number;
  /** Baselines only, summed over pages: the GETs to their last byte, JSON.parse, filling the Map. */
  phasesMs?: { fetch: number; parse: number; fill: number };
  before: ProbeMemory;
  /** Right after the cache was full, without a forced GC: garbage of the list included. */
  afterNoGc: ProbeMemory;
  after: ProbeMemory;
}

export type ProbeReply = ProbeResult | { type: 'error'; message: string };

function readMemory(gc: boolean): ProbeMemory {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    if (!collect) throw new Error('run the probe with --expose-gc');
    collect();
    collect();
  }
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external + m.arrayBuffers };
}

async function probeInformer(target: Target, userAgent: string): Promise<ProbeResult> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(renderKubeconfig({ server: target.url, caCertPem: target.caCertPem, token: target.token }));
  const client = new KubeClient({ kubeConfig, qps: 1000, burst: 2000, userAgent });
  const factory = new InformerFactory({ client });
  const informer = factory.informerFor(resources.pods);
  const ac = new AbortController();
  const before = readMemory(true);
  const t0 = monotonicMs();
  const running = factory.start(ac.signal);
  await informer.waitForSync();
  const syncMs = monotonicMs() - t0;
  const afterNoGc = readMemory(false);
  const after = readMemory(true);
  const objects = informer.cache.size;
  ac.abort();
  await running;
  client.close();
  return { type: 'probe', mode: 'informer', objects, syncMs, before, afterNoGc, after };
}

interface PodList { metadata: { continue?: string }; items: { metadata: { namespace?: string; name: string } }[] }

async function probeBaseline(target: Target, pageSize: number | undefined): Promise<ProbeResult> {
  const client = new BenchClient(target, 1);
  const before = readMemory(true);
  const cache = new Map<string, unknown>();
  const phasesMs = { fetch: 0, parse: 0, fill: 0 };
  const t0 = monotonicMs();
  let token: string | undefined;
  do {
    const query = pageSize ? `?limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}` : '';
    const ta = monotonicMs();
    const r = await client.request('GET', `/api/v1/pods${query}`);
    if (r.status !== 200) throw new Error(`list pods: HTTP ${r.status}`);
    const tb = monotonicMs();
    const list = JSON.parse(r.body.toString('utf8')) as PodList;
    const tc = monotonicMs();
    for (const item of list.items) cache.set(`${item.metadata.namespace ?? ''}/${item.metadata.name}`, item);
    phasesMs.fetch += tb - ta;
    phasesMs.parse += tc - tb;
    phasesMs.fill += monotonicMs() - tc;
    token = list.metadata.continue || undefined;
  } while (token);
  const syncMs = monotonicMs() - t0;
  const afterNoGc = readMemory(false);
  const after = readMemory(true);
  client.close();
  return { type: 'probe', mode: pageSize ? 'baseline-paged' : 'baseline', objects: cache.size, syncMs, phasesMs, before, afterNoGc, after };
}

process.once('message', (m: ProbeRequest) => {
  void (m.mode === 'informer' ? probeInformer(m.target, m.userAgent) : probeBaseline(m.target, m.mode === 'baseline-paged' ? 500 : undefined))
    .catch((e: unknown): ProbeReply => ({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }))
    .then((reply) => process.send?.(reply, () => process.exit(0)));
});
