/**
 * Randomized bodies (fast-check): thousands of mutated creates, updates, patches and deletes. The server must stay
 * up and answer each with a proper status, and its invariants must hold: the resourceVersion only grows, no
 * stored object is half-written, and a watcher sees every committed change exactly once, in order.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startHarness, waitFor, type Harness } from '../support/api-server-harness.js';
import { openWatch, type WatchEvent, type WatchStream } from '../support/watch-stream.js';

const NS = 'fuzz';
const CMS = `/api/v1/namespaces/${NS}/configmaps`;
const NAMES = ['a', 'b', 'c', 'd', 'e'];
const RUNS = 100;
const REQUESTS_PER_RUN = 50;
const ALLOWED_CODES = new Set([200, 201, 202, 400, 404, 405, 409, 413, 415, 422]);

interface Req { method: string; path: string; body?: string; contentType?: string }

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const name = fc.constantFrom(...NAMES);
const baseObject = fc.record({
  name,
  labels: fc.dictionary(fc.constantFrom('app', 'tier', 'x/y', 'Bad Key'), fc.constantFrom('v', '', 'x'.repeat(70), 'ok-1')),
  data: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }),
  finalizers: fc.option(fc.constantFrom(['example.com/f'], ['bad finalizer'], []), { nil: undefined }),
}).map((o) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: o.name, labels: o.labels, ...(o.finalizers ? { finalizers: o.finalizers } : {}) }, data: o.data }));

/** A structural mutation of a valid object: a field set to an arbitrary JSON value or removed. */
const mutatedObject = fc.tuple(baseObject, fc.constantFrom('', 'metadata', 'data', 'metadata.labels'), fc.constantFrom('apiVersion', 'kind', 'metadata', 'name', 'namespace', 'labels', 'data', 'resourceVersion', 'uid', 'generateName', 'finalizers', 'ownerReferences', 'k'), fc.option(jsonValue))
  .map(([obj, at, key, value]) => {
    const o = structuredClone(obj) as Record<string, unknown>;
    let target: unknown = o;
    for (const p of at.split('.').filter(Boolean)) target = target && typeof target === 'object' ? (target as Record<string, unknown>)[p] : undefined;
    if (target && typeof target === 'object') {
      if (value === null) delete (target as Record<string, unknown>)[key];
      else (target as Record<string, unknown>)[key] = value;
    }
    return o;
  });

/** Text corruption: truncation or a stray character in otherwise valid JSON. */
const corruptText = fc.tuple(baseObject, fc.nat(), fc.constantFrom('', '{', '}', '"', ',', '\\', '\u0000', ']'))
  .map(([obj, at, ch]) => {
    const text = JSON.stringify(obj);
    const i = at % (text.length + 1);
    return text.slice(0, i) + ch + (ch === '' ? '' : text.slice(i));
  });

const body = fc.oneof(
  { weight: 3, arbitrary: baseObject.map((o) => JSON.stringify(o)) },
  { weight: 4, arbitrary: mutatedObject.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: corruptText },
  { weight: 1, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
);

const jsonPatchBody = fc.array(fc.record({
  op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'),
  path: fc.constantFrom('/data/k', '/metadata/labels', '/metadata/name', '/metadata/finalizers', '/data', '', '/kind', '/metadata/resourceVersion', '/x/y/z'),
  value: jsonValue,
  from: fc.constantFrom('/data', '/metadata/labels'),
}), { maxLength: 3 }).map((ops) => JSON.stringify(ops));

const request: fc.Arbitrary<Req> = fc.oneof(
  { weight: 4, arbitrary: body.map((b): Req => ({ method: 'POST', path: CMS, body: b })) },
  { weight: 3, arbitrary: fc.tuple(name, body).map(([n, b]): Req => ({ method: 'PUT', path: `${CMS}/${n}`, body: b })) },
  { weight: 2, arbitrary: fc.tuple(name, body, fc.constantFrom('application/merge-patch+json', 'application/strategic-merge-patch+json')).map(([n, b, ct]): Req => ({ method: 'PATCH', path: `${CMS}/${n}`, body: b, contentType: ct })) },
  { weight: 2, arbitrary: fc.tuple(name, jsonPatchBody).map(([n, b]): Req => ({ method: 'PATCH', path: `${CMS}/${n}`, body: b, contentType: 'application/json-patch+json' })) },
  { weight: 1, arbitrary: fc.tuple(name, body).map(([n, b]): Req => ({ method: 'PUT', path: `${CMS}/${n}`, body: b.replace(/^\{/, 'apiVersion: v1\n').slice(0, 200), contentType: 'application/yaml' })) },
  { weight: 1, arbitrary: name.map((n): Req => ({ method: 'DELETE', path: `${CMS}/${n}` })) },
  { weight: 1, arbitrary: name.map((n): Req => ({ method: 'PATCH', path: `${CMS}/${n}`, body: '{"metadata":{"finalizers":null}}', contentType: 'application/merge-patch+json' })) },
);

interface Meta { name?: string; namespace?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, unknown>; finalizers?: unknown }

describe('randomized request bodies', () => {
  let h: Harness;
  let stream: WatchStream;
  /** resourceVersions of the writes a client saw committed (2xx answers carrying a new version). */
  const committed = new Set<number>();

  before(async () => {
    h = await startHarness({ crds: false });
    const r = await h.request('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    assert.equal(r.status, 201);
    stream = await openWatch(h, `${CMS}?watch=true&resourceVersion=${h.server.storage.resourceVersion}`);
  });
  after(async () => {
    stream.close();
    await h.close();
  });

  it('answers thousands of mutated bodies with proper statuses while the resourceVersion only grows', { timeout: 120_000 }, async () => {
    let total = 0;
    const codes = new Map<number, number>();
    await fc.assert(fc.asyncProperty(fc.array(request, { minLength: REQUESTS_PER_RUN, maxLength: REQUESTS_PER_RUN }), async (reqs) => {
      for (const q of reqs) {
        const before = h.server.storage.resourceVersion;
        const r = await h.request(q.method, q.path, q.body, q.contentType ? { 'Content-Type': q.contentType } : {});
        total++;
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        const after = h.server.storage.resourceVersion;
        assert.ok(after >= before, 'the resourceVersion never goes back');
        assert.ok(ALLOWED_CODES.has(r.status), `unexpected ${r.status} for ${q.method} ${q.path} ${q.body ?? ''}: ${r.text.slice(0, 300)}`);
        if (r.status >= 400) {
          const s = r.json as { kind?: string; code?: number; reason?: string };
          assert.equal(s?.kind, 'Status', r.text);
          assert.equal(s.code, r.status);
          assert.equal(after, before, `a refused ${q.method} wrote nothing: ${r.text.slice(0, 200)}`);
        } else {
          const obj = r.json as { kind?: string; metadata?: Meta };
          const rv = Number(obj?.metadata?.resourceVersion);
          if (obj?.kind === 'ConfigMap' && rv > before) committed.add(rv);
          if (obj?.kind === 'ConfigMap') assert.ok(rv <= after);
        }
      }
    }), { numRuns: RUNS, endOnFailure: true });
    assert.equal(total, RUNS * REQUESTS_PER_RUN);
    // The generators must reach both sides: successes and each common kind of refusal.
    for (const c of [200, 201, 400, 404, 409, 422]) assert.ok((codes.get(c) ?? 0) > 0, `some answers were ${c}: ${JSON.stringify([...codes])}`);
    const health = await h.request('GET', '/healthz');
    assert.equal(health.status, 200, 'the server is still up');
  });

  it('stores only whole, valid objects', async () => {
    await h.server.idle();
    const r = await h.request('GET', CMS);
    assert.equal(r.status, 200);
    const items = (r.json as { items: { apiVersion: string; kind: string; metadata: Meta }[] }).items;
    for (const o of items) {
      assert.equal(o.apiVersion, 'v1');
      assert.equal(o.kind, 'ConfigMap');
      assert.ok(NAMES.includes(o.metadata.name ?? ''), o.metadata.name);
      assert.equal(o.metadata.namespace, NS);
      assert.match(o.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(o.metadata.resourceVersion ?? '', /^\d+$/);
      assert.match(o.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
        assert.equal(typeof v, 'string', `label ${k}`);
        assert.match(k, /^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
      }
      if (o.metadata.finalizers !== undefined) assert.ok(Array.isArray(o.metadata.finalizers));
    }
  });

  it('shows a watcher every committed change exactly once, in order, ending in the stored state', async () => {
    const latest = h.server.storage.resourceVersion;
    // Wait until the watch has caught up with the last write to this resource.
    const list = await h.request('GET', CMS);
    const listRv = Number((list.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    assert.ok(listRv >= latest);
    const lastCommitted = Math.max(0, ...committed);
    await waitFor(() => stream.events.some((e) => Number(e.object.metadata?.resourceVersion) >= lastCommitted), 'the watch to catch up');
    const events = stream.events.filter((e) => e.type !== 'BOOKMARK');
    assert.ok(events.every((e) => e.type !== 'ERROR'), 'no error events');
    const rvs = events.map((e) => Number(e.object.metadata?.resourceVersion));
    for (let i = 1; i < rvs.length; i++) assert.ok(rvs[i]! > rvs[i - 1]!, `event ${i} in order (${rvs[i - 1]} then ${rvs[i]})`);
    const seen = new Set(rvs);
    for (const rv of committed) assert.ok(seen.has(rv), `committed write ${rv} was watched`);
    // Replaying the events gives the stored state.
    const replay = new Map<string, WatchEvent['object']>();
    for (const e of events) {
      const n = e.object.metadata?.name ?? '';
      if (e.type === 'DELETED') replay.delete(n); else replay.set(n, e.object);
    }
    const items = (list.json as { items: WatchEvent['object'][] }).items;
    assert.deepEqual([...replay.keys()].sort(), items.map((o) => o.metadata?.name ?? '').sort());
    for (const o of items) assert.deepEqual(replay.get(o.metadata?.name ?? ''), o);
    assert.ok(committed.size > 50, `enough writes were committed to mean something (${committed.size})`);
  });
});
