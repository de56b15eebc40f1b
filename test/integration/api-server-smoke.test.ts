import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import { startHarness, type Harness } from '../support/api-server-harness.js';

describe('embedded API server smoke', () => {
  let h: Harness;
  before(async () => { h = await startHarness({ crds: false }); });
  after(async () => { await h.close(); });

  it('lists the initial namespaces through client-node', async () => {
    const core = h.kubeConfig.makeApiClient(CoreV1Api);
    const list = await core.listNamespace();
    assert.deepEqual(list.items.map((n) => n.metadata?.name).sort(), ['default', 'kruise-system', 'kube-node-lease', 'kube-public', 'kube-system']);
  });

  it('creates, reads and deletes a config map through client-node', async () => {
    const core = h.kubeConfig.makeApiClient(CoreV1Api);
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' }, data: { k: 'v' } } });
    assert.ok(created.metadata?.uid);
    const got = await core.readNamespacedConfigMap({ name: 'a', namespace: 'default' });
    assert.equal(got.data?.k, 'v');
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
    await assert.rejects(core.readNamespacedConfigMap({ name: 'a', namespace: 'default' }), (e: { code?: number }) => e.code === 404);
  });

  it('rejects requests without the bearer token with 401', async () => {
    const r = await h.request('GET', '/api/v1/namespaces', undefined, { Authorization: '' });
    assert.equal(r.status, 401);
    assert.equal((r.json as { reason: string }).reason, 'Unauthorized');
  });
});
