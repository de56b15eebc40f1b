import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldErrorMessage, selectorsOverlap, validateLabelSelector, type LabelSelector } from '../../../src/api/index.js';

const CASES: { name: string; sel: LabelSelector; want: string[] }[] = [
  { name: 'matchLabels only', sel: { matchLabels: { app: 'x', 'example.com/tier': 'web' } }, want: [] },
  { name: 'all four operators used well', sel: { matchExpressions: [
    { key: 'a', operator: 'In', values: ['1'] }, { key: 'b', operator: 'NotIn', values: ['2'] },
    { key: 'c', operator: 'Exists' }, { key: 'd', operator: 'DoesNotExist' },
  ] }, want: [] },
  { name: 'In without values', sel: { matchExpressions: [{ key: 'a', operator: 'In' }] }, want: ["s.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"] },
  { name: 'Exists with values', sel: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, want: ["s.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"] },
  { name: 'an unknown operator', sel: { matchExpressions: [{ key: 'a', operator: 'Gt' as 'In', values: ['1'] }] }, want: ['s.matchExpressions[0].operator: Invalid value: "Gt": not a valid selector operator'] },
  { name: 'an empty key', sel: { matchExpressions: [{ key: '', operator: 'Exists' }] }, want: ['s.matchExpressions[0].key: Invalid value: "": name part must be non-empty'] },
  { name: 'an empty prefix', sel: { matchLabels: { '/a': 'x' } }, want: ['s.matchLabels: Invalid value: "/a": prefix part must be non-empty'] },
  {
    name: 'a bad expression value', sel: { matchExpressions: [{ key: 'a', operator: 'In', values: ['-x'] }] },
    want: ["s.matchExpressions[0].values[0]: Invalid value: \"-x\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"],
  },
  { name: 'a value longer than 63', sel: { matchLabels: { a: 'v'.repeat(64) } }, want: [`s.matchLabels: Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`] },
];

for (const c of CASES) {
  test(`a selector with ${c.name} gives ${c.want.length} error(s)`, () => {
    assert.deepEqual(validateLabelSelector(c.sel, 's').map(fieldErrorMessage), c.want);
  });
}

const OVERLAPS: { a: LabelSelector; b: LabelSelector; want: boolean }[] = [
  { a: { matchLabels: { app: 'x' } }, b: { matchLabels: { app: 'x' } }, want: true },
  { a: { matchLabels: { app: 'x' } }, b: { matchLabels: { app: 'y' } }, want: false },
  { a: { matchLabels: { app: 'x' } }, b: { matchLabels: { tier: 'y' } }, want: true },
  { a: { matchLabels: { app: 'x' } }, b: { matchExpressions: [{ key: 'app', operator: 'In', values: ['y', 'z'] }] }, want: false },
  { a: { matchLabels: { app: 'x' } }, b: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }] }, want: false },
  { a: { matchLabels: { app: 'x' } }, b: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, want: false },
  { a: { matchLabels: { app: 'x' } }, b: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, want: true },
  { a: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, b: { matchLabels: { app: 'y' } }, want: true },
  { a: { matchLabels: { tier: 'x' } }, b: { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, want: false },
];

OVERLAPS.forEach((c, i) => {
  test(`selector overlap case ${i + 1} is ${c.want ? 'overlapping' : 'disjoint'} in both orders`, () => {
    assert.equal(selectorsOverlap(c.a, c.b), c.want);
    assert.equal(selectorsOverlap(c.b, c.a), c.want);
  });
});
