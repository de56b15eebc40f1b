/**
 * Informers against the embedded API server, including the failures real API servers produce: dropped watches,
 * 410 Gone, silent (half-open) watches, errors and throttling.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { KubeObject } from '../../../src/api/meta.js';
import { InformerFactory, INDEX_NAMESPACE, type SharedInformer } from '../../../src/kube/informer/index.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { resources } from '../../../src/kube/resource-ref.js';
import type { FaultAction, FaultInjector, FaultRequestInfo } from '../../../src/sandbox/apiserver/http/fault-injection.js';
import { MemoryStorage } from '../../../src/sandbox/apiserver/storage/memory-storage.js';
import { startHarness, waitFor, type Harness } from '../../support/api-server-harness.js';

const INFORMER_UA = 'kruise-ts/test (informer)';
const log = pino({ level: 'silent' });

/** Faults chosen by the test, applied only to the informer's own requests. */
class ScriptedFaults implements FaultInjector {
  next: ((info: FaultRequestInfo) => FaultAction | undefined) | undefined;
  beforeRequest(info: FaultRequestInfo): FaultAction {
    if (info.userAgent !== INFORMER_UA || !this.next) return { kind: 'none' };
    return this.next(info) ?? { kind: 'none' };
  }
}

interface Seen { type: 'add' | 'update' | 'delete'; name: string; rv: string }

function record(inf: SharedInformer): Seen[] {
  const seen: Seen[] = [];
  inf.addHandler({
    onAdd: (o) => seen.push({ type: 'add', name: o.metadata.name!, rv: o.metadata.resourceVersion! }),
    onUpdate: (_old, o) => seen.push({ type: 'update', name: o.metadata.name!, rv: o.metadata.resourceVersion! }),
    onDelete: (o) => seen.push({ type: 'delete', name: o.metadata.name!, rv: o.metadata.resourceVersion! }),
  });
  return seen;
}

/** The history a handler saw must be consistent: no delete or update of an unknown object, no double add. */
function assertConsistent(seen: Seen[]): Map<string, string> {
  const live = new Map<string, string>();
  for (const s of seen) {
    if (s.type === 'add') assert.ok(!live.has(s.name), `add of ${s.name} that was already known`);
    else assert.ok(live.has(s.name), `${s.type} of ${s.name} that was not known`);
    if (s.type === 'delete') live.delete(s.name); else live.set(s.name, s.rv);
  }
  return live;
}

function storeView(h: Harness, namespace: string): Map<string, string> {
  return new Map(h.server.storage.list('/configmaps', { namespace }).map((e) => [e.object.metadata.name!, e.object.metadata.resourceVersion!]));
}

function cacheView(inf: SharedInformer): Map<string, string> {
  return new Map(inf.cache.list().map((o) => [o.metadata.name!, o.metadata.resourceVersion!]));
}

const cm = (name: string, ns: string, data: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });

describe('SharedInformer', () => {
  let h: Harness;
  let faults: ScriptedFaults;
  let writer: KubeClient;
  let controllers: AbortController[] = [];

  before(async () => {
    faults = new ScriptedFaults();
    // A short event history so that resuming after a gap meets 410 Gone, as it does after etcd compaction.
    h = await startHarness({ crds: false, faults, storage: new MemoryStorage({ historyPerResource: 20 }), bookmarkIntervalMs: 200 });
    writer = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (writer)' });
  });
  afterEach(() => {
    faults.next = undefined;
    for (const c of controllers) c.abort();
    controllers = [];
  });
  after(async () => { writer.close(); await h.close(); });

  async function ns(name: string): Promise<string> {
    await writer.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  function startFactory(tuning: ConstructorParameters<typeof InformerFactory>[0]['tuning'] = {}): { factory: InformerFactory; client: KubeClient; counts: Map<string, number> } {
    const client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: INFORMER_UA, requestTimeoutMs: 2000 });
    const counts = new Map<string, number>();
    const bump = (k: string): void => { counts.set(k, (counts.get(k) ?? 0) + 1); };
    const metrics = { watchRestarted: (_r: string, reason: string) => bump(`restart:${reason}`), relisted: () => bump('relist'), eventReceived: () => bump('event') };
    const factory = new InformerFactory({ client, logger: log, metrics, tuning: { initialBackoffMs: 20, maxBackoffMs: 200, ...tuning } });
    return { factory, client, counts };
  }

  function run(factory: InformerFactory): AbortController {
    const ac = new AbortController();
    controllers.push(ac);
    void factory.start(ac.signal);
    return ac;
  }

  it('should list existing objects, sync, and follow adds, updates and deletes', async () => {
    const n = await ns('inf-basic');
    await writer.create(resources.configMaps, cm('a', n));
    const { factory } = startFactory();
    const inf = factory.informerFor(resources.configMaps, { namespace: n });
    const seen = record(inf);
    run(factory);
    await inf.waitForSync();
    assert.ok(inf.hasSynced());
    await writer.create(resources.configMaps, cm('b', n));
    await writer.patch(resources.configMaps, n, 'a', 'merge', { data: { x: '1' } });
    await writer.delete(resources.configMaps, n, 'b');
    await waitFor(() => seen.some((s) => s.type === 'delete' && s.name === 'b'), 'the delete of b');
    assert.deepEqual(seen.map((s) => `${s.type}:${s.name}`), ['add:a', 'add:b', 'update:a', 'delete:b']);
    assert.deepEqual(cacheView(inf), storeView(h, n));
    assert.equal(inf.cache.byIndex(INDEX_NAMESPACE, n).length, 1);
  });

  it('should share one informer per resource and scope', () => {
    const { factory } = startFactory();
    const a = factory.informerFor(resources.configMaps, { namespace: 'x' });
    assert.equal(factory.informerFor(resources.configMaps, { namespace: 'x' }), a);
    assert.notEqual(factory.informerFor(resources.configMaps, { namespace: 'y' }), a);
    assert.notEqual(factory.informerFor(resources.configMaps, { namespace: 'x', labelSelector: 'a=b' }), a);
  });

  it('should give a late handler an add for every cached object', async () => {
    const n = await ns('inf-late');
    await writer.create(resources.configMaps, cm('a', n));
    await writer.create(resources.configMaps, cm('b', n));
    const { factory } = startFactory();
    const inf = factory.informerFor(resources.configMaps, { namespace: n });
    run(factory);
    await inf.waitForSync();
    const seen = record(inf);
    await waitFor(() => seen.length === 2, 'two synthetic adds');
    assert.deepEqual(seen.map((s) => s.name).sort(), ['a', 'b']);
  });

  it('should resume a dropped watch from the last resourceVersion without duplicates', async () => {
    const n = await ns('inf-drop');
    const { factory } = startFactory();
    const inf = factory.informerFor(resources.configMaps, { namespace: n });
    const seen = record(inf);
    run(factory);
    await inf.waitForSync();
    await writer.create(resources.configMaps, cm('a', n));
    await waitFor(() => seen.length === 1, 'the first add');
    assert.ok(h.server.dropWatches() >= 1);
    await writer.create(resources.configMaps, cm('b', n));
    await waitFor(() => seen.length === 2, 'the add after the drop');
    assertConsistent(seen);
    assert.deepEqual(cacheView(inf), storeView(h, n));
  });

  it('should relist after 410 Gone and report exactly the differences, including deletes', async () => {
    const n = await ns('inf-gone');
    await writer.create(resources.configMaps, cm('keep', n));
    await writer.create(resources.configMaps, cm('gone', n));
    const { factory, counts } = startFactory();
    const inf = factory.informerFor(resources.configMaps, { namespace: n });
    const seen = record(inf);
    run(factory);
    await inf.waitForSync();
    // Cut the watch and hold every new watch off while enough writes happen to overrun the history.
    let blockWatches = true;
    faults.next = (info) => (info.watch && blockWatches ? { kind: 'status', code: 500 } : undefined);
    h.server.dropWatches();
    await writer.delete(resources.configMaps, n, 'gone');
    for (let i = 0; i < 30; i++) await writer.patch(resources.configMaps, 'default', 'filler', 'merge', {}).catch(() => writer.create(resources.configMaps, cm('filler', 'default', { i: String(i) })));
    for (let i = 0; i < 25; i++) await writer.create(resources.configMaps, cm(`n${i}`, n));
    blockWatches = false;
    await waitFor(() => seen.some((s) => s.type === 'delete' && s.name === 'gone') && inf.cache.size === 26, 'the relist to report the delete and the adds');
    const live = assertConsistent(seen);
    assert.deepEqual(live, storeView(h, n));
    assert.equal(seen.filter((s) => s.name === 'keep').length, 1, 'an unchanged object is not re-announced by a relist');
    assert.ok((counts.get('relist') ?? 0) >= 2, `relisted after 410 (counts: ${JSON.stringify([...counts])})`);
  });

  it('should restart a watch that has gone silent', async () => {
    const n = await ns('inf-silent');
    const { factory, counts } = startFactory({ watchSilenceTimeoutMs: 300 });
    const inf = factory.informerFor(resources.configMaps, { namespace: n });
    const seen = record(inf);
    let halfOpen = 0;
    faults.next = (info) => (info.watch && halfOpen++ === 0 ? { kind: 'half-open' } : undefined);
    run(factory);
    await inf.waitForSync();
    await writer.create(resources.configMaps, cm('late', n));
    await waitFor(() => seen.some((s) => s.name === 'late'), 'the event after the watchdog restarted the silent watch', 5000);
    assert.ok(halfOpen >= 2, 'a second watch was opened');
    assert.ok((counts.get('restart:silent') ?? 0) >= 1, 'the watchdog reported a silent watch');
  });

  it('should keep a correct cache under random faults and converge within 2 s once they stop', async () => {
    const n = await ns('inf-random');
    const { factory } = startFactory({ watchSilenceTimeoutMs: 500 });
    const inf = factory.informerFor(resources.configMaps, { namespace: n });
    const seen = record(inf);
    let seed = 12345;
    const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    let faulting = true;
    const pick = (): FaultAction => {
      const r = rand();
      if (r < 0.06) return { kind: 'status', code: 500 };
      if (r < 0.10) return { kind: 'status', code: 429, retryAfterSeconds: 0 };
      if (r < 0.14) return { kind: 'status', code: 410 };
      if (r < 0.18) return { kind: 'drop' };
      if (r < 0.22) return { kind: 'delay', ms: Math.floor(rand() * 50) };
      if (r < 0.24) return { kind: 'half-open' };
      if (r < 0.27) return { kind: 'lose-response' };
      return { kind: 'none' };
    };
    faults.next = () => (faulting ? pick() : undefined);
    run(factory);
    const names = Array.from({ length: 15 }, (_, i) => `o${i}`);
    for (let i = 0; i < 300; i++) {
      const name = names[Math.floor(rand() * names.length)]!;
      const op = rand();
      try {
        if (op < 0.4) await writer.create(resources.configMaps, cm(name, n, { v: String(i) }));
        else if (op < 0.8) await writer.patch(resources.configMaps, n, name, 'merge', { data: { v: String(i) } });
        else await writer.delete(resources.configMaps, n, name);
      } catch { /* AlreadyExists / NotFound are part of the random walk */ }
      if (i % 40 === 0) h.server.dropWatches();
    }
    faulting = false;
    const stoppedAt = Date.now();
    await waitFor(() => {
      const a = cacheView(inf), b = storeView(h, n);
      return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
    }, 'the cache to equal the store', 10_000);
    const converged = Date.now() - stoppedAt;
    await waitFor(() => {
      const live = assertConsistent(seen);
      const b = storeView(h, n);
      return live.size === b.size && [...live].every(([k, v]) => b.get(k) === v);
    }, 'the handler view to equal the store', 2000);
    assert.ok(converged <= 2000, `converged in ${converged} ms`);
  });
});
