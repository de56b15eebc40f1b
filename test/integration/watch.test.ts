/**
 * Watch: informers (client-node makeInformer), resuming from a resourceVersion, 410 Gone for versions older than
 * the kept history, bookmarks on request, selector transitions and timeouts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { MemoryStorage } from '../../src/sandbox/apiserver/storage/memory-storage.js';
import { startHarness, waitFor, type Harness } from '../support/api-server-harness.js';
import { uniqueName } from '../support/integration-helpers.js';
import { openWatch, type WatchEvent, type WatchStream } from '../support/watch-stream.js';

const HISTORY = 20;

describe('watch', () => {
  let h: Harness;
  let core: CoreV1Api;
  const streams: WatchStream[] = [];
  const watch = async (path: string): Promise<WatchStream> => {
    const s = await openWatch(h, path);
    streams.push(s);
    return s;
  };
  const names = (evs: WatchEvent[]): string[] => evs.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`);

  before(async () => {
    h = await startHarness({ crds: false, storage: new MemoryStorage({ historyPerResource: HISTORY }), bookmarkIntervalMs: 50 });
    core = h.kubeConfig.makeApiClient(CoreV1Api);
  });
  after(async () => {
    for (const s of streams) s.close();
    await h.close();
  });

  it('feeds an informer with list then watch: adds, updates and deletes arrive in the cache', async () => {
    const ns = uniqueName('inf');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'before' }, data: { v: '0' } } });
    const informer = makeInformer<V1ConfigMap>(h.kubeConfig, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
    const log: string[] = [];
    informer.on('add', (o) => log.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => log.push(`update ${o.metadata?.name} ${o.data?.v}`));
    informer.on('delete', (o) => log.push(`delete ${o.metadata?.name}`));
    informer.on('error', (e) => log.push(`error ${String(e)}`));
    await informer.start();
    try {
      await waitFor(() => informer.get('before', ns), 'the listed object in the cache');
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after' }, data: { v: '1' } } });
      await core.patchNamespacedConfigMap({ name: 'after', namespace: ns, body: [{ op: 'replace', path: '/data/v', value: '2' }] });
      await core.deleteNamespacedConfigMap({ name: 'before', namespace: ns });
      await waitFor(() => informer.get('after', ns)?.data?.v === '2' && informer.get('before', ns) === undefined, 'the cache to follow the writes');
      assert.deepEqual(log, ['add before', 'add after', 'update after 2', 'delete before']);
      assert.deepEqual(informer.list(ns).map((c) => c.metadata?.name), ['after']);
    } finally {
      await informer.stop();
    }
  });

  it('resumes from a resourceVersion with every later change exactly once and in order', async () => {
    const ns = uniqueName('res');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const a = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'a' } } });
    const from = a.metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'b' } } });
    await core.patchNamespacedConfigMap({ name: 'a', namespace: ns, body: [{ op: 'add', path: '/data', value: { x: '1' } }] });
    const s = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${from}`);
    assert.equal(s.status, 200);
    await core.deleteNamespacedConfigMap({ name: 'b', namespace: ns });
    await waitFor(() => s.events.length >= 3, 'three events');
    assert.deepEqual(names(s.events), ['ADDED b', 'MODIFIED a', 'DELETED b']);
    const rvs = s.events.map((e) => Number(e.object.metadata?.resourceVersion));
    for (let i = 1; i < rvs.length; i++) assert.ok(rvs[i]! > rvs[i - 1]!);
    assert.ok(rvs[0]! > Number(from));
  });

  it('starts with synthetic ADDED events for the current state when no resourceVersion is given', async () => {
    const ns = uniqueName('init');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const n of ['x', 'y']) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: n } } });
    const s = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=1`);
    await waitFor(() => s.events.length >= 2, 'initial events');
    assert.deepEqual(names(s.events), ['ADDED x', 'ADDED y']);
  });

  it('answers a watch from a resourceVersion older than the kept history with a 410 Expired ERROR event', async () => {
    const ns = uniqueName('old');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const first = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'first' } } });
    for (let i = 0; i < HISTORY + 5; i++) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `n${i}` } } });
    const s = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${first.metadata!.resourceVersion}`);
    await s.ended;
    assert.equal(s.events.length, 1);
    const ev = s.events[0]!;
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.kind, 'Status');
    assert.equal(ev.object.code, 410);
    assert.equal(ev.object.reason, 'Expired');
  });

  it('lets an informer recover from 410 by relisting', async () => {
    const ns = uniqueName('relist');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const informer = makeInformer<V1ConfigMap>(h.kubeConfig, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
    await informer.start();
    try {
      for (let i = 0; i < HISTORY + 5; i++) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `c${i}` } } });
      await waitFor(() => informer.list(ns).length === HISTORY + 5, 'every object in the cache');
    } finally {
      await informer.stop();
    }
  });

  it('watches a resource that was never written from a list resourceVersion taken before other writes', async () => {
    // The list of an empty resource returns the store's resourceVersion; a write to another resource before the
    // watch starts must not make that version "too old" for this one.
    const list = await core.listNamespacedPersistentVolumeClaim({ namespace: 'default' });
    assert.equal(list.items.length, 0);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: uniqueName('other') } } });
    const s = await watch(`/api/v1/namespaces/default/persistentvolumeclaims?watch=true&resourceVersion=${list.metadata!.resourceVersion}`);
    await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: { metadata: { name: 'claim' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } });
    await waitFor(() => s.events.length >= 1, 'the claim event');
    assert.deepEqual(names(s.events), ['ADDED claim']);
  });

  it('sends BOOKMARK events only when asked, carrying the current resourceVersion', async () => {
    const ns = uniqueName('bm');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const rv = (await core.listNamespacedConfigMap({ namespace: ns })).metadata!.resourceVersion!;
    const withBm = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`);
    const without = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}`);
    await waitFor(() => withBm.events.filter((e) => e.type === 'BOOKMARK').length >= 2, 'two bookmarks');
    const bm = withBm.events.find((e) => e.type === 'BOOKMARK')!;
    assert.equal(bm.object.kind, 'ConfigMap');
    assert.ok(Number(bm.object.metadata?.resourceVersion) >= Number(rv));
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'marker' } } });
    await waitFor(() => without.events.length >= 1, 'the marker event');
    assert.deepEqual(names(without.events), ['ADDED marker']);
  });

  it('ends the initial events with an annotated bookmark for sendInitialEvents', async () => {
    const ns = uniqueName('sie');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'one' } } });
    const s = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`);
    await waitFor(() => s.events.length >= 2, 'initial event and bookmark');
    assert.equal(s.events[0]!.type, 'ADDED');
    assert.equal(s.events[1]!.type, 'BOOKMARK');
    assert.equal(s.events[1]!.object.metadata?.annotations?.['k8s.io/initial-events-end'], 'true');
  });

  it('turns selector transitions into ADDED and DELETED for a filtered watch', async () => {
    const ns = uniqueName('sel');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'm', labels: { pick: 'no' } } } });
    const s = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&labelSelector=pick%3Dyes`);
    const merge = (labels: Record<string, string>) => h.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/m`, { metadata: { labels } }, { 'Content-Type': 'application/merge-patch+json' });
    await merge({ pick: 'yes' });
    await merge({ pick: 'yes', other: '1' });
    await merge({ pick: 'no' });
    await waitFor(() => s.events.length >= 3, 'three events');
    assert.deepEqual(names(s.events), ['ADDED m', 'MODIFIED m', 'DELETED m']);
  });

  it('filters a watch by a field selector on metadata.name', async () => {
    const ns = uniqueName('fsel');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const s = await watch(`/api/v1/namespaces/${ns}/configmaps?watch=true&fieldSelector=metadata.name%3Dwanted`);
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'unwanted' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'wanted' } } });
    await waitFor(() => s.events.length >= 1, 'the wanted event');
    assert.deepEqual(names(s.events), ['ADDED wanted']);
  });

  it('ends a watch after timeoutSeconds', async () => {
    const s = await watch('/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=0');
    await waitFor(() => s.isEnded(), 'the watch to end', 5000);
  });

  it('sees every write of a resource made across namespaces in a cluster-wide watch', async () => {
    const rv = String(h.server.storage.resourceVersion);
    const s = await watch(`/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
    const made: string[] = [];
    for (const ns of ['default', 'kube-public']) {
      const n = uniqueName('cw');
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: n } } });
      made.push(`ADDED ${n}`);
    }
    await waitFor(() => s.events.length >= 2, 'both events');
    assert.deepEqual(names(s.events), made);
  });
});
