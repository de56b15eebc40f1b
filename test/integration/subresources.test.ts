/**
 * The status and scale subresources: the main resource ignores status, /status changes only status, /scale reads
 * and writes the replica count through autoscaling/v1 Scale.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus, uniqueName } from '../support/integration-helpers.js';

describe('status and scale subresources', () => {
  let h: Harness;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  const dep = (name: string, replicas = 2) => ({
    metadata: { name },
    spec: { replicas, selector: { matchLabels: { a: name } }, template: { metadata: { labels: { a: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    status: { replicas: 99 },
  });

  before(async () => {
    h = await startHarness({ crds: false });
    core = h.kubeConfig.makeApiClient(CoreV1Api);
    apps = h.kubeConfig.makeApiClient(AppsV1Api);
  });
  after(async () => { await h.close(); });

  it('ignores status in a create and in an update of the main resource', async () => {
    const name = uniqueName('dep');
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: dep(name) });
    assert.equal(created.status?.replicas, undefined);
    const updated = await apps.replaceNamespacedDeployment({ name, namespace: 'default', body: { ...created, status: { replicas: 5 } } });
    assert.equal(updated.status?.replicas, undefined);
    assert.equal(updated.metadata?.resourceVersion, created.metadata?.resourceVersion, 'a status-only change on the main resource is no write');
  });

  it('changes only status through /status, keeping spec and labels as stored', async () => {
    const name = uniqueName('dep');
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: dep(name) });
    const st = await apps.replaceNamespacedDeploymentStatus({
      name, namespace: 'default',
      body: { ...created, metadata: { ...created.metadata, labels: { sneaky: 'yes' } }, spec: { ...created.spec!, replicas: 7 }, status: { replicas: 2, readyReplicas: 1 } },
    });
    assert.equal(st.status?.readyReplicas, 1);
    assert.equal(st.spec?.replicas, 2);
    assert.equal(st.metadata?.labels?.sneaky, undefined);
    assert.equal(st.metadata?.generation, 1);
  });

  it('merge-patches status through /status for pods and checks the resourceVersion of a PUT', async () => {
    const name = uniqueName('pod');
    const p = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    assert.equal(p.status?.phase, 'Pending');
    const patched = await core.patchNamespacedPodStatus({ name, namespace: 'default', body: { status: { phase: 'Running', podIP: '10.0.0.1' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.equal(patched.status?.phase, 'Running');
    await rejectsWithStatus(core.replaceNamespacedPodStatus({ name, namespace: 'default', body: { ...p, status: { phase: 'Failed' } } }), 409, 'Conflict');
  });

  it('answers 404 for a status subresource on a kind without one', async () => {
    const name = uniqueName('cm');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    assertStatus(await h.request('GET', `/api/v1/namespaces/default/configmaps/${name}/status`), 404, 'NotFound');
  });

  it('reads and writes replicas through /scale with client-node', async () => {
    const name = uniqueName('dep');
    await apps.createNamespacedDeployment({ namespace: 'default', body: dep(name, 3) });
    const scale = await apps.readNamespacedDeploymentScale({ name, namespace: 'default' });
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.apiVersion, 'autoscaling/v1');
    assert.equal(scale.spec?.replicas, 3);
    const upd = await apps.replaceNamespacedDeploymentScale({ name, namespace: 'default', body: { ...scale, spec: { replicas: 5 } } });
    assert.equal(upd.spec?.replicas, 5);
    const d = await apps.readNamespacedDeployment({ name, namespace: 'default' });
    assert.equal(d.spec?.replicas, 5);
    assert.equal(d.metadata?.generation, 2);
    const patched = await apps.patchNamespacedDeploymentScale({ name, namespace: 'default', body: { spec: { replicas: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.equal(patched.spec?.replicas, 1);
    await rejectsWithStatus(apps.replaceNamespacedDeploymentScale({ name, namespace: 'default', body: { ...scale, spec: { replicas: 4 } } }), 409, 'Conflict');
  });

  it('refuses a negative or non-integer replica count on /scale with 422 and changes nothing', async () => {
    const name = uniqueName('dep');
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: dep(name, 3) });
    for (const replicas of [-1, 1.5, 'three']) {
      const r = await h.request('PATCH', `/apis/apps/v1/namespaces/default/deployments/${name}/scale`, { spec: { replicas } }, { 'Content-Type': 'application/merge-patch+json' });
      assertStatus(r, 422, 'Invalid');
    }
    const d = await apps.readNamespacedDeployment({ name, namespace: 'default' });
    assert.equal(d.metadata?.resourceVersion, created.metadata?.resourceVersion);
  });

  it('answers 404 for /scale on a missing object and on a kind without scale', async () => {
    assertStatus(await h.request('GET', '/apis/apps/v1/namespaces/default/deployments/missing/scale'), 404, 'NotFound');
    assertStatus(await h.request('GET', '/api/v1/namespaces/default/pods/x/scale'), 404, 'NotFound');
  });

  it('binds a pod to a node once through /binding', async () => {
    const name = uniqueName('pod');
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'i' }] } } });
    await core.createNamespacedPodBinding({ name, namespace: 'default', body: { metadata: { name }, target: { kind: 'Node', name: 'node-a' } } });
    assert.equal((await core.readNamespacedPod({ name, namespace: 'default' })).spec?.nodeName, 'node-a');
    await rejectsWithStatus(core.createNamespacedPodBinding({ name, namespace: 'default', body: { metadata: { name }, target: { kind: 'Node', name: 'node-b' } } }), 409, 'Conflict');
  });
});
