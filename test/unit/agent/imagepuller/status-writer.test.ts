/**
 * Status write-back on a fake clock: the first change goes out at once, later ones are coalesced at most every
 * `minIntervalMs`, a token bucket bounds the rate, identical statuses are skipped, conflicts re-read and retry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeImage, NodeImageStatus } from '../../../../src/api/nodeimage-types.js';
import type { StatusWriteResult } from '../../../../src/agent/imagepuller/agent-metrics.js';
import { NodeImageStatusWriter, type StatusWriterOptions } from '../../../../src/agent/imagepuller/status-writer.js';
import { KubeApiError } from '../../../../src/kube/kube-api-error.js';
import { FakeClock } from '../../../../src/kube/workqueue/fake-clock.js';

async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function status(pulling: number): NodeImageStatus {
  return { desired: 5, succeeded: 5 - pulling, failed: 0, pulling };
}

/** A fake API holding one NodeImage; `updateStatus` checks the resourceVersion like the server does. */
class FakeApi {
  obj: NodeImage = {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage',
    metadata: { name: 'node-1', uid: 'u1', resourceVersion: '10' }, spec: { images: {} },
  };
  readonly writes: { at: number; status: NodeImageStatus | undefined }[] = [];
  gets = 0;
  failNext: unknown[] = [];

  constructor(private readonly clock: FakeClock) {}

  get = async (): Promise<NodeImage> => { this.gets++; return structuredClone(this.obj) as never; };

  updateStatus = async (_ref: unknown, body: NodeImage): Promise<NodeImage> => {
    const fail = this.failNext.shift();
    if (fail !== undefined) throw fail;
    if (body.metadata.resourceVersion !== this.obj.metadata.resourceVersion) {
      throw new KubeApiError('the object has been modified', { code: 409, reason: 'Conflict' });
    }
    this.writes.push({ at: this.clock.now(), status: structuredClone(body.status) });
    this.obj = { ...this.obj, status: structuredClone(body.status), metadata: { ...this.obj.metadata, resourceVersion: String(Number(this.obj.metadata.resourceVersion) + 1) } };
    return structuredClone(this.obj) as never;
  };

  /** Someone else writes the object. */
  bump(): void {
    this.obj = { ...this.obj, metadata: { ...this.obj.metadata, resourceVersion: String(Number(this.obj.metadata.resourceVersion) + 1) } };
  }
}

interface Setup { clock: FakeClock; api: FakeApi; writer: NodeImageStatusWriter; results: StatusWriteResult[]; cached: { obj: NodeImage | undefined } }

function setup(o: Partial<StatusWriterOptions> = {}): Setup {
  const clock = new FakeClock(1_000_000);
  const api = new FakeApi(clock);
  const results: StatusWriteResult[] = [];
  // The informer cache lags: it holds the object as first read unless a test moves it.
  const cached = { obj: structuredClone(api.obj) as NodeImage | undefined };
  const writer = new NodeImageStatusWriter({
    nodeName: 'node-1', client: api as never, observed: () => cached.obj, clock,
    metrics: { statusWrite: (r) => results.push(r) },
    ...o,
  });
  return { clock, api, writer, results, cached };
}

describe('NodeImageStatusWriter', () => {
  it('should write the first change after a quiet period at once', async () => {
    const { clock, api, writer } = setup();
    writer.set(status(1));
    clock.advance(0);
    await settle();
    assert.equal(api.writes.length, 1);
    assert.equal(api.writes[0]!.at, 1_000_000);
  });

  it('should coalesce changes within the interval into one write of the latest status', async () => {
    const { clock, api, writer } = setup({ minIntervalMs: 500 });
    writer.set(status(5));
    clock.advance(0);
    await settle();
    clock.advance(100);
    writer.set(status(4));
    clock.advance(100);
    writer.set(status(3));
    writer.set(status(2));
    await settle();
    assert.equal(api.writes.length, 1, 'nothing before the interval');
    clock.advance(299);
    await settle();
    assert.equal(api.writes.length, 1);
    clock.advance(1);
    await settle();
    assert.equal(api.writes.length, 2);
    assert.deepEqual(api.writes[1]!.status, status(2));
    assert.equal(api.writes[1]!.at - api.writes[0]!.at, 500);
  });

  it('should coalesce changes made in the same tick', async () => {
    const { clock, api, writer } = setup();
    writer.set(status(3));
    writer.set(status(2));
    writer.set(status(1));
    clock.advance(0);
    await settle();
    assert.equal(api.writes.length, 1);
    assert.deepEqual(api.writes[0]!.status, status(1));
  });

  it('should bound the write rate with its token bucket', async () => {
    const { clock, api, writer } = setup({ minIntervalMs: 100, qps: 1, burst: 3 });
    // A change every 50 ms for 10 s.
    for (let i = 0; i < 200; i++) {
      writer.set({ desired: 1000, succeeded: i, failed: 0, pulling: 1000 - i });
      clock.advance(50);
      await settle(3);
    }
    await settle();
    // burst 3 plus 1 per second over ~10 s.
    assert.ok(api.writes.length <= 3 + 10 + 1, `wrote ${api.writes.length} times`);
    assert.ok(api.writes.length >= 10, `wrote only ${api.writes.length} times`);
    for (let i = 1; i < api.writes.length; i++) assert.ok(api.writes[i]!.at - api.writes[i - 1]!.at >= 100);
  });

  it('should skip a status identical to the stored one', async () => {
    const { clock, api, writer, results, cached } = setup();
    api.obj = { ...api.obj, status: status(0) };
    cached.obj = structuredClone(api.obj);
    writer.set({ ...status(0), imageStatuses: undefined });
    clock.advance(0);
    await settle();
    assert.equal(api.writes.length, 0);
    assert.deepEqual(results, ['unchanged']);
  });

  it('should not write an empty status to a NodeImage that has none', async () => {
    const { clock, api, writer } = setup();
    writer.set({ desired: 0, succeeded: 0, failed: 0, pulling: 0 });
    clock.advance(0);
    await settle();
    assert.equal(api.writes.length, 0);
  });

  it('should write on the version of its own last write when the cache lags', async () => {
    const { clock, api, writer, results } = setup({ minIntervalMs: 10 });
    writer.set(status(2));
    clock.advance(0);
    await settle();
    writer.set(status(1));
    clock.advance(10);
    await settle();
    assert.equal(api.writes.length, 2);
    assert.deepEqual(results, ['success', 'success'], 'no conflict although the cache still has version 10');
  });

  it('should re-read and write again on a conflict', async () => {
    const { clock, api, writer, results } = setup();
    api.bump();
    writer.set(status(1));
    clock.advance(0);
    await settle();
    assert.deepEqual(results, ['conflict', 'success']);
    assert.equal(api.gets, 1);
    assert.deepEqual(api.obj.status, status(1));
  });

  it('should back off and retry after an error, with the latest status', async () => {
    const { clock, api, writer, results } = setup({ retryInitialMs: 500 });
    api.failNext.push(new KubeApiError('unavailable', { code: 503, reason: 'ServiceUnavailable' }));
    writer.set(status(2));
    clock.advance(0);
    await settle();
    assert.deepEqual(results, ['error']);
    writer.set(status(1));
    clock.advance(499);
    await settle();
    assert.equal(api.writes.length, 0);
    clock.advance(1);
    await settle();
    assert.equal(api.writes.length, 1);
    assert.deepEqual(api.writes[0]!.status, status(1));
  });

  it('should write what is pending on close without waiting for the interval', async () => {
    const { clock, api, writer } = setup({ minIntervalMs: 10_000 });
    writer.set(status(2));
    clock.advance(0);
    await settle();
    writer.set(status(0));
    const closed = writer.close();
    await settle();
    await closed;
    assert.equal(api.writes.length, 2);
    assert.deepEqual(api.writes[1]!.status, status(0));
  });
});
