/**
 * The string formats a CRD schema may use, as apiextensions-apiserver keeps them (`pkg/apiserver/validation/
 * formats.go` `supportedVersionedFormats`). Any other format, and every format on a non-string type
 * (int32, int64, float, double), is ignored rather than rejected: upstream strips them before validating, so a
 * schema with `format: int32` or `format: my-own` must never make the validator throw "unknown format".
 *
 * The checks follow Go's parsers loosely (net.ParseIP, time.Parse RFC 3339, base64); they are not byte-exact.
 */
import { isIPv4, isIPv6 } from 'node:net';

type Check = (value: string) => boolean;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const UUID4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const UUID5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;
const HOSTNAME = /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$/i;
const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;
const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$|^([0-9a-f]{2}[:-]){7}[0-9a-f]{2}$|^([0-9a-f]{4}\.){2}[0-9a-f]{4}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DURATION = /^(\d+(\.\d+)?\s*(ns|us|µs|ms|s|m|h|d|w)\s*)+$/;
const BSON_OBJECT_ID = /^[0-9a-f]{24}$/i;
const HEX_COLOR = /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const RGB_COLOR = /^rgb\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*\)$/;
const ISBN10 = /^(?:\d[- ]?){9}[\dX]$/;
const ISBN13 = /^(?:\d[- ]?){12}\d$/;
const SSN = /^\d{3}[- ]?\d{2}[- ]?\d{4}$/;

function isDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

function isCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash < 0) return false;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return false;
  if (isIPv4(ip)) return Number(bits) <= 32;
  if (isIPv6(ip)) return Number(bits) <= 128;
  return false;
}

function isUri(value: string): boolean {
  // Go's url.ParseRequestURI: an absolute URI or an absolute path.
  if (value.startsWith('/')) return !/\s/.test(value);
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** Keyed by the normalised name: go-openapi drops '-' (`date-time` → `datetime`). */
const CHECKS: Record<string, Check> = {
  bsonobjectid: (v) => BSON_OBJECT_ID.test(v),
  uri: isUri,
  email: (v) => EMAIL.test(v),
  hostname: (v) => HOSTNAME.test(v),
  ipv4: (v) => isIPv4(v),
  ipv6: (v) => isIPv6(v),
  cidr: isCidr,
  mac: (v) => MAC.test(v),
  uuid: (v) => UUID.test(v),
  uuid3: (v) => UUID3.test(v),
  uuid4: (v) => UUID4.test(v),
  uuid5: (v) => UUID5.test(v),
  isbn: (v) => ISBN10.test(v) || ISBN13.test(v),
  isbn10: (v) => ISBN10.test(v),
  isbn13: (v) => ISBN13.test(v),
  creditcard: (v) => /^[\d\s-]{12,23}$/.test(v),
  ssn: (v) => SSN.test(v),
  hexcolor: (v) => HEX_COLOR.test(v),
  rgbcolor: (v) => RGB_COLOR.test(v),
  byte: (v) => BASE64.test(v),
  password: () => true,
  date: isDate,
  duration: (v) => DURATION.test(v),
  datetime: (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T'))),
};

/** The check for a string format, or undefined when Kubernetes would not validate it. */
export function stringFormatCheck(format: string): Check | undefined {
  return CHECKS[format.replaceAll('-', '')];
}
