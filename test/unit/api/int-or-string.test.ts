import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KruiseError, intValue, intOrPercentValue, isValidPercent, scaledValue, scaledValueOr, tryScaledValue,
} from '../../../src/api/index.js';

const SCALED: { v: number | string; total: number; up: boolean; want: number; name: string }[] = [
  { v: '50%', total: 5, up: true, want: 3, name: 'replicas 5 and "50%" give 3 when rounding up' },
  { v: '50%', total: 5, up: false, want: 2, name: 'replicas 5 and "50%" give 2 when rounding down' },
  { v: '99%', total: 4, up: true, want: 4, name: 'replicas 4 and "99%" give 4 (no at-least-one rule in v0.9.0)' },
  { v: '25%', total: 10, up: true, want: 3, name: 'replicas 10 and "25%" give 3' },
  { v: '20%', total: 5, up: false, want: 1, name: 'the default maxUnavailable "20%" of 5 is 1' },
  { v: '3', total: 100, up: true, want: 3, name: '"3" means 3 percent, not 3' },
  { v: '3', total: 10, up: true, want: 1, name: '"3" of 10 rounds up to 1' },
  { v: '5%%', total: 100, up: true, want: 5, name: 'every percent sign is stripped' },
  { v: 7, total: 5, up: true, want: 7, name: 'an integer is itself, even above the total' },
  { v: 0, total: 5, up: true, want: 0, name: 'zero is zero' },
  { v: '-10%', total: 10, up: true, want: -1, name: 'a negative percentage scales (validation rejects it)' },
  { v: '+10%', total: 10, up: true, want: 1, name: 'a leading plus is accepted, as by Go Atoi' },
];

for (const c of SCALED) {
  test(c.name, () => assert.equal(scaledValue(c.v, c.total, c.up), c.want));
}

const ERRORS: { v: string | number | undefined; msg: string }[] = [
  { v: 'abc', msg: 'invalid value for IntOrString: invalid value "abc": strconv.Atoi: parsing "abc": invalid syntax' },
  { v: '%', msg: 'invalid value for IntOrString: invalid value "%": strconv.Atoi: parsing "": invalid syntax' },
  { v: '1.5%', msg: 'invalid value for IntOrString: invalid value "1.5%": strconv.Atoi: parsing "1.5": invalid syntax' },
  { v: '99999999999999999999%', msg: 'invalid value for IntOrString: invalid value "99999999999999999999%": strconv.Atoi: parsing "99999999999999999999": value out of range' },
  { v: 1.5, msg: 'invalid value for IntOrString: invalid value 1.5: not an integer' },
  { v: undefined, msg: 'nil value for IntOrString' },
];

for (const c of ERRORS) {
  test(`the value ${JSON.stringify(c.v)} is an error with Go's message`, () => {
    assert.deepEqual(tryScaledValue(c.v, 10, true), { error: c.msg });
    assert.throws(() => scaledValue(c.v, 10, true), (e: unknown) => KruiseError.is(e) && e.reason === 'Invalid' && e.message === c.msg);
  });
}

test('a missing value falls back to the given default', () => {
  assert.equal(scaledValueOr(undefined, '20%', 10, true), 2);
  assert.equal(scaledValueOr(4, '20%', 10, true), 4);
});

test('intOrPercentValue tells integers from percentages', () => {
  assert.deepEqual(intOrPercentValue(5), { value: 5, isPercent: false });
  assert.deepEqual(intOrPercentValue('5'), { value: 5, isPercent: true });
  assert.deepEqual(intOrPercentValue('5%'), { value: 5, isPercent: true });
});

const INT_VALUES: { v: number | string; want: number }[] = [
  { v: '50%', want: 0 }, { v: '5', want: 5 }, { v: 5, want: 5 }, { v: 'abc', want: 0 }, { v: '', want: 0 }, { v: '-2', want: -2 },
];

for (const c of INT_VALUES) {
  test(`IntValue of ${JSON.stringify(c.v)} is ${c.want} (ImagePullJob parallelism)`, () => assert.equal(intValue(c.v), c.want));
}

test('isValidPercent accepts only digits followed by one percent sign', () => {
  assert.equal(isValidPercent('10%'), true);
  assert.equal(isValidPercent('10'), false);
  assert.equal(isValidPercent('-1%'), false);
  assert.equal(isValidPercent('1%%'), false);
});
