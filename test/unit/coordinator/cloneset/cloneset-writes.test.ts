/**
 * The CloneSet executor's write helpers: the read-mutate-write that starts from a copy already held (no GET
 * unless a 409 says it is stale), and the InPlaceUpdateReady condition patch.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../../src/api/meta.js';
import { INPLACE_UPDATE_READY_CONDITION } from '../../../../src/api/well-known-keys.js';
import { inPlaceReadyPatch } from '../../../../src/coordinator/cloneset/inplace-ready-condition.js';
import { updateFromKnown, type KnownObjectClient } from '../../../../src/coordinator/cloneset/known-object-update.js';
import { formatTimeMs } from '../../../../src/coordinator/cloneset/pod-state.js';
import { KubeApiError } from '../../../../src/kube/kube-api-error.js';
import { resources } from '../../../../src/kube/resource-ref.js';
import { NOW, createTestPod } from './fixtures.js';

interface Obj extends KubeObject { spec: { image: string }; status?: { phase: string } }

const conflict = (): KubeApiError => new KubeApiError('the object has been modified', { code: 409, reason: 'Conflict' });

/** An API of one object: GET returns it, PUT succeeds only with its resourceVersion and bumps it. */
class FakeApi implements KnownObjectClient {
  calls: string[] = [];
  constructor(public stored: Obj) {}

  get<T extends KubeObject = KubeObject>(): Promise<T> {
    this.calls.push('GET');
    return Promise.resolve(structuredClone(this.stored) as unknown as T);
  }

  update<T extends KubeObject = KubeObject>(_ref: unknown, obj: KubeObject): Promise<T> {
    this.calls.push('PUT');
    return this.write(obj, false) as Promise<T>;
  }

  updateStatus<T extends KubeObject = KubeObject>(_ref: unknown, obj: KubeObject): Promise<T> {
    this.calls.push('PUT status');
    return this.write(obj, true) as Promise<T>;
  }

  private write(obj: KubeObject, status: boolean): Promise<KubeObject> {
    if (obj.metadata.resourceVersion !== this.stored.metadata.resourceVersion) return Promise.reject(conflict());
    const next = structuredClone(obj) as Obj;
    const rv = String(Number(this.stored.metadata.resourceVersion) + 1);
    this.stored = status ? { ...this.stored, status: next.status!, metadata: { ...this.stored.metadata, resourceVersion: rv } }
      : { ...next, status: this.stored.status!, metadata: { ...next.metadata, resourceVersion: rv } };
    return Promise.resolve(structuredClone(this.stored));
  }
}

function obj(rv: string, image = 'a', phase = 'Pending'): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1', resourceVersion: rv }, spec: { image }, status: { phase } };
}

const setImage = (image: string) => (o: Obj): Obj => ({ ...o, spec: { image } });
const signal = new AbortController().signal;

describe('updateFromKnown', () => {
  // The conflict backoff sleeps on unref'd timers (they must not hold a stopping process): keep the loop alive.
  let keepAlive: NodeJS.Timeout;
  before(() => { keepAlive = setInterval(() => undefined, 60_000); });
  after(() => clearInterval(keepAlive));

  it('should write a current known copy with one PUT and no GET', async () => {
    const api = new FakeApi(obj('5'));
    const written = await updateFromKnown(api, resources.pods, obj('5'), setImage('b'), { signal });
    assert.deepEqual(api.calls, ['PUT']);
    assert.equal(written.spec.image, 'b');
    assert.equal(written.metadata.resourceVersion, '6');
  });

  it('should re-read and re-apply the mutation when the known copy is stale', async () => {
    const api = new FakeApi(obj('7', 'other'));
    const written = await updateFromKnown(api, resources.pods, obj('5'), setImage('b'), { signal });
    assert.deepEqual(api.calls, ['PUT', 'GET', 'PUT']);
    assert.equal(written.spec.image, 'b');
    assert.equal(api.stored.metadata.resourceVersion, '8');
  });

  it('should pass the mutation a copy and leave the known object unchanged', async () => {
    const known = obj('5');
    const frozen = structuredClone(known);
    await updateFromKnown(new FakeApi(obj('5')), resources.pods, known, (o) => { o.spec.image = 'mutated'; return o; }, { signal });
    assert.deepEqual(known, frozen);
  });

  it('should not write when the mutation returns undefined, and return the object it saw', async () => {
    const api = new FakeApi(obj('5'));
    const known = obj('5');
    const result = await updateFromKnown(api, resources.pods, known, () => undefined, { signal });
    assert.deepEqual(api.calls, []);
    assert.deepEqual(result, known);
  });

  it('should write through /status and skip a status that did not change', async () => {
    const api = new FakeApi(obj('5'));
    await updateFromKnown(api, resources.pods, obj('5'), (o) => ({ ...o, status: { phase: 'Pending' } }), { signal, status: true });
    assert.deepEqual(api.calls, []);
    const written = await updateFromKnown(api, resources.pods, obj('5'), (o) => ({ ...o, status: { phase: 'Running' } }), { signal, status: true });
    assert.deepEqual(api.calls, ['PUT status']);
    assert.equal(written.status?.phase, 'Running');
  });

  it('should give up with the conflict after five attempts', async () => {
    const api = new FakeApi(obj('5'));
    api.update = (): Promise<never> => { api.calls.push('PUT'); return Promise.reject(conflict()); };
    await assert.rejects(updateFromKnown(api, resources.pods, obj('5'), setImage('b'), { signal }), (e: unknown) => KubeApiError.is(e) && e.code === 409);
    assert.deepEqual(api.calls, ['PUT', 'GET', 'PUT', 'GET', 'PUT', 'GET', 'PUT', 'GET', 'PUT']);
  });

  it('should not write after its signal aborted', async () => {
    const api = new FakeApi(obj('5'));
    const ac = new AbortController();
    ac.abort(new Error('stopping'));
    await assert.rejects(updateFromKnown(api, resources.pods, obj('5'), setImage('b'), { signal: ac.signal }), /stopping/);
    assert.deepEqual(api.calls, []);
  });

  it('should throw errors other than a conflict at once', async () => {
    const api = new FakeApi(obj('5'));
    api.update = (): Promise<never> => { api.calls.push('PUT'); return Promise.reject(new KubeApiError('pods "p" not found', { code: 404, reason: 'NotFound' })); };
    await assert.rejects(updateFromKnown(api, resources.pods, obj('5'), setImage('b'), { signal }), (e: unknown) => KubeApiError.is(e) && e.code === 404);
    assert.deepEqual(api.calls, ['PUT']);
  });
});

describe('inPlaceReadyPatch (§4.7)', () => {
  const pod = (status?: 'True' | 'False', reason?: string) => {
    const p = createTestPod('rev-1');
    p.metadata.uid = 'uid-1';
    if (status) p.status!.conditions!.push({ type: INPLACE_UPDATE_READY_CONDITION, status, ...(reason ? { reason } : {}) });
    return p;
  };

  it('should set the condition with its reason, guarded by the Pod uid, when the Pod has none', () => {
    assert.deepEqual(inPlaceReadyPatch(pod(), 'False', NOW, 'StartInPlaceUpdate'), {
      metadata: { uid: 'uid-1' },
      status: { conditions: [{ type: INPLACE_UPDATE_READY_CONDITION, status: 'False', lastTransitionTime: formatTimeMs(NOW), reason: 'StartInPlaceUpdate', message: null }] },
    });
  });

  it('should drop the earlier reason when the condition becomes True', () => {
    const patch = inPlaceReadyPatch(pod('False', 'StartInPlaceUpdate'), 'True', NOW);
    assert.deepEqual(patch?.status.conditions[0], { type: INPLACE_UPDATE_READY_CONDITION, status: 'True', lastTransitionTime: formatTimeMs(NOW), reason: null, message: null });
  });

  it('should be undefined when the Pod already has that status and reason', () => {
    assert.equal(inPlaceReadyPatch(pod('True'), 'True', NOW), undefined);
    assert.equal(inPlaceReadyPatch(pod('False', 'StartInPlaceUpdate'), 'False', NOW, 'StartInPlaceUpdate'), undefined);
  });

  it('should rewrite a condition whose reason differs even with the same status', () => {
    assert.notEqual(inPlaceReadyPatch(pod('False', 'Other'), 'False', NOW, 'StartInPlaceUpdate'), undefined);
  });
});
