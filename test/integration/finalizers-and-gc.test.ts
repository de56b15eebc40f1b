/**
 * Finalizers with deletionTimestamp, and ownerReference garbage collection with background, foreground and orphan
 * propagation (the server's own GC controller).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1ConfigMap, type V1OwnerReference } from '@kubernetes/client-node';
import { startHarness, waitFor, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus, uniqueName } from '../support/integration-helpers.js';
import { openWatch, type WatchStream } from '../support/watch-stream.js';

describe('finalizers and garbage collection', () => {
  let h: Harness;
  let core: CoreV1Api;
  const streams: WatchStream[] = [];

  before(async () => {
    h = await startHarness({ crds: false });
    core = h.kubeConfig.makeApiClient(CoreV1Api);
  });
  after(async () => {
    for (const s of streams) s.close();
    await h.close();
  });

  const cm = (name: string, extra: Partial<V1ConfigMap['metadata']> = {}) =>
    core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name, ...extra } } });
  const read = (name: string) => core.readNamespacedConfigMap({ name, namespace: 'default' });
  const gone = async (name: string): Promise<boolean> => {
    try { await read(name); return false; } catch (e) { return (e as { code?: number }).code === 404; }
  };
  const refTo = (o: V1ConfigMap, extra: Partial<V1OwnerReference> = {}): V1OwnerReference =>
    ({ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid!, ...extra });

  it('keeps an object with finalizers, marked with deletionTimestamp, until the last finalizer is removed', async () => {
    const name = uniqueName('fin');
    const created = await cm(name, { finalizers: ['example.com/a', 'example.com/b'] });
    const s = await openWatch(h, `/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name%3D${name}&resourceVersion=${created.metadata!.resourceVersion}`);
    streams.push(s);
    const del = await h.request('DELETE', `/api/v1/namespaces/default/configmaps/${name}`);
    assert.equal(del.status, 202, 'a deletion that waits for finalizers is Accepted');
    const marked = await read(name);
    assert.ok(marked.metadata?.deletionTimestamp);
    assert.equal(marked.metadata?.deletionGracePeriodSeconds, 0);
    // A second delete changes nothing.
    const again = await h.request('DELETE', `/api/v1/namespaces/default/configmaps/${name}`);
    assert.equal(again.status, 202);
    assert.equal((await read(name)).metadata?.resourceVersion, marked.metadata?.resourceVersion);
    await core.patchNamespacedConfigMap({ name, namespace: 'default', body: [{ op: 'replace', path: '/metadata/finalizers', value: ['example.com/b'] }] });
    assert.ok(!(await gone(name)));
    await core.patchNamespacedConfigMap({ name, namespace: 'default', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    assert.ok(await gone(name));
    await waitFor(() => s.events.length >= 3, 'three events');
    assert.deepEqual(s.events.map((e) => e.type), ['MODIFIED', 'MODIFIED', 'DELETED']);
  });

  it('refuses a new finalizer on an object being deleted with 422', async () => {
    const name = uniqueName('fin');
    await cm(name, { finalizers: ['example.com/a'] });
    await core.deleteNamespacedConfigMap({ name, namespace: 'default' });
    const s = await rejectsWithStatus(core.patchNamespacedConfigMap({ name, namespace: 'default', body: [{ op: 'add', path: '/metadata/finalizers/-', value: 'example.com/new' }] }), 422, 'Invalid');
    assert.equal(s.details?.causes?.[0]?.field, 'metadata.finalizers');
    await core.patchNamespacedConfigMap({ name, namespace: 'default', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    assert.ok(await gone(name));
  });

  it('keeps deletionTimestamp when an update tries to clear it', async () => {
    const name = uniqueName('fin');
    await cm(name, { finalizers: ['example.com/a'] });
    await core.deleteNamespacedConfigMap({ name, namespace: 'default' });
    const cur = await read(name);
    const upd = await core.replaceNamespacedConfigMap({ name, namespace: 'default', body: { ...cur, metadata: { ...cur.metadata, deletionTimestamp: undefined }, data: { x: '1' } } });
    assert.ok(upd.metadata?.deletionTimestamp);
    await core.replaceNamespacedConfigMap({ name, namespace: 'default', body: { ...upd, metadata: { ...upd.metadata, finalizers: [] } } });
    assert.ok(await gone(name));
  });

  it('deletes dependents in the background after their owner is gone', async () => {
    const owner = await cm(uniqueName('owner'));
    const deps = [uniqueName('dep'), uniqueName('dep')];
    for (const d of deps) await cm(d, { ownerReferences: [refTo(owner)] });
    await core.deleteNamespacedConfigMap({ name: owner.metadata!.name!, namespace: 'default', propagationPolicy: 'Background' });
    assert.ok(await gone(owner.metadata!.name!), 'the owner goes at once');
    await waitFor(async () => (await Promise.all(deps.map(gone))).every(Boolean), 'dependents to be collected');
  });

  it('collects a dependent created with a reference to an owner that does not exist', async () => {
    const name = uniqueName('orphaned');
    await cm(name, { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'never', uid: '00000000-0000-0000-0000-000000000000' }] });
    await waitFor(() => gone(name), 'the dangling dependent to be collected');
  });

  it('only drops the reference of a deleted owner when another owner remains', async () => {
    const a = await cm(uniqueName('owner-a'));
    const b = await cm(uniqueName('owner-b'));
    const name = uniqueName('shared');
    await cm(name, { ownerReferences: [refTo(a), refTo(b)] });
    await core.deleteNamespacedConfigMap({ name: a.metadata!.name!, namespace: 'default' });
    await waitFor(async () => (await read(name)).metadata?.ownerReferences?.length === 1, 'the dangling reference to be removed');
    assert.equal((await read(name)).metadata?.ownerReferences?.[0]?.uid, b.metadata?.uid);
  });

  it('deletes in the foreground: the owner waits with foregroundDeletion until blocking dependents are gone', async () => {
    const owner = await cm(uniqueName('fg-owner'));
    const blocker = uniqueName('fg-dep');
    await cm(blocker, { ownerReferences: [refTo(owner, { blockOwnerDeletion: true })], finalizers: ['example.com/hold'] });
    const other = uniqueName('fg-dep');
    await cm(other, { ownerReferences: [refTo(owner)] });
    const ownerName = owner.metadata!.name!;
    await core.deleteNamespacedConfigMap({ name: ownerName, namespace: 'default', propagationPolicy: 'Foreground' });
    const marked = await read(ownerName);
    assert.ok(marked.metadata?.deletionTimestamp);
    assert.ok(marked.metadata?.finalizers?.includes('foregroundDeletion'));
    await waitFor(async () => (await read(blocker)).metadata?.deletionTimestamp, 'the blocking dependent to be marked for deletion');
    await waitFor(() => gone(other), 'the non-blocking dependent to go');
    await h.server.idle();
    assert.ok(!(await gone(ownerName)), 'the owner waits for its blocking dependent');
    await core.patchNamespacedConfigMap({ name: blocker, namespace: 'default', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await waitFor(() => gone(ownerName), 'the owner to go once the blocker is gone');
  });

  it('orphans dependents: they stay, without the reference, and the owner goes', async () => {
    const owner = await cm(uniqueName('or-owner'));
    const a = uniqueName('or-dep');
    await cm(a, { ownerReferences: [refTo(owner, { controller: true, blockOwnerDeletion: true })] });
    await core.deleteNamespacedConfigMap({ name: owner.metadata!.name!, namespace: 'default', propagationPolicy: 'Orphan' });
    await waitFor(() => gone(owner.metadata!.name!), 'the owner to go');
    await h.server.idle();
    const dep = await read(a);
    assert.equal(dep.metadata?.ownerReferences, undefined);
    assert.equal(dep.metadata?.deletionTimestamp, undefined);
  });

  it('refuses an unknown propagationPolicy with 400 and keeps the object', async () => {
    const name = uniqueName('pp');
    await cm(name);
    assertStatus(await h.request('DELETE', `/api/v1/namespaces/default/configmaps/${name}`, { propagationPolicy: 'Sideways' }), 400, 'BadRequest');
    assert.ok(!(await gone(name)));
  });

  it('leaves an object with finalizers untouched on a dry-run delete', async () => {
    const name = uniqueName('dry');
    const c = await cm(name, { finalizers: ['example.com/a'] });
    await core.deleteNamespacedConfigMap({ name, namespace: 'default', dryRun: 'All' });
    const now = await read(name);
    assert.equal(now.metadata?.deletionTimestamp, undefined);
    assert.equal(now.metadata?.resourceVersion, c.metadata?.resourceVersion);
  });

  it('refuses an ownerReference without a uid with 422', async () => {
    const s = await rejectsWithStatus(cm(uniqueName('bad'), { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '' }] }), 422, 'Invalid');
    assert.ok(s.details?.causes?.some((c) => c.field === 'metadata.ownerReferences[0].uid'));
  });
});
