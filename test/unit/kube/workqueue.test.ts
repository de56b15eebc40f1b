import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { FakeClock } from '../../../src/kube/workqueue/fake-clock.js';
import {
  BucketRateLimiter, ItemExponentialFailureRateLimiter, MAX_TIMER_DELAY_MS, MaxOfRateLimiter, WorkQueue,
  clampDelayMs, defaultControllerRateLimiter, type GetResult, type RateLimiter, type WorkQueueMetrics,
} from '../../../src/kube/workqueue/index.js';

/** Lets promise callbacks run; no time passes. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function newQueue(o: { clock?: FakeClock; rateLimiter?: RateLimiter; metrics?: WorkQueueMetrics } = {}): { q: WorkQueue; clock: FakeClock } {
  const clock = o.clock ?? new FakeClock();
  const q = new WorkQueue<string>({
    name: 'test', clock,
    rateLimiter: o.rateLimiter ?? new ItemExponentialFailureRateLimiter(),
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  return { q, clock };
}

async function take(q: WorkQueue): Promise<string> {
  const r = await q.get();
  assert.equal(r.shutdown, false, 'expected a key, got shutdown');
  return (r as { item: string }).item;
}

/** A get that must not have resolved yet, inspected later. */
function pending<T>(p: Promise<T>): { settled: () => boolean; value: () => T | undefined } {
  let done = false;
  let v: T | undefined;
  void p.then((x) => { done = true; v = x; });
  return { settled: () => done, value: () => v };
}

describe('ItemExponentialFailureRateLimiter', () => {
  it('should back off 5, 10, 20 ms ... doubling per failure and cap at 1000 s', () => {
    const l = new ItemExponentialFailureRateLimiter();
    const delays = Array.from({ length: 30 }, () => l.when('a'));
    assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
    // 5 · 2^17 = 655 360 ms < 1000 s ≤ 5 · 2^18
    assert.equal(delays[17], 655_360);
    assert.equal(delays[18], 1_000_000);
    assert.ok(delays.slice(18).every((d) => d === 1_000_000));
    assert.equal(l.numRequeues('a'), 30);
  });

  it('should start again at 5 ms after forget', () => {
    const l = new ItemExponentialFailureRateLimiter();
    l.when('a'); l.when('a'); l.when('a');
    l.forget('a');
    assert.equal(l.numRequeues('a'), 0);
    assert.equal(l.when('a'), 5);
  });

  it('should count failures per key', () => {
    const l = new ItemExponentialFailureRateLimiter();
    l.when('a'); l.when('a');
    assert.equal(l.when('b'), 5);
    assert.equal(l.when('a'), 20);
  });

  it('should stay capped however many failures happen', () => {
    const l = new ItemExponentialFailureRateLimiter({ baseDelayMs: 500, maxDelayMs: 50_000 });
    let last = 0;
    for (let i = 0; i < 2000; i++) last = l.when('a');
    assert.equal(last, 50_000);
  });

  it('should satisfy min(base · 2^(n−1), max) for any failure count, and reset on forget', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 80 }), (n, m) => {
      const l = new ItemExponentialFailureRateLimiter();
      let d = 0;
      for (let i = 0; i < n; i++) d = l.when('k');
      assert.equal(d, Math.min(5 * 2 ** (n - 1), 1_000_000));
      l.forget('k');
      for (let i = 0; i < m; i++) d = l.when('k');
      assert.equal(d, Math.min(5 * 2 ** (m - 1), 1_000_000));
    }));
  });

  it('should reject a non-positive base delay', () => {
    assert.throws(() => new ItemExponentialFailureRateLimiter({ baseDelayMs: 0 }), RangeError);
    assert.throws(() => new ItemExponentialFailureRateLimiter({ baseDelayMs: 10, maxDelayMs: 5 }), RangeError);
  });
});

describe('BucketRateLimiter', () => {
  it('should let the burst through at once and then space retries at qps', () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter({ qps: 10, burst: 100, clock });
    for (let i = 0; i < 100; i++) assert.equal(l.when(`k${i}`), 0);
    assert.equal(Math.round(l.when('x')), 100);
    assert.equal(Math.round(l.when('y')), 200);
    assert.equal(l.numRequeues('x'), 0);
  });

  it('should refill as time passes', () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter({ qps: 10, burst: 2, clock });
    l.when('a'); l.when('b');
    assert.ok(l.when('c') > 0);
    clock.advance(1_000);
    assert.equal(l.when('d'), 0);
  });
});

describe('MaxOfRateLimiter', () => {
  it('should wait the longest of its limiters and forget in all of them', () => {
    const clock = new FakeClock();
    const l = new MaxOfRateLimiter<string>(new ItemExponentialFailureRateLimiter(), new BucketRateLimiter({ qps: 1, burst: 1, clock }));
    assert.equal(l.when('a'), 5); // bucket had a token
    assert.equal(Math.round(l.when('a')), 1_000); // bucket empty: 1 s > 10 ms
    assert.equal(l.numRequeues('a'), 2);
    l.forget('a');
    assert.equal(l.numRequeues('a'), 0);
    assert.throws(() => new MaxOfRateLimiter(), RangeError);
  });

  it('should be what defaultControllerRateLimiter builds: per-key backoff until the overall bucket runs dry', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter(clock);
    for (let i = 0; i < 100; i++) assert.equal(l.when(`k${i}`), 5);
    // the 101st retry within the same instant waits for the 10 qps bucket
    assert.equal(Math.round(l.when('k100')), 100);
  });
});

describe('clampDelayMs', () => {
  it('should clamp to Node timer limits', () => {
    assert.equal(clampDelayMs(-5), 0);
    assert.equal(clampDelayMs(Number.NaN), 0);
    assert.equal(clampDelayMs(10), 10);
    assert.equal(clampDelayMs(2 ** 40), MAX_TIMER_DELAY_MS);
    assert.equal(clampDelayMs(Number.POSITIVE_INFINITY), MAX_TIMER_DELAY_MS);
  });
});

describe('WorkQueue', () => {
  it('should hand out a key added several times before a get only once', async () => {
    const { q } = newQueue();
    q.add('a'); q.add('b'); q.add('a'); q.add('a');
    assert.equal(q.len(), 2);
    assert.equal(await take(q), 'a');
    assert.equal(await take(q), 'b');
    assert.equal(q.len(), 0);
  });

  it('should resolve a waiting get when a key is added, first waiter first', async () => {
    const { q } = newQueue();
    const g1 = pending(q.get());
    const g2 = pending(q.get());
    await flush();
    assert.equal(g1.settled(), false);
    q.add('a');
    await flush();
    assert.deepEqual(g1.value(), { shutdown: false, item: 'a' });
    assert.equal(g2.settled(), false);
    q.add('b');
    await flush();
    assert.deepEqual(g2.value(), { shutdown: false, item: 'b' });
  });

  it('should not hand a key being processed to another worker, and hand it out again after done', async () => {
    const { q } = newQueue();
    q.add('a');
    assert.equal(await take(q), 'a');
    q.add('a'); // changed while worker 1 holds it
    assert.equal(q.len(), 0);
    const worker2 = pending(q.get());
    await flush();
    assert.equal(worker2.settled(), false);
    q.done('a');
    await flush();
    assert.deepEqual(worker2.value(), { shutdown: false, item: 'a' });
  });

  it('should not requeue a key on done when it was not added meanwhile', async () => {
    const { q } = newQueue();
    q.add('a');
    await take(q);
    q.done('a');
    assert.equal(q.len(), 0);
    q.done('a'); // a second done is ignored
    assert.equal(q.inFlight(), 0);
  });

  it('should add keys after their delays, earliest first', async () => {
    const { q, clock } = newQueue();
    q.addAfter('c', 30);
    q.addAfter('a', 10);
    q.addAfter('b', 20);
    q.addAfter('now', 0);
    assert.equal(q.len(), 1);
    assert.equal(await take(q), 'now');
    clock.advance(9);
    assert.equal(q.len(), 0);
    clock.advance(1);
    assert.equal(q.len(), 1);
    clock.advance(100);
    assert.deepEqual([await take(q), await take(q), await take(q)], ['a', 'b', 'c']);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('should keep the earlier of two delays for one key and add it once', async () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 10);
    q.addAfter('a', 50);
    clock.advance(10);
    assert.equal(q.len(), 1);
    assert.equal(await take(q), 'a');
    q.done('a');
    clock.advance(1_000);
    assert.equal(q.len(), 0, 'the later delays were superseded');
  });

  it('should keep one timer armed for the earliest delay', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 100);
    q.addAfter('b', 50);
    q.addAfter('c', 200);
    assert.equal(clock.pendingTimers(), 1);
    assert.equal(clock.nextTimerAt(), 50);
  });

  it('should wait out delays longer than Node timers allow', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 2 ** 32);
    assert.equal(clock.nextTimerAt(), MAX_TIMER_DELAY_MS);
    clock.advance(MAX_TIMER_DELAY_MS);
    assert.equal(q.len(), 0);
    clock.advance(2 ** 32 - MAX_TIMER_DELAY_MS);
    assert.equal(q.len(), 1);
  });

  it('should back off addRateLimited keys 5, 10, 20 ms and start again at 5 ms after forget', async () => {
    const { q, clock } = newQueue();
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      q.addRateLimited('a');
      const start = clock.now();
      while (q.len() === 0) clock.advance(1);
      waits.push(clock.now() - start);
      await take(q);
      q.done('a');
    }
    assert.deepEqual(waits, [5, 10, 20]);
    assert.equal(q.numRequeues('a'), 3);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.addRateLimited('a');
    clock.advance(4);
    assert.equal(q.len(), 0);
    clock.advance(1);
    assert.equal(q.len(), 1);
  });

  it('should reject a get whose signal aborts without losing a key', async () => {
    const { q } = newQueue();
    const ac = new AbortController();
    const g = q.get(ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(g, /stop/);
    q.add('a');
    assert.equal(q.len(), 1, 'the aborted get did not take the key');
    await assert.rejects(q.get(ac.signal), /stop/);
  });

  it('should report adds, depth, waits, work time and retries to its metrics', async () => {
    const seen = { added: 0, retried: 0, depth: [] as number[], queued: [] as number[], worked: [] as number[] };
    const metrics: WorkQueueMetrics = {
      added: () => { seen.added++; },
      retried: () => { seen.retried++; },
      depth: (n) => { seen.depth.push(n); },
      queued: (ms) => { seen.queued.push(ms); },
      worked: (ms) => { seen.worked.push(ms); },
    };
    const { q, clock } = newQueue({ metrics });
    q.add('a'); q.add('a');
    clock.advance(7);
    await take(q);
    clock.advance(3);
    q.done('a');
    q.addRateLimited('a');
    assert.equal(seen.added, 1);
    assert.equal(seen.retried, 1);
    assert.deepEqual(seen.queued, [7]);
    assert.deepEqual(seen.worked, [3]);
    assert.deepEqual(seen.depth, [1, 0]);
  });

  describe('shutdown', () => {
    it('should resolve waiting gets with shutdown and ignore later adds', async () => {
      const { q } = newQueue();
      const g = q.get();
      q.shutDown();
      assert.deepEqual(await g, { shutdown: true });
      q.add('a');
      q.addAfter('b', 10);
      q.addRateLimited('c');
      assert.equal(q.len(), 0);
      assert.deepEqual(await q.get(), { shutdown: true });
      assert.equal(q.isShuttingDown(), true);
    });

    it('should drop queued and delayed keys', async () => {
      const { q, clock } = newQueue();
      q.add('a');
      q.addAfter('b', 10);
      q.shutDown();
      assert.equal(q.len(), 0);
      assert.equal(clock.pendingTimers(), 0);
      clock.advance(100);
      assert.deepEqual(await q.get(), { shutdown: true });
    });

    it('shutDownWithDrain should resolve only after every in-flight key is done', async () => {
      const { q } = newQueue();
      q.add('a'); q.add('b');
      await take(q); await take(q);
      q.add('a'); // re-added while in flight: dropped by the shutdown
      const drained = pending(q.shutDownWithDrain());
      await flush();
      assert.equal(drained.settled(), false);
      q.done('a');
      await flush();
      assert.equal(drained.settled(), false);
      q.done('b');
      await flush();
      assert.equal(drained.settled(), true);
      assert.equal(q.len(), 0);
      assert.deepEqual(await q.get(), { shutdown: true });
    });

    it('shutDownWithDrain should resolve at once when nothing is in flight', async () => {
      const { q } = newQueue();
      await q.shutDownWithDrain();
    });

    it('shutDownWithDrain should reject when its signal aborts first', async () => {
      const { q } = newQueue();
      q.add('a');
      await take(q);
      const ac = new AbortController();
      const drained = q.shutDownWithDrain(ac.signal);
      ac.abort(new Error('grace over'));
      await assert.rejects(drained, /grace over/);
    });
  });

  describe('properties', () => {
    type Cmd =
      | { t: 'add'; key: string }
      | { t: 'addAfter'; key: string; ms: number }
      | { t: 'addRateLimited'; key: string }
      | { t: 'forget'; key: string }
      | { t: 'get'; w: number }
      | { t: 'done'; w: number }
      | { t: 'advance'; ms: number };

    const WORKERS = 3;
    const keyArb = fc.constantFrom('a', 'b', 'c', 'd');
    const workerArb = fc.integer({ min: 0, max: WORKERS - 1 });
    const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
      { arbitrary: keyArb.map((key) => ({ t: 'add' as const, key })), weight: 4 },
      { arbitrary: fc.record({ key: keyArb, ms: fc.integer({ min: 0, max: 50 }) }).map((r) => ({ t: 'addAfter' as const, ...r })), weight: 2 },
      { arbitrary: keyArb.map((key) => ({ t: 'addRateLimited' as const, key })), weight: 1 },
      { arbitrary: keyArb.map((key) => ({ t: 'forget' as const, key })), weight: 1 },
      { arbitrary: workerArb.map((w) => ({ t: 'get' as const, w })), weight: 4 },
      { arbitrary: workerArb.map((w) => ({ t: 'done' as const, w })), weight: 4 },
      { arbitrary: fc.integer({ min: 0, max: 30 }).map((ms) => ({ t: 'advance' as const, ms })), weight: 2 },
    );

    interface Worker { waiting: boolean; holding: string | undefined }

    /** Runs commands against a queue with simulated workers, checking the invariants as it goes. */
    async function run(cmds: Cmd[]): Promise<void> {
      const clock = new FakeClock();
      // Backoff up to 80 ms, so draining at the end stays short.
      const q = new WorkQueue<string>({ clock, rateLimiter: new ItemExponentialFailureRateLimiter({ maxDelayMs: 80 }) });
      const workers: Worker[] = Array.from({ length: WORKERS }, () => ({ waiting: false, holding: undefined }));
      const held = new Set<string>();
      const needs = new Set<string>();
      const adds = new Map<string, number>();
      const handouts = new Map<string, number>();
      // Failures inside promise callbacks are collected and asserted after each step, not left unhandled.
      const violations: string[] = [];

      const startGet = (w: Worker): void => {
        w.waiting = true;
        void q.get().then((r: GetResult<string>) => {
          w.waiting = false;
          if (r.shutdown) return;
          if (held.has(r.item)) violations.push(`key ${r.item} handed to two workers at once`);
          held.add(r.item);
          w.holding = r.item;
          needs.delete(r.item);
          handouts.set(r.item, (handouts.get(r.item) ?? 0) + 1);
          if ((handouts.get(r.item) ?? 0) > (adds.get(r.item) ?? 0)) violations.push(`key ${r.item} handed out more often than added`);
        });
      };
      const finish = (w: Worker): void => {
        if (w.holding === undefined) return;
        held.delete(w.holding);
        q.done(w.holding);
        w.holding = undefined;
      };
      const noteAdd = (key: string): void => { needs.add(key); adds.set(key, (adds.get(key) ?? 0) + 1); };

      for (const c of cmds) {
        switch (c.t) {
          case 'add': noteAdd(c.key); q.add(c.key); break;
          case 'addAfter': noteAdd(c.key); q.addAfter(c.key, c.ms); break;
          case 'addRateLimited': noteAdd(c.key); q.addRateLimited(c.key); break;
          case 'forget': q.forget(c.key); break;
          case 'get': { const w = workers[c.w] as Worker; if (!w.waiting && w.holding === undefined) startGet(w); break; }
          case 'done': finish(workers[c.w] as Worker); break;
          case 'advance': clock.advance(c.ms); break;
        }
        await flush();
        assert.deepEqual(violations, []);
      }

      // Every worker keeps working until nothing is left: every added key must have been processed after its add.
      for (let round = 0; round < 200; round++) {
        for (const w of workers) { finish(w); if (!w.waiting) startGet(w); }
        await flush();
        assert.deepEqual(violations, []);
        if (needs.size === 0 && clock.pendingTimers() === 0 && q.len() === 0 && held.size === 0) break;
        clock.advance(100);
      }
      assert.deepEqual([...needs], [], 'keys added but never processed');
      assert.equal(held.size, 0);
      assert.ok(workers.every((w) => w.waiting), 'all workers are waiting for more');
      q.shutDown();
      await flush();
      assert.ok(workers.every((w) => !w.waiting), 'shutdown released every waiting worker');
    }

    it('should never give one key to two workers, and should process every added key', async () => {
      await fc.assert(fc.asyncProperty(fc.array(cmdArb, { maxLength: 80 }), run), { numRuns: 150 });
    });

    it('should hand out n adds of one key between gets once', async () => {
      await fc.assert(fc.asyncProperty(fc.array(keyArb, { minLength: 1, maxLength: 40 }), async (keys) => {
        const { q } = newQueue();
        for (const k of keys) q.add(k);
        const distinct = [...new Set(keys)];
        assert.equal(q.len(), distinct.length);
        const got: string[] = [];
        while (q.len() > 0) got.push(await take(q));
        assert.deepEqual(got, distinct, 'each key once, in first-add order');
      }));
    });

    it('should drain every in-flight key on shutDownWithDrain, whatever the interleaving', async () => {
      await fc.assert(fc.asyncProperty(
        fc.uniqueArray(keyArb, { minLength: 1 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (keys, doneOrder) => {
          const { q } = newQueue();
          for (const k of keys) q.add(k);
          const inFlight: string[] = [];
          for (let i = 0; i < keys.length; i++) inFlight.push(await take(q));
          const drained = pending(q.shutDownWithDrain());
          // finish in an arbitrary order
          const order = [...inFlight];
          for (const n of doneOrder) { const j = n % order.length; order.push(...order.splice(j, 1)); }
          for (const [i, k] of order.entries()) {
            await flush();
            assert.equal(drained.settled(), false, `drained with ${order.length - i} keys in flight`);
            q.done(k);
          }
          await flush();
          assert.equal(drained.settled(), true);
        },
      ));
    });
  });
});
