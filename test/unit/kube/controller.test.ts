import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';

import { KruiseError } from '../../../src/api/errors.js';
import {
  Controller, TerminalError, compileControllerOptions, type ControllerOptions, type ReconcileContext, type Reconciler,
} from '../../../src/kube/controller/index.js';
import { KubeMetrics } from '../../../src/kube/metrics.js';
import { FakeClock } from '../../../src/kube/workqueue/fake-clock.js';
import { ItemExponentialFailureRateLimiter } from '../../../src/kube/workqueue/index.js';

const logger = pino({ level: 'silent' });

/** Polls `cond` between event-loop turns until it holds or the real-time deadline passes. */
async function waitFor(cond: () => boolean, what: string, deadlineMs = 2_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** A few event-loop turns, to show something did NOT happen. */
async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Deferred { promise: Promise<void>; resolve(): void; reject(e: unknown): void }
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

interface Harness {
  controller: Controller;
  clock: FakeClock;
  registry: Registry;
  ac: AbortController;
  started: { done: boolean; error: unknown; promise: Promise<void> };
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

function harness(reconciler: Reconciler, o: Partial<ControllerOptions> = {}): Harness {
  const clock = new FakeClock();
  const registry = new Registry();
  const controller = new Controller({
    name: 'test', reconciler, logger, clock, metrics: new KubeMetrics(registry),
    rateLimiter: new ItemExponentialFailureRateLimiter(), ...o,
  });
  const ac = new AbortController();
  const started = { done: false, error: undefined as unknown, promise: Promise.resolve() };
  started.promise = controller.start(ac.signal).then(() => { started.done = true; }, (e: unknown) => { started.done = true; started.error = e; });
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const m = registry.getSingleMetric(name);
    if (!m) throw new Error(`no metric ${name}`);
    const { values } = await m.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
      // histograms: count observations only (their _count series)
      .filter((v) => { const n = (v as { metricName?: string }).metricName; return n === undefined || n.endsWith('_count'); })
      .reduce((sum, v) => sum + v.value, 0);
  };
  return { controller, clock, registry, ac, started, metric };
}

async function stop(h: Harness): Promise<void> {
  h.ac.abort();
  await h.started.promise;
}

describe('Controller', () => {
  it('should reconcile an enqueued key once and count a success', async () => {
    const calls: string[] = [];
    const h = harness({ reconcile: async (key) => { calls.push(key); } });
    h.controller.enqueue('default/a');
    await waitFor(() => calls.length === 1, 'the reconcile');
    await settle();
    assert.deepEqual(calls, ['default/a']);
    assert.equal(await h.metric('controller_reconcile_total', { controller: 'test', result: 'success' }), 1);
    await stop(h);
  });

  it('should give each reconcile a signal, a logger and a unique reconcileId', async () => {
    const seen: ReconcileContext[] = [];
    const h = harness({ reconcile: async (_key, ctx) => { seen.push(ctx); } });
    h.controller.enqueue('a');
    await waitFor(() => seen.length === 1, 'first reconcile');
    h.controller.enqueue('a');
    await waitFor(() => seen.length === 2, 'second reconcile');
    const [first, second] = seen as [ReconcileContext, ReconcileContext];
    assert.notEqual(first.reconcileId, second.reconcileId);
    assert.match(first.reconcileId, /^[0-9a-f-]{36}$/);
    assert.equal(first.signal.aborted, false);
    assert.deepEqual(first.logger.bindings(), { controller: 'test', key: 'a', reconcileId: first.reconcileId });
    await stop(h);
  });

  it('should requeue a key with backoff when the reconcile fails with a retryable error', async () => {
    let calls = 0;
    const h = harness({
      reconcile: async () => {
        calls++;
        if (calls <= 2) throw new KruiseError('conflict', { reason: 'Conflict', retryable: true });
      },
    });
    h.controller.enqueue('a');
    await waitFor(() => calls === 1, 'first attempt');
    await settle();
    h.clock.advance(4);
    await settle();
    assert.equal(calls, 1, 'not retried before 5 ms');
    h.clock.advance(1);
    await waitFor(() => calls === 2, 'retry after 5 ms');
    await settle();
    h.clock.advance(9);
    await settle();
    assert.equal(calls, 2, 'second retry waits 10 ms');
    h.clock.advance(1);
    await waitFor(() => calls === 3, 'retry after 10 ms');
    assert.equal(await h.metric('controller_reconcile_errors_total', { controller: 'test', reason: 'Conflict' }), 2);
    assert.equal(await h.metric('workqueue_retries_total', { name: 'test' }), 2);
    await stop(h);
  });

  it('should reset the backoff of a key once its reconcile succeeds', async () => {
    let calls = 0;
    const failOn = new Set([1, 3]);
    const h = harness({ reconcile: async () => { calls++; if (failOn.has(calls)) throw new KruiseError('x', { reason: 'InternalError' }); } });
    h.controller.enqueue('a');
    await waitFor(() => calls === 1, 'attempt 1');
    await settle();
    h.clock.advance(5);
    await waitFor(() => calls === 2, 'attempt 2 (succeeds)');
    h.controller.enqueue('a');
    await waitFor(() => calls === 3, 'attempt 3 (fails)');
    await settle();
    h.clock.advance(5);
    await waitFor(() => calls === 4, 'retry after 5 ms again, not 10 ms');
    await stop(h);
  });

  it('should not requeue a key whose reconcile threw a TerminalError', async () => {
    let calls = 0;
    const h = harness({ reconcile: async () => { calls++; throw new TerminalError('spec is invalid', { reason: 'Invalid' }); } });
    h.controller.enqueue('a');
    await waitFor(() => calls === 1, 'the reconcile');
    await settle();
    h.clock.advance(2_000_000);
    await settle();
    assert.equal(calls, 1);
    assert.equal(await h.metric('controller_reconcile_errors_total', { controller: 'test', reason: 'Invalid' }), 1);
    assert.equal(await h.metric('controller_reconcile_total', { controller: 'test', result: 'terminal_error' }), 1);
    assert.equal(await h.metric('workqueue_retries_total', { name: 'test' }), 0);
    // a later change reconciles it again
    h.controller.enqueue('a');
    await waitFor(() => calls === 2, 'the next change');
    await stop(h);
  });

  it('should keep running after a reconcile throws an unexpected exception, and retry that key', async () => {
    const calls: string[] = [];
    const reconciler: Reconciler = {
      // not async: throws synchronously, like a bug before the first await
      reconcile(key) {
        calls.push(key);
        if (key === 'bad' && calls.filter((k) => k === 'bad').length === 1) throw new TypeError("Cannot read properties of undefined (reading 'spec')");
        return Promise.resolve();
      },
    };
    const h = harness(reconciler);
    h.controller.enqueue('bad');
    h.controller.enqueue('good');
    await waitFor(() => calls.includes('good'), 'the other key');
    await settle();
    h.clock.advance(5);
    await waitFor(() => calls.filter((k) => k === 'bad').length === 2, 'the retry of the bad key');
    assert.equal(await h.metric('controller_reconcile_exceptions_total', { controller: 'test' }), 1);
    assert.equal(await h.metric('controller_reconcile_errors_total', { controller: 'test', reason: 'Exception' }), 1);
    assert.equal(h.started.done, false, 'the controller is still running');
    await stop(h);
    assert.equal(h.started.error, undefined);
  });

  it('should log an exception with the controller, the key, the reconcileId and the stack', async () => {
    const lines: Record<string, unknown>[] = [];
    const capture = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
    let id = '';
    const h = harness({ reconcile: async (_key, ctx) => { id = ctx.reconcileId; throw new RangeError('index out of range'); } }, { logger: capture });
    h.controller.enqueue('ns/web');
    await waitFor(() => lines.some((l) => l.level === 50), 'the error line');
    const line = lines.find((l) => l.level === 50) as { controller: string; key: string; reconcileId: string; msg: string; err: { type: string; stack: string } };
    assert.equal(line.controller, 'test');
    assert.equal(line.key, 'ns/web');
    assert.equal(line.reconcileId, id);
    assert.equal(line.err.type, 'RangeError');
    assert.match(line.err.stack, /index out of range/);
    assert.equal(line.msg, 'reconcile threw an unexpected exception; retrying with backoff');
    await stop(h);
  });

  it('should count a thrown non-Error value as an exception', async () => {
    let calls = 0;
    const h = harness({ reconcile: async () => { calls++; throw 'a string'; } });
    h.controller.enqueue('a');
    await waitFor(() => calls === 1, 'the reconcile');
    await settle();
    assert.equal(await h.metric('controller_reconcile_exceptions_total', { controller: 'test' }), 1);
    await stop(h);
  });

  it('should reconcile again after requeueAfterMs', async () => {
    let calls = 0;
    const h = harness({ reconcile: async () => { calls++; return calls === 1 ? { requeueAfterMs: 3_000 } : undefined; } });
    h.controller.enqueue('a');
    await waitFor(() => calls === 1, 'first reconcile');
    await settle();
    h.clock.advance(2_999);
    await settle();
    assert.equal(calls, 1);
    h.clock.advance(1);
    await waitFor(() => calls === 2, 'the requeue');
    assert.equal(await h.metric('controller_reconcile_total', { controller: 'test', result: 'requeue_after' }), 1);
    await stop(h);
  });

  it('should treat requeueAfterMs of 0 as done', async () => {
    let calls = 0;
    const h = harness({ reconcile: async () => { calls++; return { requeueAfterMs: 0 }; } });
    h.controller.enqueue('a');
    await waitFor(() => calls === 1, 'the reconcile');
    h.clock.advance(10_000);
    await settle();
    assert.equal(calls, 1);
    await stop(h);
  });

  it('should run N workers in parallel but never the same key at once', async () => {
    const active = new Map<string, number>();
    let maxParallel = 0;
    let violations = 0;
    const gates: Deferred[] = [];
    let calls = 0;
    const h = harness({
      reconcile: async (key) => {
        calls++;
        if (active.has(key)) violations++;
        active.set(key, 1);
        maxParallel = Math.max(maxParallel, active.size);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        active.delete(key);
      },
    }, { workers: 3 });
    for (const k of ['a', 'b', 'c', 'd', 'a', 'b']) h.controller.enqueue(k);
    await waitFor(() => active.size === 3, 'three reconciles at once');
    await settle();
    assert.equal(active.size, 3, 'no more than 3 workers');
    h.controller.enqueue('a'); // while 'a' is in flight
    h.controller.enqueue('b');
    for (let i = 0; i < 50 && (calls < 6 || active.size > 0); i++) {
      for (const g of gates.splice(0)) g.resolve();
      await settle(2);
    }
    assert.equal(violations, 0);
    assert.equal(maxParallel, 3);
    assert.equal(calls, 6, 'a, b, c, d, then a and b again (re-added while in flight)');
    await stop(h);
  });

  it('should resolve start() only after in-flight reconciles finished', async () => {
    const gate = deferred();
    let finished = false;
    const h = harness({ reconcile: async () => { await gate.promise; finished = true; } });
    h.controller.enqueue('a');
    h.controller.enqueue('b');
    await waitFor(() => h.controller.state === 'running', 'running');
    await settle();
    h.ac.abort();
    await settle();
    assert.equal(h.controller.state, 'draining');
    assert.equal(h.started.done, false, 'start waits for the in-flight reconcile');
    gate.resolve();
    await h.started.promise;
    assert.equal(finished, true);
    assert.equal(h.controller.state, 'stopped');
    assert.equal(await h.metric('controller_reconcile_total', { controller: 'test' }), 1, "queued key 'b' was not started");
  });

  it('should abort in-flight reconciles when the shutdown grace expires', async () => {
    let signal: AbortSignal | undefined;
    const h = harness({
      reconcile: async (_key, ctx) => {
        signal = ctx.signal;
        await new Promise<void>((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
      },
    }, { shutdownGraceMs: 30_000 });
    h.controller.enqueue('a');
    await waitFor(() => signal !== undefined, 'the reconcile');
    h.ac.abort();
    await settle();
    h.clock.advance(29_999);
    await settle();
    assert.equal(signal?.aborted, false);
    assert.equal(h.started.done, false);
    h.clock.advance(1);
    await h.started.promise;
    assert.equal(signal?.aborted, true);
    assert.equal(h.started.error, undefined);
    assert.equal(await h.metric('controller_reconcile_errors_total', { controller: 'test', reason: 'Aborted' }), 1);
  });

  it('should reject start() when a reconcile ignores its abort past the force period', async () => {
    let running = false;
    const h = harness({ reconcile: () => { running = true; return new Promise<void>(() => undefined); } }, { shutdownGraceMs: 100, shutdownForceMs: 50 });
    h.controller.enqueue('a');
    await waitFor(() => running, 'the reconcile');
    h.ac.abort();
    await settle();
    h.clock.advance(100);
    await settle();
    assert.equal(h.started.done, false);
    h.clock.advance(50);
    await h.started.promise;
    assert.ok(KruiseError.is(h.started.error));
    assert.equal((h.started.error as KruiseError).reason, 'GracefulShutdownPeriodExpired');
    assert.equal(h.controller.state, 'stopped');
  });

  it('should abort a reconcile after reconcileTimeoutMs and retry it with backoff', async () => {
    let calls = 0;
    const h = harness({
      reconcile: async (_key, ctx) => {
        calls++;
        if (calls > 1) return;
        await new Promise<void>((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
      },
    }, { reconcileTimeoutMs: 1_000 });
    h.controller.enqueue('a');
    await waitFor(() => calls === 1, 'the reconcile');
    h.clock.advance(1_000);
    await waitFor(metricIsPositive(h, 'controller_reconcile_errors_total', { reason: 'Timeout' }), 'the timeout');
    h.clock.advance(5);
    await waitFor(() => calls === 2, 'the retry');
    await stop(h);
  });

  it('close() should drain and destroy() should abort in-flight reconciles', async () => {
    let signal: AbortSignal | undefined;
    const h = harness({
      reconcile: async (_key, ctx) => {
        signal = ctx.signal;
        await new Promise<void>((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)));
      },
    });
    h.controller.enqueue('a');
    await waitFor(() => signal !== undefined, 'the reconcile');
    const closed = h.controller.close();
    await settle();
    assert.equal(h.controller.state, 'draining');
    assert.equal(signal?.aborted, false);
    await h.controller.destroy(new Error('now'));
    await closed;
    assert.equal(signal?.aborted, true);
    assert.equal(h.controller.state, 'stopped');
  });

  it('should not start twice', async () => {
    const h = harness({ reconcile: async () => undefined });
    await assert.rejects(h.controller.start(new AbortController().signal), (e: unknown) => KruiseError.is(e) && e.reason === 'AlreadyStarted');
    await stop(h);
  });

  it('should return from start() at once when its signal is already aborted', async () => {
    const controller = new Controller({ name: 'x', reconciler: { reconcile: async () => undefined }, logger, clock: new FakeClock() });
    controller.enqueue('a');
    await controller.start(AbortSignal.abort());
    assert.equal(controller.state, 'stopped');
  });

  it('should reject invalid options with the field that is wrong', () => {
    const base = { name: 'x', reconciler: { reconcile: async () => undefined }, logger };
    assert.throws(() => compileControllerOptions({ ...base, workers: 0 }), (e: unknown) => KruiseError.is(e) && e.fieldPath === 'workers');
    assert.throws(() => compileControllerOptions({ ...base, name: '' }), (e: unknown) => KruiseError.is(e) && e.fieldPath === 'name');
    assert.throws(() => compileControllerOptions({ ...base, shutdownGraceMs: -1 }), (e: unknown) => KruiseError.is(e) && e.fieldPath === 'shutdownGraceMs');
    const o = compileControllerOptions(base);
    assert.equal(o.workers, 1);
    assert.equal(o.reconcileTimeoutMs, 300_000);
    assert.equal(o.shutdownGraceMs, 30_000);
    assert.ok(Object.isFrozen(o));
  });
});

describe('TerminalError', () => {
  it('should be a non-retryable KruiseError recognised by brand', () => {
    const e = new TerminalError('bad spec', { reason: 'Invalid', fieldPath: 'spec.replicas' });
    assert.ok(KruiseError.is(e));
    assert.ok(TerminalError.is(e));
    assert.equal(e.retryable, false);
    assert.equal(e.fieldPath, 'spec.replicas');
    assert.equal(new TerminalError('x').reason, 'Terminal');
    assert.equal(TerminalError.is(new KruiseError('x', { reason: 'Invalid' })), false);
  });
});

/** A waitFor condition over a metric that is read asynchronously: starts a read per poll and keeps the last value. */
function metricIsPositive(h: Harness, name: string, labels: Record<string, string>): () => boolean {
  let value = 0;
  let reading = false;
  return () => {
    if (!reading) { reading = true; void h.metric(name, labels).then((v) => { value = v; reading = false; }); }
    return value > 0;
  };
}
