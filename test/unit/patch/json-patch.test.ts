import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApiError } from '../../../src/sandbox/apiserver/api-error.js';
import { applyJsonPatch, parseJsonPointer } from '../../../src/sandbox/apiserver/patch/json-patch.js';

const base = () => ({
  metadata: { name: 'web', labels: { app: 'web', 'a/b': 'slash', 'm~n': 'tilde' } },
  spec: { replicas: 2, containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] },
});

interface OkCase { name: string; patch: unknown[]; want: unknown }

const okCases: OkCase[] = [
  { name: 'add creates a member', patch: [{ op: 'add', path: '/spec/paused', value: true }], want: { ...base(), spec: { ...base().spec, paused: true } } },
  { name: 'add replaces an existing member', patch: [{ op: 'add', path: '/spec/replicas', value: 5 }], want: { ...base(), spec: { ...base().spec, replicas: 5 } } },
  { name: 'add inserts into an array at an index', patch: [{ op: 'add', path: '/spec/containers/1', value: { name: 'c' } }], want: { ...base(), spec: { replicas: 2, containers: [{ name: 'a', image: 'a:1' }, { name: 'c' }, { name: 'b', image: 'b:1' }] } } },
  { name: 'add appends to an array with -', patch: [{ op: 'add', path: '/spec/containers/-', value: { name: 'c' } }], want: { ...base(), spec: { replicas: 2, containers: [...base().spec.containers, { name: 'c' }] } } },
  { name: 'add at the root replaces the document', patch: [{ op: 'add', path: '', value: { x: 1 } }], want: { x: 1 } },
  { name: 'remove deletes a member', patch: [{ op: 'remove', path: '/spec/replicas' }], want: { ...base(), spec: { containers: base().spec.containers } } },
  { name: 'remove deletes an array element', patch: [{ op: 'remove', path: '/spec/containers/0' }], want: { ...base(), spec: { replicas: 2, containers: [{ name: 'b', image: 'b:1' }] } } },
  { name: 'replace changes an existing value', patch: [{ op: 'replace', path: '/spec/containers/1/image', value: 'b:2' }], want: { ...base(), spec: { replicas: 2, containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:2' }] } } },
  { name: '~1 and ~0 escape / and ~ in keys', patch: [{ op: 'remove', path: '/metadata/labels/a~1b' }, { op: 'replace', path: '/metadata/labels/m~0n', value: 'x' }], want: { ...base(), metadata: { name: 'web', labels: { app: 'web', 'm~n': 'x' } } } },
  { name: 'move relocates a value', patch: [{ op: 'move', from: '/spec/replicas', path: '/metadata/replicas' }], want: { metadata: { ...base().metadata, replicas: 2 }, spec: { containers: base().spec.containers } } },
  { name: 'move onto itself changes nothing', patch: [{ op: 'move', from: '/spec/replicas', path: '/spec/replicas' }], want: base() },
  { name: 'copy duplicates a value', patch: [{ op: 'copy', from: '/spec/containers/0', path: '/spec/containers/-' }], want: { ...base(), spec: { replicas: 2, containers: [...base().spec.containers, { name: 'a', image: 'a:1' }] } } },
  { name: 'test of an equal value lets the patch proceed', patch: [{ op: 'test', path: '/spec/containers/0', value: { image: 'a:1', name: 'a' } }, { op: 'replace', path: '/spec/replicas', value: 3 }], want: { ...base(), spec: { ...base().spec, replicas: 3 } } },
  { name: 'an empty patch changes nothing', patch: [], want: base() },
  { name: 'a __proto__ key is plain data', patch: [{ op: 'add', path: '/metadata/__proto__', value: { polluted: true } }], want: JSON.parse('{"metadata":{"name":"web","labels":{"app":"web","a/b":"slash","m~n":"tilde"},"__proto__":{"polluted":true}},"spec":{"replicas":2,"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}') },
];

interface ErrorCase { name: string; patch: unknown; code: number; message: string }

const errorCases: ErrorCase[] = [
  { name: 'a body that is not an array', patch: { op: 'add' }, code: 400, message: 'json patch must be a JSON array of operations' },
  { name: 'an operation that is not an object', patch: ['x'], code: 400, message: 'json patch operation 0: must be an object' },
  { name: 'an unknown op', patch: [{ op: 'merge', path: '/a' }], code: 400, message: 'json patch operation 0: "op" must be one of add, remove, replace, move, copy, test; got "merge"' },
  { name: 'a missing path', patch: [{ op: 'remove' }], code: 400, message: 'json patch operation 0: remove: "path" must be a string' },
  { name: 'a path that is not a JSON pointer', patch: [{ op: 'remove', path: 'spec' }], code: 400, message: 'json patch operation 0: remove: "path" "spec" is not a valid JSON pointer' },
  { name: 'a bad ~ escape', patch: [{ op: 'remove', path: '/a~2' }], code: 400, message: 'json patch operation 0: remove: "path" "/a~2" is not a valid JSON pointer' },
  { name: 'a missing value', patch: [{ op: 'add', path: '/a' }], code: 400, message: 'json patch operation 0: add /a: "value" is required' },
  { name: 'a missing from', patch: [{ op: 'copy', path: '/a' }], code: 400, message: 'json patch operation 0: copy /a: "from" must be a string' },
  { name: 'a failed test', patch: [{ op: 'test', path: '/spec/replicas', value: 3 }], code: 422, message: 'json patch operation 0 (test /spec/replicas) failed: the value differs from the test value' },
  { name: 'a test of a missing path', patch: [{ op: 'test', path: '/spec/paused', value: false }], code: 422, message: 'json patch operation 0 (test /spec/paused) failed: path /spec/paused does not exist' },
  { name: 'removing a missing member', patch: [{ op: 'remove', path: '/metadata/annotations' }], code: 422, message: 'json patch operation 0 (remove /metadata/annotations) failed: path /metadata/annotations does not exist' },
  { name: 'replacing a missing member', patch: [{ op: 'replace', path: '/spec/paused', value: true }], code: 422, message: 'json patch operation 0 (replace /spec/paused) failed: path /spec/paused does not exist' },
  { name: 'adding under a missing parent', patch: [{ op: 'add', path: '/status/phase', value: 'x' }], code: 422, message: 'json patch operation 0 (add /status/phase) failed: path /status/phase does not exist' },
  { name: 'an array index out of bounds', patch: [{ op: 'add', path: '/spec/containers/3', value: {} }], code: 422, message: 'json patch operation 0 (add /spec/containers/3) failed: index 3 is out of bounds (array length 2) in /spec/containers/3' },
  { name: 'a non-numeric array index', patch: [{ op: 'replace', path: '/spec/containers/first/image', value: 'x' }], code: 422, message: 'json patch operation 0 (replace /spec/containers/first/image) failed: "first" is not an array index (in /spec/containers/first/image)' },
  { name: 'an index with a leading zero', patch: [{ op: 'remove', path: '/spec/containers/01' }], code: 422, message: 'json patch operation 0 (remove /spec/containers/01) failed: "01" is not an array index (in /spec/containers/01)' },
  { name: '- outside add', patch: [{ op: 'remove', path: '/spec/containers/-' }], code: 422, message: 'json patch operation 0 (remove /spec/containers/-) failed: "-" is not an array index (in /spec/containers/-)' },
  { name: 'moving a value into its own child', patch: [{ op: 'move', from: '/spec', path: '/spec/inner' }], code: 422, message: 'json patch operation 0 (move /spec -> /spec/inner) failed: cannot move /spec into its own child /spec/inner' },
  { name: 'copying from a missing path', patch: [{ op: 'copy', from: '/nope', path: '/x' }], code: 422, message: 'json patch operation 0 (copy /nope -> /x) failed: path /nope does not exist' },
  { name: 'removing the root', patch: [{ op: 'remove', path: '' }], code: 422, message: 'json patch operation 0 (remove ) failed: the document root cannot be removed' },
  { name: 'a later operation failing names its index', patch: [{ op: 'add', path: '/a', value: 1 }, { op: 'test', path: '/a', value: 2 }], code: 422, message: 'json patch operation 1 (test /a) failed: the value differs from the test value' },
];

describe('applyJsonPatch', () => {
  for (const c of okCases) {
    it(`should apply: ${c.name}`, () => {
      const doc = base();
      const patch = structuredClone(c.patch);
      const got = applyJsonPatch(doc, patch);
      assert.deepEqual(got, c.want);
      assert.deepEqual(doc, base(), 'the document must not change');
      assert.deepEqual(patch, c.patch, 'the patch must not change');
    });
  }

  for (const c of errorCases) {
    it(`should refuse with ${c.code}: ${c.name}`, () => {
      const doc = base();
      assert.throws(() => applyJsonPatch(doc, c.patch), (err: unknown) => {
        assert.ok(ApiError.is(err));
        assert.equal(err.code, c.code);
        assert.equal(err.reason, c.code === 400 ? 'BadRequest' : 'Invalid');
        assert.equal(err.message, c.message);
        return true;
      });
      assert.deepEqual(doc, base(), 'a failed patch must leave the document unchanged');
    });
  }

  it('should refuse more than 10000 operations with 413', () => {
    const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '', value: {} }));
    assert.throws(() => applyJsonPatch({}, ops), (err: unknown) => ApiError.is(err) && err.code === 413);
  });

  it('should not share values between the result and the patch', () => {
    const value = { name: 'c' };
    const got = applyJsonPatch(base(), [{ op: 'add', path: '/spec/containers/-', value }]) as ReturnType<typeof base>;
    (got.spec.containers[2] as { name: string }).name = 'changed';
    assert.equal(value.name, 'c');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('should parse JSON pointers with escapes', () => {
    assert.deepEqual(parseJsonPointer(''), []);
    assert.deepEqual(parseJsonPointer('/'), ['']);
    assert.deepEqual(parseJsonPointer('/a~1b/~0/~01'), ['a/b', '~', '~1']);
    assert.equal(parseJsonPointer('a'), undefined);
  });
});
