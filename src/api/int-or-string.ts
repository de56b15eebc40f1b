/**
 * intstr.IntOrString arithmetic with apimachinery v0.16 semantics (spec §0.2), which every Kruise percentage uses:
 * a string has **every** `%` removed and the rest parsed as a Go int that is then a percentage, so `"3"` is 3 %
 * and `"5%%"` is 5 %. Validation messages quote Go's errors, because users see them.
 */
import { KruiseError } from './errors.js';
import type { IntOrString } from './meta.js';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/** Go's strconv.Atoi on a 64-bit platform: optional sign, ASCII digits, int64 range; the error text is Go's. */
export function goAtoi(text: string): { value: number } | { error: string } {
  if (!/^[+-]?[0-9]+$/.test(text)) return { error: `strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax` };
  const big = BigInt(text);
  if (big > INT64_MAX || big < INT64_MIN) {
    return { error: `strconv.Atoi: parsing ${JSON.stringify(text)}: value out of range` };
  }
  return { value: Number(big) };
}

/** The result of reading an IntOrString: the number, whether it was a percentage, or Go's error text. */
export type IntOrPercent = { value: number; isPercent: boolean } | { error: string };

/** `getIntOrPercentValue`: integers as they are, strings as percentages with every `%` stripped. */
export function intOrPercentValue(v: IntOrString): IntOrPercent {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return { error: `invalid value ${v}: not an integer` };
    return { value: v, isPercent: false };
  }
  const parsed = goAtoi(v.replaceAll('%', ''));
  if ('error' in parsed) return { error: `invalid value ${JSON.stringify(v)}: ${parsed.error}` };
  return { value: parsed.value, isPercent: true };
}

/**
 * `GetValueFromIntOrPercent`: the integer, or ceil/floor(p·total/100) for a string. Returns Go's error text
 * (`invalid value for IntOrString: …`) instead of throwing, for validation.
 */
export function tryScaledValue(
  v: IntOrString | undefined | null, total: number, roundUp: boolean,
): { value: number } | { error: string } {
  if (v === undefined || v === null) return { error: 'nil value for IntOrString' };
  const r = intOrPercentValue(v);
  if ('error' in r) return { error: `invalid value for IntOrString: ${r.error}` };
  if (!r.isPercent) return { value: r.value };
  const exact = (r.value * total) / 100;
  return { value: roundUp ? Math.ceil(exact) : Math.floor(exact) };
}

/** Like `tryScaledValue` but throws KruiseError(reason `Invalid`) on a bad value. */
export function scaledValue(v: IntOrString | undefined | null, total: number, roundUp: boolean): number {
  const r = tryScaledValue(v, total, roundUp);
  if ('error' in r) throw new KruiseError(r.error, { reason: 'Invalid' });
  return r.value;
}

/** `scaledValue`, but a missing value yields `fallback` (CloneSet: partition/maxSurge 0, maxUnavailable "20%"). */
export function scaledValueOr(
  v: IntOrString | undefined | null, fallback: IntOrString, total: number, roundUp: boolean,
): number {
  return scaledValue(v ?? fallback, total, roundUp);
}

/**
 * intstr's `IntValue()`: integers as they are, strings parsed whole as an integer and 0 when that fails. Used only
 * for ImagePullJob `parallelism`, so `"50%"` yields 0 (a paused job) and `"5"` yields 5 (§0.2, §4.2).
 */
export function intValue(v: IntOrString): number {
  if (typeof v === 'number') return Math.trunc(v);
  const parsed = goAtoi(v);
  if ('error' in parsed) return 0;
  return parsed.value;
}

/** intstr's `String()`: the decimal integer or the string as written (validation renders bad values with it). */
export function intOrStringToString(v: IntOrString): string {
  return typeof v === 'number' ? String(v) : v;
}

const PERCENT_RE = /^[0-9]+%$/;

/** apimachinery `IsValidPercent` message (with its double space, as Go's RegexError builds it). */
export const INVALID_PERCENT_MESSAGE =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

export function isValidPercent(text: string): boolean {
  return PERCENT_RE.test(text);
}
