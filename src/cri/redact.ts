/**
 * Scrubbing of registry secret material from text (spec "Pull secrets": it never reaches logs, events, errors or
 * status). A runtime may echo what it was given — a registry URL with userinfo, a token in a 401 body, the
 * base64 `auth` — so every error message from an authenticated call goes through a redactor built from the
 * credentials of that call, in every encoding the secret could take in text.
 */
import type { AuthConfig } from './cri-types.js';

export const REDACTED = '[REDACTED]';

/** Replaces secrets in text. Build one with `createRedactor`. */
export type Redactor = (text: string) => string;

/** The forms a secret may take in text: raw, base64 (standard and URL-safe, padded or not), URL- and JSON-escaped. */
function secretForms(secret: string): string[] {
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  const b64url = Buffer.from(secret, 'utf8').toString('base64url');
  return [
    secret,
    b64,
    b64.replace(/=+$/, ''),
    b64url,
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
  ];
}

/**
 * A redactor for the given secret values. Empty values are ignored; longer forms are replaced first so that a
 * secret contained in another one does not leave a fragment of the longer one behind.
 */
export function createRedactor(secrets: Iterable<string | undefined | null>): Redactor {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === undefined || secret === null || secret === '') continue;
    for (const form of secretForms(secret)) if (form !== '') forms.add(form);
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return scrubUrlUserinfo;
  return (text: string) => {
    let out = text;
    for (const form of ordered) out = out.split(form).join(REDACTED);
    return scrubUrlUserinfo(out);
  };
}

/** The secret values of an AuthConfig, including `user:pass` (whose base64 is the `auth` field). */
export function authConfigSecrets(auth: AuthConfig | null | undefined): string[] {
  if (auth === null || auth === undefined) return [];
  const out: string[] = [];
  for (const value of [auth.password, auth.auth, auth.identityToken, auth.registryToken]) {
    if (value !== undefined && value !== '') out.push(value);
  }
  if (auth.password !== undefined && auth.password !== '') out.push(`${auth.username ?? ''}:${auth.password}`);
  if (auth.auth !== undefined && auth.auth !== '') {
    // The decoded `auth` is `user:pass`; its password half is as secret as the whole. containerd quotes the decoded
    // value in its error when there is no ':' in it.
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    if (decoded !== '') out.push(decoded);
    const colon = decoded.indexOf(':');
    if (colon >= 0 && colon + 1 < decoded.length) out.push(decoded.slice(colon + 1));
  }
  return out;
}

/** A redactor for everything secret in one AuthConfig. */
export function authConfigRedactor(auth: AuthConfig | null | undefined): Redactor {
  return createRedactor(authConfigSecrets(auth));
}

/** `scheme://user:pass@host` → `scheme://[REDACTED]@host`, whatever the credentials. */
export function scrubUrlUserinfo(text: string): string {
  return text.replace(/([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s/@]+@/g, `$1${REDACTED}@`);
}
