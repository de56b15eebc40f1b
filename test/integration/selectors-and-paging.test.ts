/**
 * Lists: label selectors (equality and set-based), field selectors (metadata.name, metadata.namespace,
 * spec.nodeName, status.phase), and limit/continue paging as kubectl and informers use it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus } from '../support/integration-helpers.js';

interface PodSeed { name: string; ns: string; labels: Record<string, string>; node?: string; phase?: string }

const SEEDS: PodSeed[] = [
  { name: 'web-1', ns: 'sel-a', labels: { app: 'web', tier: 'front', env: 'prod' }, node: 'node-1', phase: 'Running' },
  { name: 'web-2', ns: 'sel-a', labels: { app: 'web', tier: 'front', env: 'dev' }, node: 'node-2', phase: 'Pending' },
  { name: 'db-1', ns: 'sel-a', labels: { app: 'db', tier: 'back' }, node: 'node-1', phase: 'Running' },
  { name: 'web-1', ns: 'sel-b', labels: { app: 'web', env: 'prod' }, phase: 'Failed' },
  { name: 'cache-1', ns: 'sel-b', labels: { app: 'cache' } },
];

describe('list selectors and paging', () => {
  let h: Harness;
  let core: CoreV1Api;
  const names = (pods: V1Pod[]): string[] => pods.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort();

  before(async () => {
    h = await startHarness({ crds: false });
    core = h.kubeConfig.makeApiClient(CoreV1Api);
    for (const ns of ['sel-a', 'sel-b']) await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const s of SEEDS) {
      await core.createNamespacedPod({
        namespace: s.ns,
        body: { metadata: { name: s.name, labels: s.labels }, spec: { containers: [{ name: 'c', image: 'i' }], ...(s.node ? { nodeName: s.node } : {}) } },
      });
      if (s.phase) await core.replaceNamespacedPodStatus({ name: s.name, namespace: s.ns, body: { ...(await core.readNamespacedPod({ name: s.name, namespace: s.ns })), status: { phase: s.phase } } });
    }
  });
  after(async () => { await h.close(); });

  const podsAll = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
    names((await core.listPodForAllNamespaces({ ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) })).items);

  it('selects by label equality and inequality', async () => {
    assert.deepEqual(await podsAll('app=web'), ['sel-a/web-1', 'sel-a/web-2', 'sel-b/web-1']);
    assert.deepEqual(await podsAll('app==web,env=prod'), ['sel-a/web-1', 'sel-b/web-1']);
    assert.deepEqual(await podsAll('app!=web'), ['sel-a/db-1', 'sel-b/cache-1']);
  });

  it('selects by set-based label requirements: in, notin, exists and does not exist', async () => {
    assert.deepEqual(await podsAll('app in (db,cache)'), ['sel-a/db-1', 'sel-b/cache-1']);
    assert.deepEqual(await podsAll('app notin (web),tier'), ['sel-a/db-1']);
    assert.deepEqual(await podsAll('env'), ['sel-a/web-1', 'sel-a/web-2', 'sel-b/web-1']);
    assert.deepEqual(await podsAll('!env'), ['sel-a/db-1', 'sel-b/cache-1']);
    assert.deepEqual(await podsAll('env notin (prod)'), ['sel-a/db-1', 'sel-a/web-2', 'sel-b/cache-1'], 'notin matches objects without the label');
  });

  it('refuses a label selector it cannot parse with 400', async () => {
    await rejectsWithStatus(core.listPodForAllNamespaces({ labelSelector: 'app in (web' }), 400, 'BadRequest');
    assertStatus(await h.request('GET', `/api/v1/pods?labelSelector=${encodeURIComponent('a=b=c')}`), 400, 'BadRequest');
  });

  it('selects by metadata.name and metadata.namespace', async () => {
    assert.deepEqual(await podsAll(undefined, 'metadata.name=web-1'), ['sel-a/web-1', 'sel-b/web-1']);
    assert.deepEqual(await podsAll(undefined, 'metadata.namespace=sel-b'), ['sel-b/cache-1', 'sel-b/web-1']);
    assert.deepEqual(await podsAll(undefined, 'metadata.name=web-1,metadata.namespace!=sel-a'), ['sel-b/web-1']);
    const inNs = await core.listNamespacedPod({ namespace: 'sel-a', fieldSelector: 'metadata.name=web-2' });
    assert.deepEqual(names(inNs.items), ['sel-a/web-2']);
  });

  it('selects pods by spec.nodeName, including unscheduled ones with an empty value', async () => {
    assert.deepEqual(await podsAll(undefined, 'spec.nodeName=node-1'), ['sel-a/db-1', 'sel-a/web-1']);
    assert.deepEqual(await podsAll(undefined, 'spec.nodeName='), ['sel-b/cache-1', 'sel-b/web-1']);
    assert.deepEqual(await podsAll(undefined, 'spec.nodeName!=node-1'), ['sel-a/web-2', 'sel-b/cache-1', 'sel-b/web-1']);
  });

  it('selects pods by status.phase and combines field and label selectors', async () => {
    assert.deepEqual(await podsAll(undefined, 'status.phase=Running'), ['sel-a/db-1', 'sel-a/web-1']);
    assert.deepEqual(await podsAll(undefined, 'status.phase!=Running,status.phase!=Pending'), ['sel-b/web-1']);
    assert.deepEqual(await podsAll('app=web', 'status.phase=Running,spec.nodeName=node-1'), ['sel-a/web-1']);
  });

  it('selects namespaces by status.phase', async () => {
    const list = await core.listNamespace({ fieldSelector: 'status.phase=Active,metadata.name=sel-a' });
    assert.deepEqual(list.items.map((n) => n.metadata?.name), ['sel-a']);
  });

  it('refuses an unsupported field label with 400', async () => {
    const s = await rejectsWithStatus(core.listNamespacedConfigMap({ namespace: 'sel-a', fieldSelector: 'data.x=1' }), 400, 'BadRequest');
    assert.match(s.message ?? '', /not a known field selector|field label not supported/);
    await rejectsWithStatus(core.listPodForAllNamespaces({ fieldSelector: 'spec.unknown=1' }), 400, 'BadRequest');
    await rejectsWithStatus(core.listPodForAllNamespaces({ fieldSelector: 'metadata.name' }), 400, 'BadRequest');
  });

  it('pages through a list with limit and continue, every object exactly once, in order', async () => {
    for (let i = 0; i < 23; i++) await core.createNamespacedConfigMap({ namespace: 'sel-a', body: { metadata: { name: `page-${String(i).padStart(2, '0')}`, labels: { paged: 'yes', odd: String(i % 2) } } } });
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: 'sel-a', labelSelector: 'paged=yes', limit: 5, ...(cont ? { _continue: cont } : {}) });
      pages++;
      assert.ok(page.items.length <= 5);
      seen.push(...page.items.map((c) => c.metadata!.name!));
      cont = page.metadata?._continue;
      if (cont) assert.equal(page.metadata?.remainingItemCount, 23 - seen.length);
    } while (cont);
    assert.equal(pages, 5);
    assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => `page-${String(i).padStart(2, '0')}`));
  });

  it('pages with a label selector that filters, with no empty pages and no continue token on the last page', async () => {
    const seen: string[] = [];
    let cont: string | undefined;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: 'sel-a', labelSelector: 'odd=1', limit: 4, ...(cont ? { _continue: cont } : {}) });
      assert.ok(page.items.length > 0);
      seen.push(...page.items.map((c) => c.metadata!.name!));
      cont = page.metadata?._continue;
    } while (cont);
    assert.equal(seen.length, 11);
  });

  it('keeps paging stable when objects are added behind the cursor', async () => {
    const first = await core.listNamespacedConfigMap({ namespace: 'sel-a', labelSelector: 'paged=yes', limit: 10 });
    await core.createNamespacedConfigMap({ namespace: 'sel-a', body: { metadata: { name: 'page-00a', labels: { paged: 'yes' } } } });
    const second = await core.listNamespacedConfigMap({ namespace: 'sel-a', labelSelector: 'paged=yes', limit: 100, _continue: first.metadata!._continue! });
    const all = [...first.items, ...second.items].map((c) => c.metadata!.name!);
    assert.equal(new Set(all).size, all.length, 'no object twice');
    await core.deleteNamespacedConfigMap({ name: 'page-00a', namespace: 'sel-a' });
  });

  it('refuses a malformed continue token with 400', async () => {
    await rejectsWithStatus(core.listNamespacedConfigMap({ namespace: 'sel-a', limit: 2, _continue: 'not-a-token' }), 400, 'BadRequest');
  });

  it('reports the list resourceVersion as the store resourceVersion at the time of the list', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'sel-a' });
    assert.equal(Number(list.metadata?.resourceVersion), h.server.storage.resourceVersion);
  });
});
