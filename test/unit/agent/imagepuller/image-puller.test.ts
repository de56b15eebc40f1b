/**
 * The pull executor on a fake clock against a scripted CRI: exact PullImage calls and when they happen, the
 * per-image lock, the concurrency cap, the three clocks and stopping (STYLE A2: assert the exact CRI calls).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ImageTagSpec } from '../../../../src/api/nodeimage-types.js';
import { fixedCriSource, type CriSource } from '../../../../src/agent/cri-connector.js';
import type { ImagePullerMetrics, PullResult } from '../../../../src/agent/imagepuller/agent-metrics.js';
import { ImagePuller, type ImagePullerOptions } from '../../../../src/agent/imagepuller/image-puller.js';
import { KeyedMutex } from '../../../../src/agent/imagepuller/keyed-mutex.js';
import { DEADLINE_MESSAGE, PullTask, compileTagPolicy, formatTime } from '../../../../src/agent/imagepuller/pull-task.js';
import type { CriApi } from '../../../../src/cri/cri-api.js';
import { CriError } from '../../../../src/cri/cri-error.js';
import { parseImageReference } from '../../../../src/cri/image-reference.js';
import { RegistryKeyring } from '../../../../src/cri/registry-credentials.js';
import { FakeClock } from '../../../../src/kube/workqueue/fake-clock.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface PullCall { image: string; at: number; settle(outcome: 'ok' | CriError): void; aborted: boolean }

/** A scripted CRI image service: records every call; pulls settle when the test says so (or at once if `auto`). */
class FakeCri {
  readonly present = new Map<string, { id: string; size: number }>();
  readonly calls: PullCall[] = [];
  readonly statusCalls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly inFlightByImage = new Map<string, number>();
  maxSameImage = 0;
  /** Settle each pull at once: with this error, or success. */
  auto: 'ok' | CriError | undefined;

  imageStatus = async (req: { image?: { image?: string } | null }): Promise<unknown> => {
    const image = normal(req.image?.image ?? '');
    this.statusCalls.push(image);
    const p = this.present.get(image);
    return { image: p === undefined ? null : { id: p.id, size: String(p.size), repoTags: [image], repoDigests: [] }, info: {} };
  };

  pullImage = (req: { image?: { image?: string } | null }, opts?: { signal?: AbortSignal }): Promise<unknown> => {
    const image = normal(req.image?.image ?? '');
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const same = (this.inFlightByImage.get(image) ?? 0) + 1;
    this.inFlightByImage.set(image, same);
    this.maxSameImage = Math.max(this.maxSameImage, same);
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        done = true;
        this.inFlight--;
        this.inFlightByImage.set(image, (this.inFlightByImage.get(image) ?? 1) - 1);
      };
      const call: PullCall = {
        image, at: clockNow(), aborted: false,
        settle: (outcome) => {
          if (done) return;
          finish();
          if (outcome === 'ok') {
            const id = `sha256:${image.length.toString(16).padStart(64, '0')}`;
            this.present.set(image, { id, size: 1000 });
            resolve({ imageRef: id });
          } else {
            reject(outcome);
          }
        },
      };
      opts?.signal?.addEventListener('abort', () => {
        if (done) return;
        call.aborted = true;
        finish();
        reject(new CriError({ method: 'PullImage', grpcCode: GrpcStatus.CANCELLED, details: 'cancelled' }));
      }, { once: true });
      this.calls.push(call);
      if (this.auto !== undefined) call.settle(this.auto);
    });
  };

  asCri(): CriApi { return this as unknown as CriApi; }
}

let clockNow: () => number = () => 0;

function normal(image: string): string {
  return parseImageReference(image).toString();
}

function notFound(): CriError {
  return new CriError({ method: 'PullImage', grpcCode: GrpcStatus.NOT_FOUND, details: 'failed to resolve reference: not found' });
}

class RecordingMetrics implements ImagePullerMetrics {
  readonly results: PullResult[] = [];
  bytes = 0;
  depth: number[] = [];
  inflight: number[] = [];
  pullFinished(result: PullResult): void { this.results.push(result); }
  pulledBytes(bytes: number): void { this.bytes += bytes; }
  queueDepth(n: number): void { this.depth.push(n); }
  inFlight(n: number): void { this.inflight.push(n); }
  statusWrite(): void {}
}

interface Setup { clock: FakeClock; cri: FakeCri; puller: ImagePuller; metrics: RecordingMetrics; changes: string[] }

function setup(o: Partial<ImagePullerOptions> = {}): Setup {
  const clock = new FakeClock(T0);
  clockNow = () => clock.now();
  const cri = new FakeCri();
  const metrics = new RecordingMetrics();
  const changes: string[] = [];
  const puller = new ImagePuller({
    cri: fixedCriSource(cri.asCri()),
    credentials: async () => new RegistryKeyring([]),
    clock, jitter: 0, metrics,
    onChange: (t) => changes.push(`${t.reference} ${t.state}`),
    ...o,
  });
  return { clock, cri, puller, metrics, changes };
}

function task(image: string, tagName: string, policy: ImageTagSpec['pullPolicy'] = {}, extra: Partial<ImageTagSpec> = {}): PullTask {
  return new PullTask({
    image, tag: tagName, version: 0, policy: compileTagPolicy({ tag: tagName, pullPolicy: policy, ...extra }),
    pullSecrets: [], ownerReferences: [], startTime: formatTime(T0), resumed: false,
  });
}

/** Runs the event loop and the fake clock (timer by timer) until `cond` holds. */
async function runUntil(clock: FakeClock, cond: () => boolean, what: string, maxSteps = 100): Promise<void> {
  for (let i = 0; i < maxSteps; i++) {
    await settle();
    if (cond()) return;
    const next = clock.nextTimerAt();
    if (next === undefined) throw new Error(`stuck waiting for ${what}: no timer pending`);
    clock.set(next);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('ImagePuller', () => {
  it('should succeed without a pull when the image is already present', async () => {
    const { cri, puller, metrics } = setup();
    cri.present.set(normal('nginx:1.25'), { id: 'sha256:present', size: 5 });
    const t = task('nginx', '1.25');
    puller.start(t);
    await settle();
    assert.equal(t.state, 'Succeeded');
    assert.equal(t.toStatus()?.imageID, 'nginx@sha256:present');
    assert.equal(cri.calls.length, 0);
    assert.deepEqual(metrics.results, ['already_present']);
    assert.equal(metrics.bytes, 0);
  });

  it('should pull an image already present again when the tag asks for imagePullPolicy Always', async () => {
    const { cri, puller, metrics } = setup();
    cri.auto = 'ok';
    cri.present.set(normal('nginx:latest'), { id: 'sha256:old', size: 5 });
    const t = task('nginx', 'latest', {}, { imagePullPolicy: 'Always' });
    puller.start(t);
    await settle();
    assert.equal(t.state, 'Succeeded');
    assert.equal(cri.calls.length, 1);
    assert.deepEqual(metrics.results, ['succeeded']);
    assert.equal(metrics.bytes, 1000, 'bytes come from ImageStatus after the pull');
  });

  it('should report Pulling then Succeeded, with the runtime image id', async () => {
    const { cri, puller, changes } = setup();
    const t = task('nginx', '1.25');
    puller.start(t);
    await settle();
    assert.equal(t.state, 'Pulling');
    assert.equal(puller.inFlight, 1);
    cri.calls[0]!.settle('ok');
    await settle();
    assert.equal(t.state, 'Succeeded');
    assert.match(t.toStatus()?.imageID ?? '', /^nginx@sha256:/);
    assert.deepEqual(changes, ['nginx:1.25 Pulling', 'nginx:1.25 Succeeded']);
    assert.equal(puller.inFlight, 0);
  });

  it('should never pull one image twice at once, however its NodeImage entries spell it', async () => {
    const { cri, puller } = setup();
    const a = task('nginx', '1.25');
    const b = task('docker.io/library/nginx', '1.25');
    const other = task('nginx', '1.26');
    puller.start(a);
    puller.start(b);
    puller.start(other);
    await settle();
    assert.deepEqual(cri.calls.map((c) => c.image), ['docker.io/library/nginx:1.25', 'docker.io/library/nginx:1.26'],
      'another tag of the same repository is another image');
    assert.equal(b.state, 'Waiting');
    cri.calls[0]!.settle('ok');
    await settle();
    assert.equal(a.state, 'Succeeded');
    assert.equal(b.state, 'Succeeded', 'the second finds the image present');
    assert.equal(cri.calls.length, 2, 'no second pull of nginx:1.25');
    assert.equal(cri.maxSameImage, 1);
  });

  it('should run at most maxConcurrentPulls pulls at once, and start the next as one ends', async () => {
    const { cri, puller, metrics } = setup({ maxConcurrentPulls: 2 });
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((n) => task(`app-${n}`, 'v1'));
    for (const t of tasks) puller.start(t);
    await settle();
    assert.equal(cri.calls.length, 2);
    assert.equal(puller.inFlight, 2);
    cri.calls[0]!.settle('ok');
    await settle();
    assert.equal(cri.calls.length, 3);
    for (let i = 1; i < 5; i++) {
      cri.calls[i]!.settle('ok');
      await settle();
    }
    assert.ok(tasks.every((t) => t.state === 'Succeeded'));
    assert.equal(cri.maxInFlight, 2);
    assert.equal(Math.max(...metrics.inflight), 2);
    assert.equal(metrics.depth.at(-1), 0);
  });

  it('should retry after 1, 2 and 4 s and fail after backoffLimit + 1 attempts with the last error', async () => {
    const { clock, cri, puller, metrics } = setup();
    cri.auto = notFound();
    const t = task('registry.invalid/app', 'v1', { backoffLimit: 3 });
    puller.start(t);
    await runUntil(clock, () => t.finished, 'the task to fail');
    assert.equal(t.state, 'Failed');
    assert.deepEqual(cri.calls.map((c) => c.at - T0), [0, 1000, 3000, 7000]);
    assert.match(t.message ?? '', /NOT_FOUND/);
    assert.equal(t.attempts, 4);
    assert.deepEqual(metrics.results, ['failed']);
  });

  it('should make 4 attempts when backoffLimit is negative', async () => {
    const { clock, cri, puller } = setup();
    cri.auto = notFound();
    const t = task('registry.invalid/app', 'v1', { backoffLimit: -5 });
    puller.start(t);
    await runUntil(clock, () => t.finished, 'the task to fail');
    assert.equal(cri.calls.length, 4);
  });

  it('should cap the backoff with the configured base and cap', async () => {
    const { clock, cri, puller } = setup({ backoff: { baseMs: 10, capMs: 25 } });
    cri.auto = notFound();
    const t = task('registry.invalid/app', 'v1', { backoffLimit: 4 });
    puller.start(t);
    await runUntil(clock, () => t.finished, 'the task to fail');
    assert.deepEqual(cri.calls.map((c) => c.at - T0), [0, 10, 30, 55, 80]);
  });

  it('should fail with the deadline message once activeDeadlineSeconds has passed, cancelling the pull', async () => {
    const { clock, cri, puller } = setup();
    const t = task('nginx', 'slow', { timeoutSeconds: 600, activeDeadlineSeconds: 5 });
    puller.start(t);
    await settle();
    assert.equal(cri.calls.length, 1);
    clock.advance(5000);
    await settle();
    assert.equal(t.state, 'Failed');
    assert.equal(t.message, DEADLINE_MESSAGE);
    assert.equal(cri.calls[0]!.aborted, true);
  });

  it('should fail at once with the deadline message when resuming a pull whose deadline already passed', async () => {
    const { clock, cri, puller } = setup();
    clock.advance(60_000);
    const t = task('nginx', 'late', { activeDeadlineSeconds: 30 });
    puller.start(t);
    await settle();
    assert.equal(t.state, 'Failed');
    assert.equal(t.message, DEADLINE_MESSAGE);
    assert.equal(cri.calls.length, 0);
  });

  it('should end an attempt at its timeout and try again after the backoff', async () => {
    const { clock, cri, puller } = setup();
    const t = task('nginx', 'hang', { timeoutSeconds: 2, backoffLimit: 1 });
    puller.start(t);
    await settle();
    clock.advance(2000);
    await settle();
    assert.equal(cri.calls[0]!.aborted, true);
    assert.match(t.message ?? '', /timed out after 2s/);
    assert.equal(t.state, 'Pulling');
    clock.advance(1000);
    await settle();
    assert.equal(cri.calls.length, 2);
    cri.calls[1]!.settle('ok');
    await settle();
    assert.equal(t.state, 'Succeeded');
  });

  it('should stop a task without recording anything, cancel its pull and free its image', async () => {
    const { cri, puller, changes } = setup();
    const a = task('nginx', '1.25');
    const b = task('nginx', '1.25');
    puller.start(a);
    puller.start(b);
    await settle();
    await puller.stop(a);
    assert.equal(a.state, 'Stopped');
    assert.equal(a.toStatus(), undefined);
    assert.equal(cri.calls[0]!.aborted, true);
    await settle();
    assert.equal(cri.calls.length, 2, 'the waiting task got the image lock and pulls');
    assert.ok(!changes.includes('nginx:1.25 Stopped'));
  });

  it('should stop a task during its backoff at once', async () => {
    const { cri, puller } = setup();
    cri.auto = notFound();
    const t = task('registry.invalid/app', 'v1');
    puller.start(t);
    await settle();
    assert.equal(t.state, 'Pulling');
    await puller.destroy();
    assert.equal(t.state, 'Stopped');
    assert.equal(puller.size, 0);
  });

  it('should keep tasks Waiting while the CRI runtime is not there, counted in the queue depth', async () => {
    let provide: ((cri: CriApi) => void) | undefined;
    const source: CriSource = { get: (signal) => new Promise((resolve, reject) => {
      provide = resolve;
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    }) };
    const { cri, puller, metrics } = setup({ cri: source });
    cri.auto = 'ok';
    const t = task('nginx', '1.25');
    puller.start(t);
    await settle();
    assert.equal(t.state, 'Waiting');
    assert.equal(metrics.depth.at(-1), 1);
    const late = cri.asCri();
    provide?.(late);
    // The attempt asks the source again: answer at once from now on.
    source.get = () => Promise.resolve(late);
    await settle();
    assert.equal(t.state, 'Succeeded');
    assert.equal(metrics.depth.at(-1), 0);
  });

  it('should fail an invalid reference at once, without an attempt', async () => {
    const { cri, puller } = setup();
    const t = task('UPPER/Case', 'v1');
    puller.start(t);
    await settle();
    assert.equal(t.state, 'Failed');
    assert.match(t.message ?? '', /invalid image reference/);
    assert.equal(cri.calls.length + cri.statusCalls.length, 0);
  });

  it('should retry while the runtime is unavailable and succeed when it is back', async () => {
    const { clock, cri, puller } = setup();
    cri.auto = new CriError({ method: 'PullImage', grpcCode: GrpcStatus.UNAVAILABLE, details: 'connection refused' });
    const t = task('nginx', 'flaky');
    puller.start(t);
    await runUntil(clock, () => cri.calls.length === 2, 'a second attempt');
    cri.auto = 'ok';
    await runUntil(clock, () => t.finished, 'success');
    assert.equal(t.state, 'Succeeded');
    assert.equal(cri.calls.length, 3);
  });
});

describe('KeyedMutex', () => {
  it('should hand a key to waiters in order and skip a waiter that gave up', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const r1 = await m.acquire('k');
    const gaveUp = new AbortController();
    const p2 = m.acquire('k', gaveUp.signal).then(() => order.push('2'), () => order.push('2 aborted'));
    const p3 = m.acquire('k').then((r) => { order.push('3'); r(); });
    assert.equal(m.waiting('k'), 2);
    gaveUp.abort(new Error('stop'));
    await p2;
    r1();
    r1();
    await p3;
    assert.deepEqual(order, ['2 aborted', '3']);
    assert.equal(m.isHeld('k'), false);
  });
});
