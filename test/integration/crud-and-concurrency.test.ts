/**
 * Object lifecycle semantics through client-node's typed clients and the generic object API: system metadata,
 * one increasing resourceVersion, generation, generateName, scope, optimistic concurrency and dry runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus, uniqueName } from '../support/integration-helpers.js';

const deployment = (name: string, replicas = 1) => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
  },
});

describe('create, read, update and delete with Kubernetes semantics', () => {
  let h: Harness;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let objects: KubernetesObjectApi;
  before(async () => {
    h = await startHarness({ crds: false });
    core = h.kubeConfig.makeApiClient(CoreV1Api);
    apps = h.kubeConfig.makeApiClient(AppsV1Api);
    objects = KubernetesObjectApi.makeApiClient(h.kubeConfig);
  });
  after(async () => { await h.close(); });

  it('sets uid, creationTimestamp and a resourceVersion on create and ignores client-set system fields', async () => {
    const name = uniqueName('cm');
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name, uid: 'client-chosen', creationTimestamp: new Date('2000-01-01T00:00:00Z') }, data: { a: '1' } },
    });
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.notEqual(created.metadata?.uid, 'client-chosen');
    assert.ok(created.metadata?.creationTimestamp instanceof Date);
    assert.ok(created.metadata.creationTimestamp.getUTCFullYear() >= 2024);
    assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.equal(created.metadata?.namespace, 'default');
  });

  it('rejects a create that carries a resourceVersion with 400', async () => {
    const r = await h.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: uniqueName('cm'), resourceVersion: '5' } });
    assertStatus(r, 400, 'BadRequest');
  });

  it('gives every write a larger resourceVersion than the one before, across kinds', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: uniqueName('rv') } } });
      seen.push(Number(cm.metadata?.resourceVersion));
      const sa = await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: uniqueName('sa') } } });
      seen.push(Number(sa.metadata?.resourceVersion));
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `resourceVersion ${seen[i]} after ${seen[i - 1]}`);
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    assert.ok(Number(list.metadata?.resourceVersion) >= seen[seen.length - 1]!);
  });

  it('bumps generation on spec changes only, not on label or status changes', async () => {
    const name = uniqueName('dep');
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(name) });
    assert.equal(created.metadata?.generation, 1);
    const labelled = await apps.replaceNamespacedDeployment({
      name, namespace: 'default',
      body: { ...created, metadata: { ...created.metadata, labels: { ...created.metadata?.labels, extra: 'x' } } },
    });
    assert.equal(labelled.metadata?.generation, 1);
    assert.ok(Number(labelled.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
    const status = await apps.replaceNamespacedDeploymentStatus({ name, namespace: 'default', body: { ...labelled, status: { replicas: 1, observedGeneration: 1 } } });
    assert.equal(status.metadata?.generation, 1);
    assert.equal(status.status?.replicas, 1);
    const scaled = await apps.replaceNamespacedDeployment({ name, namespace: 'default', body: { ...status, spec: { ...status.spec!, replicas: 3 } } });
    assert.equal(scaled.metadata?.generation, 2);
    assert.equal(scaled.status?.replicas, 1, 'an update of the main resource keeps the status');
  });

  it('does not write, bump the resourceVersion or the generation for an update that changes nothing', async () => {
    const name = uniqueName('dep');
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment(name) });
    const same = await apps.replaceNamespacedDeployment({ name, namespace: 'default', body: created });
    assert.equal(same.metadata?.resourceVersion, created.metadata?.resourceVersion);
    assert.equal(same.metadata?.generation, 1);
  });

  it('names an object from generateName with a random suffix', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { generateName: 'gen-' } } });
    const b = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { generateName: 'gen-' } } });
    assert.match(a.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);
    assert.notEqual(a.metadata?.name, b.metadata?.name);
    assert.equal(a.metadata?.generateName, 'gen-');
  });

  it('serves cluster-scoped kinds without a namespace and refuses them under one', async () => {
    const name = uniqueName('ns');
    const ns = await core.createNamespace({ body: { metadata: { name } } });
    assert.equal(ns.metadata?.namespace, undefined);
    assert.equal(ns.status?.phase, 'Active');
    const r = await h.request('GET', `/api/v1/namespaces/default/nodes`);
    assertStatus(r, 404, 'NotFound');
    const node = await core.createNode({ body: { metadata: { name: uniqueName('node'), namespace: 'ignored' } } });
    assert.equal(node.metadata?.namespace, undefined);
  });

  it('keeps objects of the same name in different namespaces apart', async () => {
    const nsName = uniqueName('ns');
    await core.createNamespace({ body: { metadata: { name: nsName } } });
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { where: 'default' } } });
    await core.createNamespacedConfigMap({ namespace: nsName, body: { metadata: { name }, data: { where: nsName } } });
    assert.equal((await core.readNamespacedConfigMap({ name, namespace: nsName })).data?.where, nsName);
    assert.equal((await core.readNamespacedConfigMap({ name, namespace: 'default' })).data?.where, 'default');
  });

  it('refuses a body whose namespace differs from the path with 400', async () => {
    const r = await h.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: uniqueName('cm'), namespace: 'kube-system' } });
    assertStatus(r, 400, 'BadRequest');
  });

  it('refuses to create in a namespace that does not exist with 404', async () => {
    await rejectsWithStatus(core.createNamespacedConfigMap({ namespace: 'no-such-namespace', body: { metadata: { name: 'x' } } }), 404, 'NotFound');
  });

  it('answers AlreadyExists with 409 and details for a taken name', async () => {
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    const s = await rejectsWithStatus(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } }), 409, 'AlreadyExists');
    assert.equal(s.details?.name, name);
    assert.equal(s.details?.kind, 'configmaps');
    assert.equal(s.message, `configmaps "${name}" already exists`);
  });

  it('answers NotFound with 404 for reads, updates, patches and deletes of a missing object', async () => {
    const s = await rejectsWithStatus(core.readNamespacedConfigMap({ name: 'missing', namespace: 'default' }), 404, 'NotFound');
    assert.equal(s.message, 'configmaps "missing" not found');
    await rejectsWithStatus(core.replaceNamespacedConfigMap({ name: 'missing', namespace: 'default', body: { metadata: { name: 'missing' } } }), 404, 'NotFound');
    await rejectsWithStatus(core.deleteNamespacedConfigMap({ name: 'missing', namespace: 'default' }), 404, 'NotFound');
    assertStatus(await h.request('PATCH', '/api/v1/namespaces/default/configmaps/missing', { data: {} }, { 'Content-Type': 'application/merge-patch+json' }), 404, 'NotFound');
  });

  it('answers a stale resourceVersion on update with 409 Conflict and keeps the stored object', async () => {
    const name = uniqueName('cm');
    const v1 = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { v: '1' } } });
    const v2 = await core.replaceNamespacedConfigMap({ name, namespace: 'default', body: { ...v1, data: { v: '2' } } });
    const s = await rejectsWithStatus(core.replaceNamespacedConfigMap({ name, namespace: 'default', body: { ...v1, data: { v: 'stale' } } }), 409, 'Conflict');
    assert.match(s.message ?? '', /the object has been modified; please apply your changes to the latest version and try again/);
    const now = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    assert.equal(now.data?.v, '2');
    assert.equal(now.metadata?.resourceVersion, v2.metadata?.resourceVersion);
  });

  it('lets exactly one of many concurrent writers with the same resourceVersion win', async () => {
    const name = uniqueName('cm');
    const base = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { v: '0' } } });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) =>
      core.replaceNamespacedConfigMap({ name, namespace: 'default', body: { ...base, data: { v: String(i + 1) } } })));
    const ok = results.filter((r): r is PromiseFulfilledResult<V1ConfigMap> => r.status === 'fulfilled');
    assert.equal(ok.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: number }).code, 409);
    const now = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    assert.equal(now.data?.v, ok[0]!.value.data?.v);
  });

  it('applies concurrent merge patches without a resourceVersion one after the other, losing none', async () => {
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    await Promise.all(Array.from({ length: 10 }, (_, i) =>
      h.request('PATCH', `/api/v1/namespaces/default/configmaps/${name}`, { data: { [`k${i}`]: String(i) } }, { 'Content-Type': 'application/merge-patch+json' })));
    const now = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    assert.equal(Object.keys(now.data ?? {}).length, 10);
  });

  it('checks delete preconditions on uid and resourceVersion', async () => {
    const name = uniqueName('cm');
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    await rejectsWithStatus(core.deleteNamespacedConfigMap({ name, namespace: 'default', body: { preconditions: { uid: 'other' } } }), 409, 'Conflict');
    await rejectsWithStatus(core.deleteNamespacedConfigMap({ name, namespace: 'default', body: { preconditions: { resourceVersion: '1' } } }), 409, 'Conflict');
    await core.deleteNamespacedConfigMap({ name, namespace: 'default', body: { preconditions: { uid: cm.metadata!.uid!, resourceVersion: cm.metadata!.resourceVersion! } } });
    await rejectsWithStatus(core.readNamespacedConfigMap({ name, namespace: 'default' }), 404, 'NotFound');
  });

  it('treats a uid in an update or patch body as a precondition: 409 when it names another object', async () => {
    const name = uniqueName('cm');
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { a: '1' } } });
    const path = `/api/v1/namespaces/default/configmaps/${name}`;
    for (const [method, body, type] of [
      ['PATCH', { metadata: { uid: 'someone-else' }, data: { a: '2' } }, 'application/merge-patch+json'],
      ['PUT', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', uid: 'someone-else' }, data: { a: '2' } }, 'application/json'],
    ] as const) {
      const r = await h.request(method, path, body, { 'Content-Type': type });
      assert.equal(r.status, 409, `${method}: ${JSON.stringify(r.json)}`);
      assert.match((r.json as { message: string }).message, /Precondition failed: UID in precondition: someone-else, UID in object meta: /);
    }
    assert.deepEqual((await core.readNamespacedConfigMap({ name, namespace: 'default' })).data, { a: '1' }, 'nothing written');
    const ok = await h.request('PATCH', path, { metadata: { uid: cm.metadata!.uid }, data: { a: '3' } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(ok.status, 200, 'the right uid passes');
  });

  it('answers a delete with a Success Status for most kinds and with the object for pods', async () => {
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    const r = await h.request('DELETE', `/api/v1/namespaces/default/configmaps/${name}`);
    assert.equal(r.status, 200);
    assert.equal((r.json as { kind: string; status: string }).kind, 'Status');
    assert.equal((r.json as { status: string }).status, 'Success');
    const pod = uniqueName('pod');
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: pod }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    const deleted = await core.deleteNamespacedPod({ name: pod, namespace: 'default' });
    assert.equal(deleted.kind, 'Pod');
  });

  it('deletes a collection by label selector and leaves the others', async () => {
    const tag = uniqueName('tag');
    for (let i = 0; i < 3; i++) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `${tag}-${i}`, labels: { tag, i: String(i) } } } });
    await core.deleteCollectionNamespacedConfigMap({ namespace: 'default', labelSelector: `tag=${tag},i!=2` });
    const left = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: `tag=${tag}` });
    assert.deepEqual(left.items.map((c) => c.metadata?.name), [`${tag}-2`]);
  });

  it('does nothing with dryRun=All: create, update, patch and delete answer as if done but store nothing', async () => {
    const name = uniqueName('cm');
    const dry = await core.createNamespacedConfigMap({ namespace: 'default', dryRun: 'All', body: { metadata: { name }, data: { a: '1' } } });
    assert.equal(dry.metadata?.name, name);
    assert.ok(dry.metadata?.uid);
    await rejectsWithStatus(core.readNamespacedConfigMap({ name, namespace: 'default' }), 404, 'NotFound');

    const real = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { a: '1' } } });
    const rvBefore = h.server.storage.resourceVersion;
    const upd = await core.replaceNamespacedConfigMap({ name, namespace: 'default', dryRun: 'All', body: { ...real, data: { a: '2' } } });
    assert.equal(upd.data?.a, '2');
    const patched = await h.request('PATCH', `/api/v1/namespaces/default/configmaps/${name}?dryRun=All`, { data: { a: '3' } }, { 'Content-Type': 'application/merge-patch+json' });
    assert.equal(patched.status, 200);
    await core.deleteNamespacedConfigMap({ name, namespace: 'default', dryRun: 'All' });
    const now = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    assert.equal(now.data?.a, '1');
    assert.equal(h.server.storage.resourceVersion, rvBefore, 'no write happened');
  });

  it('refuses a dryRun value other than All with 400', async () => {
    assertStatus(await h.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=Yes', { metadata: { name: 'x' } }), 400, 'BadRequest');
  });

  it('creates, reads, replaces, patches, lists and deletes through the generic KubernetesObjectApi', async () => {
    const name = uniqueName('obj');
    const spec: KubernetesObject & { data?: Record<string, string> } = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: '1' } };
    const created = await objects.create(spec);
    assert.ok(created.metadata?.uid);
    const read = await objects.read<KubernetesObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } });
    assert.equal(read.data?.a, '1');
    const replaced = await objects.replace({ ...read, data: { a: '2' } });
    assert.equal((replaced as { data?: Record<string, string> }).data?.a, '2');
    const patched = await objects.patch({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { b: '3' } } as KubernetesObject,
      undefined, undefined, undefined, undefined, 'application/merge-patch+json');
    assert.deepEqual((patched as { data?: Record<string, string> }).data, { a: '2', b: '3' });
    const list = await objects.list('v1', 'ConfigMap', 'default', undefined, undefined, undefined, `metadata.name=${name}`);
    assert.equal(list.items.length, 1);
    const dep = await objects.create({ apiVersion: 'apps/v1', kind: 'Deployment', ...deployment(name), metadata: { name, namespace: 'default' } } as KubernetesObject);
    assert.equal(dep.metadata?.generation, 1);
    await objects.delete({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } });
    await rejectsWithStatus(objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } }), 404, 'NotFound');
  });

  it('answers 401 Unauthorized for a wrong token and for no token, on reads and writes', async () => {
    for (const auth of ['', 'Bearer wrong', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      assertStatus(await h.request('GET', '/api/v1/namespaces/default/configmaps', undefined, { Authorization: auth }), 401, 'Unauthorized');
      assertStatus(await h.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } }, { Authorization: auth }), 401, 'Unauthorized');
    }
    assertStatus(await h.request('GET', '/apis', undefined, { Authorization: '' }), 401, 'Unauthorized');
  });
});
