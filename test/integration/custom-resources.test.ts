/**
 * Custom resources served from CRDs: schema validation (422 with causes), defaults, pruning of unknown fields
 * and fieldValidation=Strict, status and scale subresources, cluster scope; and our CloneSet CRD from deploy/crds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ApiextensionsV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';

type Header = Parameters<KubernetesObjectApi['read']>[0];
import { startHarness, waitFor, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus, uniqueName } from '../support/integration-helpers.js';

const GROUP = 'test.kruise-ts.io';
const GADGETS = `/apis/${GROUP}/v1/namespaces/default/gadgets`;

// Plain objects sent raw: client-node's typed serializer renames schema keys (`enum`, `default`, x-kubernetes-*).
const GADGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
  metadata: { name: `gadgets.${GROUP}` },
  spec: {
    group: GROUP, scope: 'Namespaced',
    names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
    versions: [{
      name: 'v1', served: true, storage: true,
      subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
      schema: {
        openAPIV3Schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object', required: ['color'],
              properties: {
                color: { type: 'string', enum: ['red', 'green', 'blue'] },
                replicas: { type: 'integer', minimum: 0, default: 1 },
                mode: { type: 'string', default: 'auto', pattern: '^[a-z]+$' },
                tags: { type: 'array', maxItems: 3, items: { type: 'string' } },
                extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
            status: { type: 'object', properties: { replicas: { type: 'integer' }, phase: { type: 'string' } } },
          },
        },
      },
    }],
  },
};

const THINGS_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
  metadata: { name: `things.${GROUP}` },
  spec: {
    group: GROUP, scope: 'Cluster',
    names: { plural: 'things', singular: 'thing', kind: 'Thing' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

interface Gadget extends KubernetesObject {
  spec?: { color?: string; replicas?: number; mode?: string; tags?: string[]; extra?: Record<string, unknown>; [k: string]: unknown };
  status?: { replicas?: number; phase?: string };
}

describe('custom resources', () => {
  let h: Harness;
  let objects: KubernetesObjectApi;
  let custom: CustomObjectsApi;
  const gadget = (name: string, spec: Record<string, unknown>): Gadget => ({ apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name, namespace: 'default' }, spec });

  before(async () => {
    h = await startHarness();
    objects = KubernetesObjectApi.makeApiClient(h.kubeConfig);
    custom = h.kubeConfig.makeApiClient(CustomObjectsApi);
    const ext = h.kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const crd of [GADGET_CRD, THINGS_CRD]) {
      const r = await h.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      assert.equal(r.status, 201, r.text);
    }
    await waitFor(async () => (await ext.readCustomResourceDefinition({ name: `gadgets.${GROUP}` })).status?.conditions?.some((c) => c.type === 'Established'), 'Established');
  });
  after(async () => { await h.close(); });

  it('applies schema defaults on create', async () => {
    const g = await objects.create(gadget(uniqueName('g'), { color: 'red' }));
    assert.equal(g.spec?.replicas, 1);
    assert.equal(g.spec?.mode, 'auto');
    assert.equal(g.metadata?.generation, 1);
  });

  it('prunes unknown fields but keeps those under x-kubernetes-preserve-unknown-fields, with a warning', async () => {
    const name = uniqueName('g');
    const r = await h.request('POST', GADGETS, { apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name }, spec: { color: 'blue', bogus: 1, extra: { anything: { goes: true } } }, topLevel: 'x' });
    assert.equal(r.status, 201, r.text);
    const g = r.json as Gadget & { topLevel?: string };
    assert.equal(g.spec?.bogus, undefined);
    assert.equal(g.topLevel, undefined);
    assert.deepEqual(g.spec?.extra, { anything: { goes: true } });
    assert.match(r.headers.get('warning') ?? '', /299 - "unknown field \\"spec\.bogus\\""/);
    const stored = await objects.read<Gadget>({ apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name, namespace: 'default' } });
    assert.equal(stored.spec?.bogus, undefined);
  });

  it('refuses unknown fields with fieldValidation=Strict with 400 and stores nothing', async () => {
    const name = uniqueName('g');
    const r = await h.request('POST', `${GADGETS}?fieldValidation=Strict`, { apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name }, spec: { color: 'blue', bogus: 1 } });
    const s = assertStatus(r, 400, 'BadRequest');
    assert.match(s.message ?? '', /strict decoding error: unknown field "spec.bogus"/);
    assertStatus(await h.request('GET', `${GADGETS}/${name}`), 404, 'NotFound');
    // Ignore drops them silently.
    const ig = await h.request('POST', `${GADGETS}?fieldValidation=Ignore`, { apiVersion: `${GROUP}/v1`, kind: 'Gadget', metadata: { name }, spec: { color: 'blue', bogus: 1 } });
    assert.equal(ig.status, 201);
    assert.equal(ig.headers.get('warning'), null);
  });

  it('refuses schema violations with 422 and one cause per field', async () => {
    const s = await rejectsWithStatus(objects.create(gadget(uniqueName('g'), { color: 'purple', replicas: -1, mode: 'UPPER', tags: ['a', 'b', 'c', 'd'] })), 422, 'Invalid');
    const fields = (s.details?.causes ?? []).map((c) => c.field).sort();
    assert.deepEqual(fields, ['spec.color', 'spec.mode', 'spec.replicas', 'spec.tags']);
    assert.equal(s.details?.kind, 'Gadget');
    assert.equal(s.details?.group, GROUP);
    const missing = await rejectsWithStatus(objects.create(gadget(uniqueName('g'), {})), 422, 'Invalid');
    assert.equal(missing.details?.causes?.[0]?.field, 'spec.color');
    const wrongType = await rejectsWithStatus(objects.create(gadget(uniqueName('g'), { color: 'red', replicas: 'three' })), 422, 'Invalid');
    assert.equal(wrongType.details?.causes?.[0]?.field, 'spec.replicas');
  });

  it('validates updates and patches against the schema and leaves the stored object on failure', async () => {
    const name = uniqueName('g');
    const g = await objects.create(gadget(name, { color: 'red' }));
    await rejectsWithStatus(objects.replace({ ...g, spec: { ...g.spec, color: 'black' } }), 422, 'Invalid');
    const r = await h.request('PATCH', `${GADGETS}/${name}`, { spec: { replicas: -5 } }, { 'Content-Type': 'application/merge-patch+json' });
    assertStatus(r, 422, 'Invalid');
    const now = await objects.read<Gadget>(g as Header);
    assert.equal(now.metadata?.resourceVersion, g.metadata?.resourceVersion);
  });

  it('requires a resourceVersion on update of a custom resource', async () => {
    const name = uniqueName('g');
    const g = await objects.create(gadget(name, { color: 'red' }));
    const r = await h.request('PUT', `${GADGETS}/${name}`, { ...g, metadata: { name, namespace: 'default' } });
    assertStatus(r, 422, 'Invalid');
  });

  it('refuses a strategic merge patch on a custom resource with 415', async () => {
    const name = uniqueName('g');
    await objects.create(gadget(name, { color: 'red' }));
    assertStatus(await h.request('PATCH', `${GADGETS}/${name}`, { spec: { color: 'blue' } }, { 'Content-Type': 'application/strategic-merge-patch+json' }), 415, 'UnsupportedMediaType');
  });

  it('bumps generation on spec changes and not on status changes through /status', async () => {
    const name = uniqueName('g');
    const g = await objects.create(gadget(name, { color: 'red' }));
    const st = await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: 'v1', namespace: 'default', plural: 'gadgets', name, body: { status: { phase: 'Ready', replicas: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)) as Gadget;
    assert.equal(st.status?.phase, 'Ready');
    assert.equal(st.metadata?.generation, 1);
    const sp = await objects.patch({ ...gadget(name, { color: 'green' }), status: { phase: 'Ignored' } } as Gadget, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
    assert.equal(sp.metadata?.generation, 2);
    assert.equal(sp.status?.phase, 'Ready', 'the main resource does not change status');
    assert.ok(Number(sp.metadata?.resourceVersion) > Number(g.metadata?.resourceVersion));
  });

  it('serves the scale subresource from the CRD paths', async () => {
    const name = uniqueName('g');
    await objects.create(gadget(name, { color: 'red', replicas: 2 }));
    const scale = await custom.getNamespacedCustomObjectScale({ group: GROUP, version: 'v1', namespace: 'default', plural: 'gadgets', name }) as { spec: { replicas: number } };
    assert.equal(scale.spec.replicas, 2);
    await custom.patchNamespacedCustomObjectScale({ group: GROUP, version: 'v1', namespace: 'default', plural: 'gadgets', name, body: { spec: { replicas: 4 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const g = await objects.read<Gadget>(gadget(name, {}) as Header);
    assert.equal(g.spec?.replicas, 4);
    assert.equal(g.metadata?.generation, 2);
  });

  it('serves cluster-scoped custom resources without a namespace', async () => {
    const name = uniqueName('t');
    const t = await custom.createClusterCustomObject({ group: GROUP, version: 'v1', plural: 'things', body: { apiVersion: `${GROUP}/v1`, kind: 'Thing', metadata: { name, namespace: 'x' }, anything: [1, 2] } }) as { metadata: { namespace?: string }; anything: number[] };
    assert.equal(t.metadata.namespace, undefined);
    assert.deepEqual(t.anything, [1, 2]);
    assertStatus(await h.request('GET', `/apis/${GROUP}/v1/namespaces/default/things/${name}`), 404, 'NotFound');
  });

  it('refuses a body of another kind or apiVersion on a custom resource endpoint with 400', async () => {
    assertStatus(await h.request('POST', GADGETS, { apiVersion: `${GROUP}/v1`, kind: 'Thing', metadata: { name: 'x' }, spec: { color: 'red' } }), 400, 'BadRequest');
    assertStatus(await h.request('POST', GADGETS, { apiVersion: `${GROUP}/v2`, kind: 'Gadget', metadata: { name: 'x' }, spec: { color: 'red' } }), 400, 'BadRequest');
  });

  it('creates the CloneSet sample from deploy/samples and serves its scale and status subresources', async () => {
    const samplePath = fileURLToPath(new URL('../../../deploy/samples/cloneset.yaml', import.meta.url));
    const sample = parseYaml(await readFile(samplePath, 'utf8')) as KubernetesObject & { spec: { replicas: number } };
    const created = await objects.create(sample);
    assert.equal(created.metadata?.generation, 1);
    const cs = { group: 'apps.kruise.io', version: 'v1alpha1', namespace: 'default', plural: 'clonesets', name: sample.metadata!.name! };
    const scale = await custom.getNamespacedCustomObjectScale(cs) as { spec: { replicas: number } };
    assert.equal(scale.spec.replicas, sample.spec.replicas);
    const st = await custom.patchNamespacedCustomObjectStatus({ ...cs, body: { status: { replicas: 5, readyReplicas: 5, availableReplicas: 5, updatedReplicas: 5, updatedReadyReplicas: 5, labelSelector: 'app=sample' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)) as { status: { replicas: number } };
    assert.equal(st.status.replicas, 5);
    const scaled = await custom.getNamespacedCustomObjectScale(cs) as { status: { replicas: number; selector?: string } };
    assert.equal(scaled.status.replicas, 5);
    assert.equal(scaled.status.selector, 'app=sample');
  });

  it('refuses a CloneSet with a wrongly typed field with 422 and an unknown field under Strict with 400', async () => {
    const base = { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', metadata: { name: uniqueName('cs') },
      spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
    const path = '/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets';
    assertStatus(await h.request('POST', path, { ...base, spec: { ...base.spec, replicas: 'one' } }), 422, 'Invalid');
    assertStatus(await h.request('POST', `${path}?fieldValidation=Strict`, { ...base, spec: { ...base.spec, replicaz: 1 } }), 400, 'BadRequest');
    const ok = await h.request('POST', path, base);
    assert.equal(ok.status, 201, ok.text);
  });
});
