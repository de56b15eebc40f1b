/** jsonPatchDiff: applying diff(a, b) to a gives b (property), checked with the sandbox API server's own applier. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KubeObject } from '../../../../src/api/index.js';
import { jsonPatchDiff } from '../../../../src/coordinator/admission/index.js';
import { applyJsonPatch } from '../../../../src/sandbox/apiserver/admission/json-patch.js';

// Keys include pointer metacharacters and numeric-looking names, which break naive implementations.
const key = fc.oneof(fc.constantFrom('a', 'b', 'c', '~', '/', 'a/b', '~1', '0', '1', '-', ''), fc.string({ maxLength: 4 }));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, 1, 'x', ''), fc.integer(), fc.string({ maxLength: 5 }),
    fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
})).value;
const doc = fc.dictionary(key, json, { maxKeys: 5 });

function asObject(d: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'X', metadata: {}, ...d } as KubeObject;
}

describe('jsonPatchDiff', () => {
  it('gives a patch that turns the first document into the second', () => {
    fc.assert(fc.property(doc, doc, (a, b) => {
      const from = asObject(a);
      const to = asObject(b);
      assert.deepEqual(applyJsonPatch(from, jsonPatchDiff(from, to) as never), JSON.parse(JSON.stringify(to)));
    }), { numRuns: 500 });
  });

  it('gives an empty patch for equal documents', () => {
    fc.assert(fc.property(doc, (a) => {
      assert.deepEqual(jsonPatchDiff(asObject(a), structuredClone(asObject(a))), []);
    }));
  });

  it('treats undefined members as absent, as JSON does', () => {
    assert.deepEqual(jsonPatchDiff({ a: 1, b: undefined }, { a: 1 }), []);
    assert.deepEqual(jsonPatchDiff({ a: 1 }, { a: 1, b: undefined }), []);
  });

  it('escapes ~ and / in keys', () => {
    assert.deepEqual(jsonPatchDiff({}, { 'a/b~c': 1 }), [{ op: 'add', path: '/a~1b~0c', value: 1 }]);
  });

  it('replaces arrays whose length changed and diffs arrays of equal length by index', () => {
    assert.deepEqual(jsonPatchDiff({ l: [1, 2] }, { l: [1, 2, 3] }), [{ op: 'replace', path: '/l', value: [1, 2, 3] }]);
    assert.deepEqual(jsonPatchDiff({ l: [1, 2] }, { l: [1, 5] }), [{ op: 'replace', path: '/l/1', value: 5 }]);
  });
});
