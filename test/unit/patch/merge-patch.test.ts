import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { ApiError } from '../../../src/sandbox/apiserver/api-error.js';
import {
  applyMergePatch, applyMergePatchToObject, createMergePatch, jsonEqual, type JsonObject,
} from '../../../src/sandbox/apiserver/patch/merge-patch.js';

interface Case { name: string; original: unknown; patch: unknown; want: unknown }

// The examples of RFC 7386 appendix A, then Kubernetes-shaped ones.
const cases: Case[] = [
  { name: 'a changed member is replaced', original: { a: 'b' }, patch: { a: 'c' }, want: { a: 'c' } },
  { name: 'a new member is added', original: { a: 'b' }, patch: { b: 'c' }, want: { a: 'b', b: 'c' } },
  { name: 'null deletes a member', original: { a: 'b' }, patch: { a: null }, want: {} },
  { name: 'null deletes only its member', original: { a: 'b', b: 'c' }, patch: { a: null }, want: { b: 'c' } },
  { name: 'an array replaces an array', original: { a: ['b'] }, patch: { a: 'c' }, want: { a: 'c' } },
  { name: 'a value replaces an array', original: { a: 'c' }, patch: { a: ['b'] }, want: { a: ['b'] } },
  { name: 'nested objects merge and null deletes inside', original: { a: { b: 'c' } }, patch: { a: { b: 'd', c: null } }, want: { a: { b: 'd' } } },
  { name: 'arrays are never merged', original: { a: [{ b: 'c' }] }, patch: { a: [1] }, want: { a: [1] } },
  { name: 'a non-object original becomes an object', original: ['a', 'b'], patch: { a: 'b' }, want: { a: 'b' } },
  { name: 'a non-object patch replaces everything', original: { a: 'foo' }, patch: ['c'], want: ['c'] },
  { name: 'null as the whole patch is the result', original: { a: 'foo' }, patch: null, want: null },
  { name: 'nulls inside a new object are dropped', original: { e: null }, patch: { a: 1, b: { c: null } }, want: { e: null, a: 1, b: {} } },
  { name: 'an empty patch changes nothing', original: { a: { b: [1] } }, patch: {}, want: { a: { b: [1] } } },
  {
    name: 'labels are removed with null, as kubectl label a- does',
    original: { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { replicas: 1 } },
    patch: { metadata: { labels: { tier: null } } },
    want: { metadata: { labels: { app: 'web' } }, spec: { replicas: 1 } },
  },
];

describe('applyMergePatch', () => {
  for (const c of cases) {
    it(`should apply RFC 7386: ${c.name}`, () => {
      const original = structuredClone(c.original);
      const patch = structuredClone(c.patch);
      assert.deepEqual(applyMergePatch(original, patch), c.want);
      assert.deepEqual(original, c.original, 'the original must not change');
      assert.deepEqual(patch, c.patch, 'the patch must not change');
    });
  }

  it('should share no objects with its inputs', () => {
    const original = { a: { b: 1 }, keep: { x: 1 } };
    const patch = { a: { c: { d: 1 } } };
    const got = applyMergePatch(original, patch) as { a: { c: { d: number } }; keep: { x: number } };
    got.a.c.d = 2;
    got.keep.x = 2;
    assert.equal(patch.a.c.d, 1);
    assert.equal(original.keep.x, 1);
  });

  it('should treat a __proto__ member as data', () => {
    const got = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as JsonObject;
    assert.equal(Object.getPrototypeOf(got), Object.prototype);
    assert.deepEqual(Object.keys(got), ['__proto__']);
    assert.equal(({} as JsonObject)['polluted'], undefined);
  });

  it('should refuse a non-object body for an object resource with 400', () => {
    assert.throws(() => applyMergePatchToObject({ a: 1 }, [1]), (err: unknown) => ApiError.is(err) && err.code === 400);
  });
});

/** JSON without null object members: a merge patch cannot set a member to null, so `to` must have none. */
function withoutNullMembers(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNullMembers);
  if (typeof v === 'object' && v !== null) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      if (x !== null) Object.defineProperty(out, k, { value: withoutNullMembers(x), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

const jsonObject = fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 });

describe('createMergePatch', () => {
  it('should produce a patch that turns the first object into the second (property)', () => {
    fc.assert(fc.property(jsonObject, jsonObject, (a, b) => {
      const to = withoutNullMembers(b);
      const patch = createMergePatch(a, to);
      const got = applyMergePatch(a, patch);
      assert.ok(jsonEqual(got, to), `diff ${JSON.stringify(patch)} of ${JSON.stringify(a)} gave ${JSON.stringify(got)}`);
    }), { numRuns: 500 });
  });

  it('should produce a patch that turns an object into a mutation of itself (property)', () => {
    // Random pairs rarely share structure; this one makes small edits so nested merges are exercised.
    const edited = jsonObject.chain((a) => fc.tuple(fc.constant(a), fc.dictionary(fc.constantFrom(...Object.keys(a), 'new'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })));
    fc.assert(fc.property(edited, ([a, edits]) => {
      const to = withoutNullMembers({ ...a, ...edits });
      assert.ok(jsonEqual(applyMergePatch(a, createMergePatch(a, to)), to));
    }), { numRuns: 300 });
  });

  it('should produce an empty patch for equal objects and null for removed members', () => {
    assert.deepEqual(createMergePatch({ a: [1], b: { c: 1 } }, { b: { c: 1 }, a: [1] }), {});
    assert.deepEqual(createMergePatch({ a: 1, b: { c: 1, d: 2 } }, { b: { c: 1 } }), { a: null, b: { d: null } });
  });
});
