/**
 * Kubernetes label selectors: the string syntax (`a=b,c in (x,y),!d`) used by `?labelSelector=` and `kubectl -l`,
 * and the metav1.LabelSelector object (matchLabels + matchExpressions) used in workload specs. Both compile to the
 * same `Selector`: an AND of requirements, sorted by key as apimachinery sorts them, so `selectorToString` is
 * deterministic.
 *
 * Nil versus empty, the Kubernetes convention (apimachinery `LabelSelectorAsSelector`):
 * - an empty LabelSelector object `{}` (no matchLabels, no matchExpressions) selects everything;
 * - a missing selector (`undefined`/`null`) is not handled here: Kubernetes maps it to `labels.Nothing()` in
 *   `LabelSelectorAsSelector`, but some callers (e.g. a Service without a selector, a PDB) give it other meanings,
 *   so each caller decides and passes `everything` or `nothing` explicitly.
 *
 * Error texts follow apimachinery (`pkg/labels/selector.go`, `pkg/api/validate/content`), so users grepping a
 * Kubernetes message find ours. One deliberate change: Kubernetes reports an invalid key in the string syntax with
 * a `<nil>` field path; we name it `key`.
 */
import { KruiseError } from './errors.js';
import { aggregateMessage, fieldError, type FieldError } from './field-errors.js';
import type { LabelSelector } from './meta.js';

/**
 * Operators, spelled as apimachinery's `selection.Operator`. `=` and `==` are the same test; both are kept so that
 * `toString` renders what was written. `gt`/`lt` exist only in the string syntax (and node affinity), never in a
 * LabelSelector object.
 */
export type SelectorOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Sorted and de-duplicated for `in`/`notin`; exactly one for `=`, `==`, `!=`, `gt`, `lt`; empty otherwise. */
  readonly values: readonly string[];
}

export interface Selector {
  /** True only for `nothing`: matches no label set at all, whatever `requirements` says. */
  readonly matchesNothing: boolean;
  /** AND of all; an empty list (with `matchesNothing` false) matches everything. Sorted by key. */
  readonly requirements: readonly Requirement[];
}

/** Matches every label set (apimachinery `labels.Everything()`). */
export const everything: Selector = Object.freeze({ matchesNothing: false, requirements: Object.freeze([]) });

/** Matches no label set (apimachinery `labels.Nothing()`). Renders as '' like upstream; it cannot round-trip. */
export const nothing: Selector = Object.freeze({ matchesNothing: true, requirements: Object.freeze([]) });

/** A selector object that failed validation; `errors` are the field errors, `fieldPath` the first one's field. */
export class InvalidSelectorError extends KruiseError {
  readonly errors: readonly FieldError[];

  constructor(errors: readonly FieldError[]) {
    super(aggregateMessage(errors), { reason: 'Invalid', fieldPath: errors[0]?.field });
    this.name = 'InvalidSelectorError';
    this.errors = errors;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation of keys and values (qualified names and label values), with apimachinery's texts.

const LABEL_KEY_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_RE = new RegExp(`^${LABEL_KEY_FMT}$`);
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);

/** apimachinery's RegexError layout, including its `',  or '` double space, so messages match byte for byte. */
function regexError(msg: string, re: string, ...examples: string[]): string {
  const eg = examples.map((e, i) => `${i > 0 ? ' or ' : ''}'${e}', `).join('');
  return `${msg} (e.g. ${eg}regex used for validation is '${re}')`;
}

/** Go's len(): bytes, not UTF-16 units. */
function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The problems with `value` as a DNS-1123 subdomain (253 bytes max); empty when valid. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN_RE.test(value)) errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  return errs;
}

/** The problems with `value` as a label key (a "qualified name": `[prefix/]name`); empty when valid. */
export function labelKeyErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123SubdomainErrors(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [`a valid label key ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}` +
      " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLength(name) > 63) errs.push('name part must be no more than 63 characters');
  if (!LABEL_KEY_RE.test(name)) errs.push(`name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

/** The problems with `value` as a label value (may be empty, 63 bytes max); empty when valid. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push('must be no more than 63 characters');
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

// ---------------------------------------------------------------------------------------------------------------
// Requirements

/** Go's strconv.ParseInt(s, 10, 64) acceptance: optional sign, decimal digits, within int64. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

/**
 * Builds one requirement, checking it as apimachinery's `NewRequirement` does; `path` prefixes field names
 * (`matchExpressions[0]`), empty for the string syntax.
 */
function newRequirement(key: string, operator: SelectorOperator, values: readonly string[], path: string): { req: Requirement; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const child = (name: string) => (path === '' ? name : `${path}.${name}`);
  const keyErrs = labelKeyErrors(key);
  if (keyErrs.length > 0) errors.push(fieldError.invalid(child('key'), key, keyErrs.join('; ')));
  const valuesPath = child('values');
  switch (operator) {
    case 'in': case 'notin':
      if (values.length === 0) errors.push(fieldError.invalid(valuesPath, values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=': case '==': case '!=':
      if (values.length !== 1) errors.push(fieldError.invalid(valuesPath, values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists': case '!':
      if (values.length !== 0) errors.push(fieldError.invalid(valuesPath, values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt': case 'lt':
      if (values.length !== 1) errors.push(fieldError.invalid(valuesPath, values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errors.push(fieldError.invalid(`${valuesPath}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  values.forEach((v, i) => {
    const errs = labelValueErrors(v);
    if (errs.length > 0) errors.push(fieldError.invalid(`${valuesPath}[${i}][${key}]`, v, errs.join('; ')));
  });
  const normalized = operator === 'in' || operator === 'notin' ? [...new Set(values)].sort() : [...values];
  return { req: Object.freeze({ key, operator, values: Object.freeze(normalized) }), errors };
}

function byKey(a: Requirement, b: Requirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function selectorOf(requirements: Requirement[]): Selector {
  if (requirements.length === 0) return everything;
  // Array.prototype.sort is stable, like Go's sort.Sort is not; equal keys keep their written order here.
  return Object.freeze({ matchesNothing: false, requirements: Object.freeze(requirements.sort(byKey)) });
}

// ---------------------------------------------------------------------------------------------------------------
// The string syntax: a lexer and a recursive-descent parser for
//   selector    ::= requirement | requirement "," selector
//   requirement ::= ["!"] KEY [ ("in" | "notin") "(" VALUES ")" | ("=" | "==" | "!=" | ">" | "<") VALUE ]

type TokenKind =
  | 'identifier' | 'end' | 'error' | 'comma' | 'open' | 'close'
  | '!' | '=' | '==' | '!=' | 'in' | 'notin' | '>' | '<';

interface Token { kind: TokenKind; text: string }

const SYMBOL_TOKENS: Record<string, TokenKind> = {
  '!': '!', '=': '=', '==': '==', '!=': '!=', '(': 'open', ')': 'close', ',': 'comma', '>': '>', '<': '<',
};
const KEYWORDS: Record<string, TokenKind> = { in: 'in', notin: 'notin' };
const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && WHITESPACE.has(text[pos]!)) pos++;
    if (pos >= text.length) {
      tokens.push({ kind: 'end', text: '' });
      return tokens;
    }
    if (SPECIAL.has(text[pos]!)) {
      // Longest run of special characters that still forms a token: `!=` wins over `!`, `=(` is `=` then `(`.
      let buffer = '';
      let last: Token | undefined;
      while (pos < text.length && SPECIAL.has(text[pos]!)) {
        const next = buffer + text[pos]!;
        const kind = SYMBOL_TOKENS[next];
        if (kind !== undefined) {
          last = { kind, text: next };
          buffer = next;
          pos++;
        } else if (last !== undefined) {
          break;
        } else {
          buffer = next;
          pos++;
        }
      }
      tokens.push(last ?? { kind: 'error', text: `error expected: keyword found '${buffer}'` });
      continue;
    }
    let word = '';
    while (pos < text.length && !SPECIAL.has(text[pos]!) && !WHITESPACE.has(text[pos]!)) word += text[pos++]!;
    tokens.push({ kind: Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word]! : 'identifier', text: word });
  }
}

class ParseFailure extends Error {}

class Parser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  /** In value position the keywords `in`/`notin` are ordinary identifiers (`x in (in)`), as upstream. */
  private peek(asValue: boolean): Token {
    const t = this.tokens[this.position]!;
    return asValue && (t.kind === 'in' || t.kind === 'notin') ? { kind: 'identifier', text: t.text } : t;
  }

  private next(asValue: boolean): Token {
    const t = this.peek(asValue);
    if (this.position < this.tokens.length - 1) this.position++;
    return t;
  }

  parse(): Requirement[] {
    const requirements: Requirement[] = [];
    for (;;) {
      const t = this.peek(true);
      if (t.kind === 'end') return requirements;
      if (t.kind !== 'identifier' && t.kind !== '!') {
        throw new ParseFailure(`found '${t.text}', expected: !, identifier, or 'end of string'`);
      }
      try {
        requirements.push(this.requirement());
      } catch (err) {
        if (err instanceof ParseFailure) throw new ParseFailure(`unable to parse requirement: ${err.message}`);
        throw err;
      }
      const sep = this.next(true);
      if (sep.kind === 'end') return requirements;
      if (sep.kind !== 'comma') throw new ParseFailure(`found '${sep.text}', expected: ',' or 'end of string'`);
      const after = this.peek(true);
      if (after.kind !== 'identifier' && after.kind !== '!') {
        throw new ParseFailure(`found '${after.text}', expected: identifier after ','`);
      }
    }
  }

  private requirement(): Requirement {
    let operator: SelectorOperator | undefined;
    let t = this.next(true);
    if (t.kind === '!') {
      operator = '!';
      t = this.next(true);
    }
    if (t.kind !== 'identifier') throw new ParseFailure(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const keyErrs = labelKeyErrors(key);
    if (keyErrs.length > 0) throw new ParseFailure(aggregateMessage([fieldError.invalid('key', key, keyErrs.join('; '))]));
    // `!a` is complete whatever follows: `!a=b` then fails on `=` as a separator, as upstream.
    if (operator === '!') return this.build(key, '!', []);
    const after = this.peek(true);
    if (after.kind === 'end' || after.kind === 'comma') return this.build(key, 'exists', []);
    const op = this.next(false);
    switch (op.kind) {
      case 'in': return this.build(key, 'in', this.setValues());
      case 'notin': return this.build(key, 'notin', this.setValues());
      case '=': return this.build(key, '=', this.exactValue());
      case '==': return this.build(key, '==', this.exactValue());
      case '!=': return this.build(key, '!=', this.exactValue());
      case '>': return this.build(key, 'gt', this.exactValue());
      case '<': return this.build(key, 'lt', this.exactValue());
      default:
        throw new ParseFailure(`found '${op.text}', expected: in, notin, =, ==, !=, gt, lt`);
    }
  }

  private build(key: string, operator: SelectorOperator, values: string[]): Requirement {
    const { req, errors } = newRequirement(key, operator, values, '');
    if (errors.length > 0) throw new ParseFailure(aggregateMessage(errors));
    return req;
  }

  /** `(a,b)`, `()` and `(a,,b)`: empty entries are the empty string, as upstream. */
  private setValues(): string[] {
    const open = this.next(true);
    if (open.kind !== 'open') throw new ParseFailure(`found '${open.text}' expected: '('`);
    const first = this.peek(true);
    if (first.kind === 'close') {
      this.next(true);
      return [''];
    }
    if (first.kind !== 'identifier' && first.kind !== 'comma') {
      throw new ParseFailure(`found '${first.text}', expected: ',', ')' or identifier`);
    }
    const values: string[] = [];
    let expectValue = true;
    for (;;) {
      const t = this.next(true);
      if (t.kind === 'identifier' && expectValue) {
        values.push(t.text);
        expectValue = false;
        const n = this.peek(true);
        if (n.kind !== 'comma' && n.kind !== 'close') throw new ParseFailure(`found '${n.text}', expected: ',' or ')'`);
      } else if (t.kind === 'comma') {
        if (expectValue) values.push('');
        expectValue = true;
        if (this.peek(true).kind === 'close') values.push('');
      } else if (t.kind === 'close') {
        return values;
      } else {
        throw new ParseFailure(`found '${t.text}', expected: ',', or identifier`);
      }
    }
  }

  /** The single value after `=`, `==`, `!=`, `>`, `<`; nothing (`a=`) means the empty string. */
  private exactValue(): string[] {
    const t = this.peek(true);
    if (t.kind === 'end' || t.kind === 'comma') return [''];
    this.next(true);
    if (t.kind === 'identifier') return [t.text];
    throw new ParseFailure(`found '${t.text}', expected: identifier`);
  }
}

/**
 * Parses the string syntax. The empty (or all-blank) string is `everything`. Throws a KruiseError with reason
 * `BadRequest` and apimachinery's message, e.g. `unable to parse requirement: found 'b' expected: '('`.
 */
export function parseLabelSelector(text: string): Selector {
  try {
    return selectorOf(new Parser(lex(text)).parse());
  } catch (err) {
    if (err instanceof ParseFailure) throw new KruiseError(err.message, { reason: 'BadRequest' });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The object form

const OBJECT_OPERATORS: Record<string, SelectorOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * Validates a metav1.LabelSelector the way the API server validates one inside an object
 * (`ValidateLabelSelector`): returns field errors under `fieldPath` (e.g. `spec.selector`), empty when valid.
 */
export function validateLabelSelector(obj: LabelSelector, fieldPath = 'selector'): FieldError[] {
  const errors: FieldError[] = [];
  for (const [k, v] of Object.entries(obj.matchLabels ?? {})) {
    for (const msg of labelKeyErrors(k)) errors.push(fieldError.invalid(`${fieldPath}.matchLabels`, k, msg));
    for (const msg of labelValueErrors(String(v))) errors.push(fieldError.invalid(`${fieldPath}.matchLabels`, v, msg));
  }
  (obj.matchExpressions ?? []).forEach((expr, i) => {
    const p = `${fieldPath}.matchExpressions[${i}]`;
    const values = expr.values ?? [];
    switch (expr.operator as string) {
      case 'In': case 'NotIn':
        if (values.length === 0) errors.push(fieldError.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists': case 'DoesNotExist':
        if (values.length > 0) errors.push(fieldError.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errors.push(fieldError.invalid(`${p}.operator`, expr.operator, 'not a valid selector operator'));
    }
    for (const msg of labelKeyErrors(expr.key)) errors.push(fieldError.invalid(`${p}.key`, expr.key, msg));
    values.forEach((v, j) => {
      for (const msg of labelValueErrors(v)) errors.push(fieldError.invalid(`${p}.values[${j}]`, v, msg));
    });
  });
  return errors;
}

/**
 * Converts a metav1.LabelSelector. `{}` is `everything` (see the module comment for a missing selector).
 * Throws InvalidSelectorError (reason `Invalid`, with field errors under `fieldPath`) when the object is invalid.
 */
export function selectorFromLabelSelector(obj: LabelSelector, fieldPath = 'selector'): Selector {
  const errors = validateLabelSelector(obj, fieldPath);
  if (errors.length > 0) throw new InvalidSelectorError(errors);
  const requirements: Requirement[] = [];
  for (const [k, v] of Object.entries(obj.matchLabels ?? {})) requirements.push(newRequirement(k, '=', [v], '').req);
  for (const expr of obj.matchExpressions ?? []) {
    requirements.push(newRequirement(expr.key, OBJECT_OPERATORS[expr.operator]!, expr.values ?? [], '').req);
  }
  return selectorOf(requirements);
}

/** A selector matching exactly the given labels (`labels.SelectorFromSet`); no labels is `everything`. */
export function selectorFromSet(labels: Readonly<Record<string, string>>): Selector {
  return selectorOf(Object.entries(labels).map(([k, v]) => Object.freeze({ key: k, operator: '=' as const, values: Object.freeze([v]) })));
}

// ---------------------------------------------------------------------------------------------------------------
// Matching and rendering

function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key]! : undefined;
  switch (r.operator) {
    case 'in': case '=': case '==':
      return value !== undefined && r.values.includes(value);
    case 'notin': case '!=':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt': case 'lt': {
      if (value === undefined || r.values.length !== 1) return false;
      const actual = parseInt64(value);
      const bound = parseInt64(r.values[0]!);
      if (actual === undefined || bound === undefined) return false;
      return r.operator === 'gt' ? actual > bound : actual < bound;
    }
  }
}

/** True when every requirement holds for `labels` (missing labels: `{}`). */
export function matchesSelector(sel: Selector, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (sel.matchesNothing) return false;
  const set = labels ?? {};
  return sel.requirements.every((r) => requirementMatches(r, set));
}

/** True for a selector that restricts nothing (`labels.Selector.Empty()`). */
export function isEverything(sel: Selector): boolean {
  return !sel.matchesNothing && sel.requirements.length === 0;
}

function requirementToString(r: Requirement): string {
  switch (r.operator) {
    case 'exists': return r.key;
    case '!': return `!${r.key}`;
    case 'in': return `${r.key} in (${r.values.join(',')})`;
    case 'notin': return `${r.key} notin (${r.values.join(',')})`;
    case 'gt': return `${r.key}>${r.values[0] ?? ''}`;
    case 'lt': return `${r.key}<${r.values[0] ?? ''}`;
    default: return `${r.key}${r.operator}${r.values[0] ?? ''}`;
  }
}

/** The string syntax for `sel`; `parseLabelSelector(selectorToString(s))` equals `s` except for `nothing` (''). */
export function selectorToString(sel: Selector): string {
  return sel.requirements.map(requirementToString).join(',');
}
