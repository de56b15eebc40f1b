/**
 * Write helpers against the embedded API server: conflict retries that re-read and re-apply, status writes through
 * `/status` skipped when unchanged, patches, and aborts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/api/meta.js';
import { isConflict, KubeApiError } from '../../../src/kube/kube-api-error.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { resources } from '../../../src/kube/resource-ref.js';
import {
  DEFAULT_RETRY, jsonPatch, jsonPointer, mergePatch, retryOnConflict, testResourceVersion, updateStatusWithRetry, updateWithRetry,
} from '../../../src/kube/writes.js';
import { startHarness, type Harness } from '../../support/api-server-harness.js';
import { uniqueName } from '../../support/integration-helpers.js';

const COUNTER = 'test.kruise.io/counter';
const conflict = (): KubeApiError => new KubeApiError('the object has been modified', { code: 409, reason: 'Conflict' });

/** Counts the writes that reach the API. */
class CountingClient extends KubeClient {
  updates = 0;
  statusUpdates = 0;
  override update<T extends KubeObject = KubeObject>(...args: Parameters<KubeClient['update']>): Promise<T> {
    this.updates++;
    return super.update<T>(...args);
  }
  override updateStatus<T extends KubeObject = KubeObject>(...args: Parameters<KubeClient['updateStatus']>): Promise<T> {
    this.statusUpdates++;
    return super.updateStatus<T>(...args);
  }
}

interface Pod extends KubeObject { spec: { containers: { name: string; image: string }[] }; status?: { phase?: string; message?: string } }

describe('write helpers', () => {
  let h: Harness;
  let client: CountingClient;
  before(async () => {
    h = await startHarness({ crds: false });
    client = new CountingClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (test)' });
  });
  after(async () => { client.close(); await h.close(); });

  const createConfigMap = (name: string): Promise<KubeObject> => client.create(resources.configMaps, {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', annotations: { [COUNTER]: '0' } }, data: {},
  });

  it('ten concurrent writers incrementing one annotation all succeed and the final value is exactly 10', async () => {
    const name = uniqueName('counter');
    await createConfigMap(name);
    const writers = 10;
    // The first round of every writer reads before any writes, so nine of them are guaranteed a conflict.
    let entered = 0;
    let releaseBarrier!: () => void;
    const barrier = new Promise<void>((r) => { releaseBarrier = r; });
    let mutations = 0;
    const increment = async (cm: KubeObject): Promise<KubeObject> => {
      mutations++;
      if (++entered <= writers) {
        if (entered === writers) releaseBarrier();
        await barrier;
      }
      const n = Number(cm.metadata.annotations?.[COUNTER] ?? '0');
      cm.metadata.annotations = { ...cm.metadata.annotations, [COUNTER]: String(n + 1) };
      return cm;
    };
    // A writer's attempt fails only when another writer succeeded between its read and its write, so with ten
    // writers an attempt budget of ten always suffices (the default five does not, by design of DefaultRetry).
    const results = await Promise.all(Array.from({ length: writers }, () =>
      updateWithRetry(client, resources.configMaps, 'default', name, increment, { attempts: writers })));
    const final = await client.get(resources.configMaps, 'default', name);
    assert.equal(final.metadata.annotations?.[COUNTER], String(writers));
    assert.deepEqual(results.map((r) => Number(r.metadata.annotations?.[COUNTER])).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.ok(mutations >= 2 * writers - 1, `the mutation is re-applied after each conflict (${mutations} calls)`);
  });

  it('does not write when the mutation returns undefined', async () => {
    const name = uniqueName('nochange');
    const created = await createConfigMap(name);
    const before = client.updates;
    const result = await updateWithRetry(client, resources.configMaps, 'default', name, () => undefined);
    assert.equal(client.updates, before);
    assert.equal(result.metadata.resourceVersion, created.metadata.resourceVersion);
  });

  it('keeps the resourceVersion it read even if the mutation drops it, so a lost update is impossible', async () => {
    const name = uniqueName('rv');
    await createConfigMap(name);
    let first = true;
    const result = await updateWithRetry(client, resources.configMaps, 'default', name, async (cm) => {
      if (first) {
        first = false;
        // Someone else writes between our read and our write.
        await mergePatch(client, resources.configMaps, 'default', name, { data: { other: 'x' } });
      }
      const { resourceVersion: _rv, ...metadata } = cm.metadata;
      return { ...cm, metadata, data: { ...(cm.data as Record<string, string>), mine: 'y' } };
    });
    assert.deepEqual(result.data, { other: 'x', mine: 'y' });
  });

  it('writes status through /status only when it deep-changed', async () => {
    const name = uniqueName('pod');
    const pod = await client.create<Pod>(resources.pods, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] },
    });
    const before = client.statusUpdates;
    const unchanged = await updateStatusWithRetry<Pod>(client, resources.pods, 'default', name, (p) => ({ ...p, status: structuredClone(p.status) }));
    assert.equal(client.statusUpdates, before, 'an equal status is not written');
    assert.equal(unchanged.metadata.resourceVersion, pod.metadata.resourceVersion);

    const changed = await updateStatusWithRetry<Pod>(client, resources.pods, 'default', name, (p) => ({
      ...p,
      metadata: { ...p.metadata, labels: { ignored: 'by-status' } },
      status: { ...p.status, message: 'written by the test' },
    }));
    assert.equal(client.statusUpdates, before + 1);
    assert.equal(changed.status?.message, 'written by the test');
    assert.equal(changed.metadata.labels?.ignored, undefined, '/status does not take metadata changes');
  });

  it('merge-patches and JSON-patches, and a JSON patch with a stale resourceVersion test fails', async () => {
    const name = uniqueName('patch');
    const created = await createConfigMap(name);
    const merged = await mergePatch(client, resources.configMaps, 'default', name, { metadata: { labels: { 'apps.kruise.io/x': 'y' } } });
    assert.equal(merged.metadata.labels?.['apps.kruise.io/x'], 'y');
    const patched = await jsonPatch(client, resources.configMaps, 'default', name, [
      testResourceVersion(merged.metadata.resourceVersion!),
      { op: 'remove', path: jsonPointer('metadata', 'labels', 'apps.kruise.io/x') },
    ]);
    assert.equal(patched.metadata.labels?.['apps.kruise.io/x'], undefined);
    await assert.rejects(
      jsonPatch(client, resources.configMaps, 'default', name, [testResourceVersion(created.metadata.resourceVersion!), { op: 'add', path: '/data/z', value: '1' }]),
      (e: unknown) => KubeApiError.is(e) && e.code >= 400 && e.code < 500,
    );
    const after = await client.get(resources.configMaps, 'default', name);
    assert.equal((after.data as Record<string, string>).z, undefined);
  });

  it('gives up after the default five attempts with the last conflict, as client-go DefaultRetry does', async () => {
    assert.deepEqual({ ...DEFAULT_RETRY }, { attempts: 5, initialDelayMs: 10, factor: 1, jitter: 0.1, capMs: 30_000 });
    let calls = 0;
    await assert.rejects(retryOnConflict(async () => { calls++; throw conflict(); }), isConflict);
    assert.equal(calls, 5);
  });

  it('throws errors other than conflicts at once', async () => {
    let calls = 0;
    const notFound = new KubeApiError('gone', { code: 404, reason: 'NotFound' });
    await assert.rejects(retryOnConflict(async () => { calls++; throw notFound; }), (e) => e === notFound);
    assert.equal(calls, 1);
    await assert.rejects(updateWithRetry(client, resources.configMaps, 'default', uniqueName('missing'), (o) => o), (e: unknown) => KubeApiError.is(e) && e.reason === 'NotFound');
  });

  it('stops waiting between attempts when aborted', async () => {
    const ctl = new AbortController();
    const started = Date.now();
    let calls = 0;
    const p = retryOnConflict(async () => { calls++; setImmediate(() => ctl.abort(new Error('stop'))); throw conflict(); }, { initialDelayMs: 60_000, signal: ctl.signal });
    await assert.rejects(p, /stop/);
    assert.equal(calls, 1);
    assert.ok(Date.now() - started < 5_000, 'the 60 s backoff sleep was interrupted');
  });

  it('does not start when already aborted and abandons the write when aborted mid-way', async () => {
    const name = uniqueName('abort');
    const created = await createConfigMap(name);
    const aborted = AbortSignal.abort(new Error('already'));
    let mutated = false;
    await assert.rejects(updateWithRetry(client, resources.configMaps, 'default', name, (o) => { mutated = true; return o; }, aborted), /already/);
    assert.equal(mutated, false);

    const ctl = new AbortController();
    await assert.rejects(updateWithRetry(client, resources.configMaps, 'default', name, (cm) => {
      ctl.abort(new Error('mid-way'));
      return { ...cm, data: { written: 'no' } };
    }, ctl.signal));
    const after = await client.get(resources.configMaps, 'default', name);
    assert.equal(after.metadata.resourceVersion, created.metadata.resourceVersion);
  });
});
