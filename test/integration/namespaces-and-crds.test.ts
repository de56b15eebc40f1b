/**
 * Namespace lifecycle (Terminating, content removal, 403 for new content) and CRD lifecycle through the API:
 * Established, discovery, and removal of every custom resource before the definition goes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { startHarness, waitFor, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus, uniqueName } from '../support/integration-helpers.js';

function widgetCrd(group: string): V1CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group, scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }],
    },
  };
}

describe('namespaces and CRD lifecycle', () => {
  let h: Harness;
  let core: CoreV1Api;
  let ext: ApiextensionsV1Api;
  let custom: CustomObjectsApi;
  before(async () => {
    h = await startHarness({ crds: false });
    core = h.kubeConfig.makeApiClient(CoreV1Api);
    ext = h.kubeConfig.makeApiClient(ApiextensionsV1Api);
    custom = h.kubeConfig.makeApiClient(CustomObjectsApi);
  });
  after(async () => { await h.close(); });

  const nsGone = async (name: string): Promise<boolean> => {
    try { await core.readNamespace({ name }); return false; } catch (e) { return (e as { code?: number }).code === 404; }
  };

  it('refuses an invalid namespace name (DNS-1123 label) with 422', async () => {
    const s = await rejectsWithStatus(core.createNamespace({ body: { metadata: { name: 'Not_Valid' } } }), 422, 'Invalid');
    assert.equal(s.details?.causes?.[0]?.field, 'metadata.name');
    await rejectsWithStatus(core.createNamespace({ body: { metadata: { name: 'a.b' } } }), 422, 'Invalid');
  });

  it('terminates a namespace: phase Terminating, new content Forbidden, content deleted, then the namespace goes', async () => {
    const ns = uniqueName('term');
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'free' } } });
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    await core.deleteNamespace({ name: ns });
    const terminating = await core.readNamespace({ name: ns });
    assert.equal(terminating.status?.phase, 'Terminating');
    assert.ok(terminating.metadata?.deletionTimestamp);
    const s = await rejectsWithStatus(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'late' } } }), 403, 'Forbidden');
    assert.match(s.message ?? '', /being terminated/);
    await waitFor(async () => (await core.listNamespacedConfigMap({ namespace: ns })).items.every((c) => c.metadata?.deletionTimestamp), 'content to be deleted');
    await waitFor(async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0, 'pods to go');
    await h.server.idle();
    assert.ok(!(await nsGone(ns)), 'the namespace waits for the finalizer of its content');
    await core.patchNamespacedConfigMap({ name: 'held', namespace: ns, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await waitFor(() => nsGone(ns), 'the namespace to go');
  });

  it('does not let an update change a namespace spec or clear its Terminating phase', async () => {
    const ns = uniqueName('spec');
    const created = await core.createNamespace({ body: { metadata: { name: ns } } });
    const upd = await core.replaceNamespace({ name: ns, body: { ...created, metadata: { ...created.metadata, labels: { a: 'b' } }, spec: { finalizers: ['custom'] } } });
    assert.deepEqual(upd.metadata?.labels, { a: 'b' });
    assert.deepEqual(upd.spec?.finalizers ?? [], created.spec?.finalizers ?? []);
  });

  it('establishes a CRD created through the API and serves its resource at once, in discovery too', async () => {
    const group = `${uniqueName('g')}.example.com`;
    const crd = await ext.createCustomResourceDefinition({ body: widgetCrd(group) });
    assert.ok(crd.metadata?.uid);
    await waitFor(async () => (await ext.readCustomResourceDefinition({ name: `widgets.${group}` })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'), 'Established');
    const disc = await h.request('GET', `/apis/${group}/v1`);
    assert.equal(disc.status, 200);
    const resources = (disc.json as { resources: { name: string; kind: string; namespaced: boolean; shortNames?: string[] }[] }).resources;
    assert.ok(resources.some((r) => r.name === 'widgets' && r.kind === 'Widget' && r.namespaced && r.shortNames?.includes('wd')));
    const w = await custom.createNamespacedCustomObject({ group, version: 'v1', namespace: 'default', plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } } }) as { metadata: { generation: number } };
    assert.equal(w.metadata.generation, 1);
  });

  it('removes every custom resource before the CRD goes, and stops serving the resource', async () => {
    const group = `${uniqueName('g')}.example.com`;
    await ext.createCustomResourceDefinition({ body: widgetCrd(group) });
    for (const ns of ['default', 'kube-public']) {
      for (let i = 0; i < 3; i++) await custom.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: `w${i}` } } });
    }
    await ext.deleteCustomResourceDefinition({ name: `widgets.${group}` });
    await waitFor(async () => {
      try { await ext.readCustomResourceDefinition({ name: `widgets.${group}` }); return false; } catch (e) { return (e as { code?: number }).code === 404; }
    }, 'the CRD to go');
    assertStatus(await h.request('GET', `/apis/${group}/v1/namespaces/default/widgets`), 404, 'NotFound');
    // Recreated, it starts empty.
    await ext.createCustomResourceDefinition({ body: widgetCrd(group) });
    const list = await custom.listClusterCustomObject({ group, version: 'v1', plural: 'widgets' }) as { items: unknown[] };
    assert.equal(list.items.length, 0);
  });

  it('refuses an invalid CRD with 422 and does not serve it', async () => {
    const group = `${uniqueName('g')}.example.com`;
    const bad = widgetCrd(group);
    bad.metadata = { name: `wrong.${group}` };
    await rejectsWithStatus(ext.createCustomResourceDefinition({ body: bad }), 422, 'Invalid');
    assertStatus(await h.request('GET', `/apis/${group}/v1/namespaces/default/widgets`), 404, 'NotFound');
  });

  it('refuses to change the group of a CRD with 422', async () => {
    const group = `${uniqueName('g')}.example.com`;
    const crd = await ext.createCustomResourceDefinition({ body: widgetCrd(group) });
    const r = await h.request('PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.${group}`, { spec: { group: `other.${group}` } }, { 'Content-Type': 'application/merge-patch+json' });
    assertStatus(r, 422, 'Invalid');
    assert.equal((await ext.readCustomResourceDefinition({ name: `widgets.${group}` })).spec.group, crd.spec.group);
  });
});
