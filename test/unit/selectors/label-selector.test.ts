import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KruiseError } from '../../../src/api/errors.js';
import {
  everything, isEverything, labelKeyErrors, labelValueErrors, matchesSelector, nothing, parseLabelSelector,
  selectorFromLabelSelector, selectorFromSet, selectorToString, InvalidSelectorError,
} from '../../../src/api/label-selector.js';
import type { LabelSelector } from '../../../src/api/meta.js';

interface ParseCase {
  name: string;
  text: string;
  /** Canonical rendering (requirements sorted by key). */
  rendered: string;
  matches: Record<string, string>[];
  misses: Record<string, string>[];
}

const parseCases: ParseCase[] = [
  { name: 'an empty string selects everything', text: '', rendered: '', matches: [{}, { a: 'b' }], misses: [] },
  { name: 'a blank string selects everything', text: '  \t ', rendered: '', matches: [{}], misses: [] },
  { name: 'equality with = requires the value', text: 'app=web', rendered: 'app=web', matches: [{ app: 'web', x: 'y' }], misses: [{}, { app: 'db' }] },
  { name: 'equality with == is kept as written', text: 'app==web', rendered: 'app==web', matches: [{ app: 'web' }], misses: [{ app: 'db' }] },
  { name: 'inequality also matches a missing label', text: 'app!=web', rendered: 'app!=web', matches: [{}, { app: 'db' }], misses: [{ app: 'web' }] },
  { name: 'an empty value after = matches the empty label value', text: 'app=', rendered: 'app=', matches: [{ app: '' }], misses: [{}, { app: 'x' }] },
  { name: 'in matches any listed value, sorted and deduplicated', text: 'env in (prod, dev,prod)', rendered: 'env in (dev,prod)', matches: [{ env: 'dev' }, { env: 'prod' }], misses: [{}, { env: 'qa' }] },
  { name: 'notin matches other values and missing labels', text: 'env notin (prod)', rendered: 'env notin (prod)', matches: [{}, { env: 'dev' }], misses: [{ env: 'prod' }] },
  { name: 'in () means the empty value', text: 'env in ()', rendered: 'env in ()', matches: [{ env: '' }], misses: [{ env: 'x' }, {}] },
  { name: 'empty entries in a set are the empty value', text: 'env in (a,,b)', rendered: 'env in (,a,b)', matches: [{ env: '' }, { env: 'a' }], misses: [{ env: 'c' }] },
  { name: 'a trailing comma in a set adds the empty value', text: 'env in (a,)', rendered: 'env in (,a)', matches: [{ env: '' }], misses: [{ env: 'b' }] },
  { name: 'a bare key requires the label to exist', text: 'tier', rendered: 'tier', matches: [{ tier: '' }, { tier: 'x' }], misses: [{}] },
  { name: '!key requires the label to be absent', text: '!tier', rendered: '!tier', matches: [{}], misses: [{ tier: '' }] },
  { name: 'commas AND requirements and the result is sorted by key', text: 'z=1 , a in (x), !m ,b', rendered: 'a in (x),b,!m,z=1', matches: [{ a: 'x', b: '', z: '1' }], misses: [{ a: 'x', b: '', z: '1', m: '' }, { a: 'x', z: '1' }] },
  { name: 'the words in and notin are ordinary values inside a set', text: 'x in (in,notin)', rendered: 'x in (in,notin)', matches: [{ x: 'in' }], misses: [{ x: 'out' }] },
  { name: 'a key may be the word in', text: 'in=notin', rendered: 'in=notin', matches: [{ in: 'notin' }], misses: [{}] },
  { name: 'a prefixed key is accepted', text: 'apps.kruise.io/revision=r1', rendered: 'apps.kruise.io/revision=r1', matches: [{ 'apps.kruise.io/revision': 'r1' }], misses: [{ revision: 'r1' }] },
  { name: 'greater-than compares integers', text: 'n>5', rendered: 'n>5', matches: [{ n: '6' }], misses: [{ n: '5' }, { n: 'x' }, {}] },
  { name: 'less-than compares integers, negative labels included', text: 'n<10', rendered: 'n<10', matches: [{ n: '9' }, { n: '-2' }], misses: [{ n: '10' }] },
];

interface ErrorCase { name: string; text: string; message: string | RegExp }

const errorCases: ErrorCase[] = [
  { name: 'a missing set is reported', text: 'a in b', message: "unable to parse requirement: found 'b' expected: '('" },
  { name: 'two words without an operator are reported', text: 'a b', message: "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt" },
  { name: 'a leading comma is reported', text: ',a', message: "found ',', expected: !, identifier, or 'end of string'" },
  { name: 'a trailing comma is reported', text: 'a=b,', message: "found '', expected: identifier after ','" },
  { name: 'text after a complete requirement is reported', text: 'a=b c', message: "found 'c', expected: ',' or 'end of string'" },
  { name: 'a unary ! followed by an operator is reported', text: '!a=b', message: "found '=', expected: ',' or 'end of string'" },
  { name: 'an unclosed set is reported', text: 'a in (x', message: "unable to parse requirement: found '', expected: ',' or ')'" },
  { name: 'a set with two words is reported', text: 'a in (x y)', message: "unable to parse requirement: found 'y', expected: ',' or ')'" },
  { name: 'an operator inside a set is reported', text: 'a in (=)', message: "unable to parse requirement: found '=', expected: ',', ')' or identifier" },
  { name: 'an operator after a set comma is reported', text: 'a in (x,=)', message: "unable to parse requirement: found '=', expected: ',', or identifier" },
  { name: 'an operator where a value belongs is reported', text: 'a=(', message: "unable to parse requirement: found '(', expected: identifier" },
  { name: '! without a key is reported', text: '!', message: "unable to parse requirement: found '', expected: identifier" },
  { name: 'an invalid key names the key and the rule', text: '-a=b', message: /^unable to parse requirement: key: Invalid value: "-a": name part must consist of alphanumeric characters, '-', '_' or '\.', and must start and end with an alphanumeric character \(e\.g\. 'MyName', {2}or 'my\.name', {2}or '123-abc', regex used for validation is '\(\[A-Za-z0-9\]\[-A-Za-z0-9_\.\]\*\)\?\[A-Za-z0-9\]'\)$/ },
  { name: 'a key with two slashes is reported', text: 'a/b/c', message: /key: Invalid value: "a\/b\/c": a valid label key must consist of .* with an optional DNS subdomain prefix and '\/' \(e\.g\. 'example\.com\/MyName'\)/ },
  { name: 'an upper-case key prefix is reported', text: 'Example.com/a', message: /prefix part a lowercase RFC 1123 subdomain must consist of/ },
  { name: 'an empty key prefix is reported', text: '/a', message: /prefix part must be non-empty/ },
  { name: 'a key name over 63 bytes is reported', text: `${'k'.repeat(64)}=v`, message: /name part must be no more than 63 characters/ },
  { name: 'an invalid value names the value path', text: 'a=-x', message: /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "-x": a valid label must be an empty string or consist of/ },
  { name: 'a value over 63 bytes is reported', text: `a in (${'v'.repeat(64)})`, message: /values\[0\]\[a\]: Invalid value: "v+": must be no more than 63 characters/ },
  { name: 'a non-integer bound for > is reported', text: 'n>x', message: /values\[0\]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer/ },
];

describe('parseLabelSelector', () => {
  for (const c of parseCases) {
    it(`should parse: ${c.name}`, () => {
      const sel = parseLabelSelector(c.text);
      assert.equal(selectorToString(sel), c.rendered);
      for (const labels of c.matches) assert.equal(matchesSelector(sel, labels), true, `should match ${JSON.stringify(labels)}`);
      for (const labels of c.misses) assert.equal(matchesSelector(sel, labels), false, `should not match ${JSON.stringify(labels)}`);
      assert.deepEqual(parseLabelSelector(selectorToString(sel)), sel, 'rendering should round-trip');
    });
  }

  for (const c of errorCases) {
    it(`should refuse with BadRequest: ${c.name}`, () => {
      assert.throws(() => parseLabelSelector(c.text), (err: unknown) => {
        assert.ok(KruiseError.is(err));
        assert.equal(err.reason, 'BadRequest');
        if (typeof c.message === 'string') assert.equal(err.message, c.message);
        else assert.match(err.message, c.message);
        return true;
      });
    });
  }
});

describe('label key and value validation', () => {
  it('should accept qualified names and label values Kubernetes accepts', () => {
    for (const k of ['a', 'A.b_c-d', 'example.com/MyName', `${'x'.repeat(63)}`, 'a.b-c.d/e']) assert.deepEqual(labelKeyErrors(k), [], k);
    for (const v of ['', 'a', 'my_value', '12345', 'x'.repeat(63)]) assert.deepEqual(labelValueErrors(v), [], v);
  });

  it('should report both the emptiness and the pattern of an empty key name', () => {
    assert.deepEqual(labelKeyErrors('').map((m) => m.slice(0, 30)), ['name part must be non-empty', 'name part must consist of alph']);
  });

  it('should count bytes, not characters, for the 63 limit', () => {
    assert.match(labelValueErrors('é'.repeat(32)).join(';'), /must be no more than 63 characters/);
  });
});

interface ObjectCase { name: string; selector: LabelSelector; rendered: string; matches: Record<string, string>[]; misses: Record<string, string>[] }

const objectCases: ObjectCase[] = [
  { name: 'an empty selector object selects everything', selector: {}, rendered: '', matches: [{}, { a: 'b' }], misses: [] },
  { name: 'empty matchLabels and matchExpressions select everything', selector: { matchLabels: {}, matchExpressions: [] }, rendered: '', matches: [{}], misses: [] },
  { name: 'matchLabels become equality requirements', selector: { matchLabels: { b: '2', a: '1' } }, rendered: 'a=1,b=2', matches: [{ a: '1', b: '2', c: '3' }], misses: [{ a: '1' }] },
  {
    name: 'each expression operator maps to its requirement',
    selector: {
      matchExpressions: [
        { key: 'in', operator: 'In', values: ['y', 'x'] },
        { key: 'notin', operator: 'NotIn', values: ['z'] },
        { key: 'exists', operator: 'Exists' },
        { key: 'gone', operator: 'DoesNotExist', values: [] },
      ],
    },
    rendered: 'exists,!gone,in in (x,y),notin notin (z)',
    matches: [{ in: 'x', exists: '' }, { in: 'y', exists: 'v', notin: 'w' }],
    misses: [{ in: 'x' }, { in: 'x', exists: '', gone: '' }, { in: 'x', exists: '', notin: 'z' }],
  },
  { name: 'matchLabels and matchExpressions are ANDed', selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, rendered: 'app=web,tier', matches: [{ app: 'web', tier: 'x' }], misses: [{ app: 'web' }, { tier: 'x' }] },
];

interface ObjectErrorCase { name: string; selector: LabelSelector; message: string }

const objectErrorCases: ObjectErrorCase[] = [
  { name: 'In without values', selector: { matchExpressions: [{ key: 'a', operator: 'In' }] }, message: "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'" },
  { name: 'NotIn with an empty list', selector: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }, message: "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'" },
  { name: 'Exists with values', selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, message: "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'" },
  { name: 'DoesNotExist with values', selector: { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] }, message: "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'" },
  { name: 'an unknown operator', selector: { matchExpressions: [{ key: 'a', operator: 'Gt' as 'In', values: ['1'] }] }, message: 'spec.selector.matchExpressions[0].operator: Invalid value: "Gt": not a valid selector operator' },
  { name: 'an invalid expression key', selector: { matchExpressions: [{ key: 'a b', operator: 'Exists' }] }, message: 'spec.selector.matchExpressions[0].key: Invalid value: "a b": name part must consist of' },
  { name: 'an invalid expression value', selector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'b@d'] }] }, message: 'spec.selector.matchExpressions[0].values[1]: Invalid value: "b@d": a valid label must be' },
  { name: 'an invalid matchLabels key', selector: { matchLabels: { '-x': 'y' } }, message: 'spec.selector.matchLabels: Invalid value: "-x": name part must consist of' },
  { name: 'an invalid matchLabels value', selector: { matchLabels: { x: '-y' } }, message: 'spec.selector.matchLabels: Invalid value: "-y": a valid label must be' },
];

describe('selectorFromLabelSelector', () => {
  for (const c of objectCases) {
    it(`should convert: ${c.name}`, () => {
      const sel = selectorFromLabelSelector(c.selector, 'spec.selector');
      assert.equal(selectorToString(sel), c.rendered);
      for (const labels of c.matches) assert.equal(matchesSelector(sel, labels), true, `should match ${JSON.stringify(labels)}`);
      for (const labels of c.misses) assert.equal(matchesSelector(sel, labels), false, `should not match ${JSON.stringify(labels)}`);
    });
  }

  for (const c of objectErrorCases) {
    it(`should refuse with Invalid: ${c.name}`, () => {
      assert.throws(() => selectorFromLabelSelector(c.selector, 'spec.selector'), (err: unknown) => {
        assert.ok(err instanceof InvalidSelectorError);
        assert.ok(KruiseError.is(err));
        assert.equal(err.reason, 'Invalid');
        assert.ok(err.message.startsWith(c.message), err.message);
        assert.equal(err.fieldPath, err.errors[0]!.field);
        return true;
      });
    });
  }

  it('should give the same selector as the equivalent string syntax', () => {
    const fromObject = selectorFromLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] });
    assert.deepEqual(fromObject, parseLabelSelector('env notin (prod), app=web'));
  });
});

describe('everything and nothing', () => {
  it('should match every label set with everything and none with nothing', () => {
    for (const labels of [{}, { a: 'b' }, undefined] as (Record<string, string> | undefined)[]) {
      assert.equal(matchesSelector(everything, labels), true);
      assert.equal(matchesSelector(nothing, labels), false);
    }
    assert.equal(isEverything(everything), true);
    assert.equal(isEverything(nothing), false);
    assert.equal(isEverything(parseLabelSelector('a')), false);
    assert.equal(selectorToString(nothing), '');
  });

  it('should build an exact-match selector from a label set, and everything from an empty one', () => {
    assert.equal(selectorToString(selectorFromSet({ b: '2', a: '1' })), 'a=1,b=2');
    assert.equal(isEverything(selectorFromSet({})), true);
  });
});
