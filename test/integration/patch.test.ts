/**
 * PATCH: JSON patch, merge patch, and strategic merge patch for built-in kinds (list merge by key, $patch
 * directives), resourceVersion pinning in a patch, and patches that do not apply leaving the store unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus, uniqueName } from '../support/integration-helpers.js';

describe('patch', () => {
  let h: Harness;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const pod = (name: string) => ({
    metadata: { name, labels: { app: 'p' } },
    spec: {
      containers: [
        { name: 'main', image: 'nginx:1', env: [{ name: 'A', value: '1' }] },
        { name: 'side', image: 'busybox:1' },
      ],
      tolerations: [{ key: 'k1', operator: 'Exists' }],
    },
  });
  const patchRaw = (path: string, type: string, body: unknown) => h.request('PATCH', path, body, { 'Content-Type': type });

  before(async () => {
    h = await startHarness({ crds: false });
    core = h.kubeConfig.makeApiClient(CoreV1Api);
    apps = h.kubeConfig.makeApiClient(AppsV1Api);
  });
  after(async () => { await h.close(); });

  it('applies a JSON patch with add, replace, remove and test operations', async () => {
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { a: '1', b: '2' } } });
    const patched = await core.patchNamespacedConfigMap({
      name, namespace: 'default',
      body: [{ op: 'test', path: '/data/a', value: '1' }, { op: 'replace', path: '/data/a', value: 'x' }, { op: 'remove', path: '/data/b' }, { op: 'add', path: '/metadata/labels', value: { l: 'v' } }],
    }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    assert.deepEqual(patched.data, { a: 'x' });
    assert.deepEqual(patched.metadata?.labels, { l: 'v' });
  });

  it('refuses a JSON patch whose test fails or whose path is missing, and changes nothing', async () => {
    const name = uniqueName('cm');
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { a: '1' } } });
    const path = `/api/v1/namespaces/default/configmaps/${name}`;
    for (const ops of [
      [{ op: 'test', path: '/data/a', value: '2' }, { op: 'replace', path: '/data/a', value: 'changed' }],
      [{ op: 'replace', path: '/data/a', value: 'changed' }, { op: 'remove', path: '/data/missing' }],
      [{ op: 'move', path: '/data/b' }],
      [{ op: 'frobnicate', path: '/data/a' }],
    ]) {
      const r = await patchRaw(path, 'application/json-patch+json', ops);
      assert.ok(r.status === 422 || r.status === 400, `status ${r.status} for ${JSON.stringify(ops)}: ${r.text}`);
      assert.equal((r.json as { kind: string }).kind, 'Status');
    }
    assertStatus(await patchRaw(path, 'application/json-patch+json', { op: 'add' }), 400, 'BadRequest');
    const now = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    assert.equal(now.metadata?.resourceVersion, created.metadata?.resourceVersion);
    assert.deepEqual(now.data, { a: '1' });
  });

  it('applies a merge patch: maps merge, null deletes, lists are replaced', async () => {
    const name = uniqueName('pod');
    await core.createNamespacedPod({ namespace: 'default', body: pod(name) });
    const r = await patchRaw(`/api/v1/namespaces/default/pods/${name}`, 'application/merge-patch+json', {
      metadata: { labels: { app: null, extra: 'y' } },
      spec: { tolerations: [{ key: 'k2', operator: 'Exists' }] },
    });
    assert.equal(r.status, 200, r.text);
    const p = r.json as { metadata: { labels: Record<string, string> }; spec: { tolerations: { key: string }[] } };
    assert.deepEqual(p.metadata.labels, { extra: 'y' });
    assert.deepEqual(p.spec.tolerations.map((t) => t.key), ['k2']);
  });

  it('applies a strategic merge patch to a pod: containers merge by name, scalar lists by directive', async () => {
    const name = uniqueName('pod');
    await core.createNamespacedPod({ namespace: 'default', body: pod(name) });
    const patched = await core.patchNamespacedPod({
      name, namespace: 'default',
      body: { spec: { containers: [{ name: 'side', image: 'busybox:2' }] } },
    }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    assert.deepEqual(patched.spec?.containers.map((c) => `${c.name}=${c.image}`), ['main=nginx:1', 'side=busybox:2']);
    assert.deepEqual(patched.spec?.containers[0]?.env?.map((e) => `${e.name}=${e.value}`), ['A=1'], 'the untouched container keeps its env');
  });

  it('honours $patch: delete inside a merged list in a strategic merge patch', async () => {
    const name = uniqueName('dep');
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: { selector: { matchLabels: { a: name } }, template: { metadata: { labels: { a: name } }, spec: { containers: [
          { name: 'main', image: 'x:1', env: [{ name: 'A', value: '1' }, { name: 'C', value: '3' }] }, { name: 'side', image: 'y:1' },
        ] } } },
      },
    });
    const r = await patchRaw(`/apis/apps/v1/namespaces/default/deployments/${name}`, 'application/strategic-merge-patch+json', {
      spec: { template: { spec: { containers: [{ name: 'main', env: [{ name: 'A', $patch: 'delete' }, { name: 'B', value: '2' }] }] } } },
    });
    assert.equal(r.status, 200, r.text);
    const d = r.json as { spec: { template: { spec: { containers: { name: string; env?: { name: string }[] }[] } } } };
    const containers = d.spec.template.spec.containers;
    assert.deepEqual(containers.find((c) => c.name === 'main')?.env?.map((e) => e.name).sort(), ['B', 'C']);
    assert.equal(containers.length, 2);
  });

  it('refuses a strategic merge patch on a pod that changes a field pods may not change, with 422', async () => {
    const name = uniqueName('pod');
    const created = await core.createNamespacedPod({ namespace: 'default', body: pod(name) });
    const r = await patchRaw(`/api/v1/namespaces/default/pods/${name}`, 'application/strategic-merge-patch+json', {
      spec: { containers: [{ name: 'main', env: [{ name: 'B', value: '2' }] }] },
    });
    const s = assertStatus(r, 422, 'Invalid');
    assert.equal(s.details?.causes?.[0]?.field, 'spec');
    assert.equal((await core.readNamespacedPod({ name, namespace: 'default' })).metadata?.resourceVersion, created.metadata?.resourceVersion);
  });

  it('strategic-merges a deployment template and bumps the generation once', async () => {
    const name = uniqueName('dep');
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: { selector: { matchLabels: { a: name } }, template: { metadata: { labels: { a: name } }, spec: { containers: [{ name: 'c', image: 'x:1', ports: [{ containerPort: 80 }] }] } } },
      },
    });
    const patched = await apps.patchNamespacedDeployment({
      name, namespace: 'default',
      body: { spec: { template: { spec: { containers: [{ name: 'c', image: 'x:2' }] } } } },
    }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    assert.equal(patched.spec?.template.spec?.containers[0]?.image, 'x:2');
    assert.deepEqual(patched.spec?.template.spec?.containers[0]?.ports?.map((p) => p.containerPort), [80]);
    assert.equal(patched.metadata?.generation, 2);
  });

  it('refuses a patch with a stale resourceVersion with 409 and applies one with the current version', async () => {
    const name = uniqueName('cm');
    const c = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name }, data: { a: '1' } } });
    await core.replaceNamespacedConfigMap({ name, namespace: 'default', body: { ...c, data: { a: '2' } } });
    const path = `/api/v1/namespaces/default/configmaps/${name}`;
    assertStatus(await patchRaw(path, 'application/merge-patch+json', { metadata: { resourceVersion: c.metadata!.resourceVersion }, data: { a: '3' } }), 409, 'Conflict');
    const cur = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    const ok = await patchRaw(path, 'application/merge-patch+json', { metadata: { resourceVersion: cur.metadata!.resourceVersion }, data: { a: '3' } });
    assert.equal(ok.status, 200, ok.text);
    assertStatus(await patchRaw(path, 'application/merge-patch+json', { metadata: { resourceVersion: 'abc' } }), 400, 'BadRequest');
  });

  it('refuses an unsupported patch content type with 415', async () => {
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    assertStatus(await patchRaw(`/api/v1/namespaces/default/configmaps/${name}`, 'application/json', { data: { a: '1' } }), 415, 'UnsupportedMediaType');
    assertStatus(await patchRaw(`/api/v1/namespaces/default/configmaps/${name}`, 'text/plain', 'x'), 415, 'UnsupportedMediaType');
  });

  it('refuses a patch that changes immutable identity or a forbidden pod field with 422 and changes nothing', async () => {
    const name = uniqueName('pod');
    const created = await core.createNamespacedPod({ namespace: 'default', body: pod(name) });
    const s = await rejectsWithStatus(core.patchNamespacedPod({
      name, namespace: 'default', body: [{ op: 'replace', path: '/spec/containers/0/name', value: 'renamed' }],
    }), 422, 'Invalid');
    assert.ok((s.details?.causes ?? []).length > 0);
    const now = await core.readNamespacedPod({ name, namespace: 'default' });
    assert.equal(now.metadata?.resourceVersion, created.metadata?.resourceVersion);
    // A patch may not rename the object or move it: the name and uid stay.
    const renamed = await patchRaw(`/api/v1/namespaces/default/pods/${name}`, 'application/merge-patch+json', { metadata: { uid: 'forged' } });
    if (renamed.status === 200) assert.equal((renamed.json as { metadata: { uid: string } }).metadata.uid, created.metadata?.uid);
  });

  it('refuses a patch whose result is not an object with 400', async () => {
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    const r = await patchRaw(`/api/v1/namespaces/default/configmaps/${name}`, 'application/json-patch+json', [{ op: 'replace', path: '', value: 3 }]);
    assert.ok(r.status === 400 || r.status === 422, r.text);
    assert.equal((r.json as { kind: string }).kind, 'Status');
    const r2 = await patchRaw(`/api/v1/namespaces/default/configmaps/${name}`, 'application/merge-patch+json', [1, 2]);
    assert.ok(r2.status === 400 || r2.status === 422, r2.text);
  });
});
