/**
 * The name checks of apimachinery's `util/validation` that CRD validation uses, returning the same message
 * lists (joined with "," by callers, as Kubernetes does).
 */

const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL}$`);

/** apimachinery's RegexError: the example list is joined as "'a',  or 'b', " (the double space is upstream's). */
function regexError(msg: string, regex: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${regex}')`;
  let s = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) s += ' or ';
    s += `'${e}', `;
  });
  return `${s}regex used for validation is '${regex}')`;
}

/** Shared with metadata validation: one implementation of apimachinery's IsDNS1123Subdomain. */
export { dns1123SubdomainErrors as isDns1123Subdomain } from '../../../api/label-selector.js';


export function isDns1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1035_LABEL_RE.test(value)) {
    errs.push(regexError(
      'a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character',
      DNS1035_LABEL, 'my-name', 'abc-123'));
  }
  return errs;
}
