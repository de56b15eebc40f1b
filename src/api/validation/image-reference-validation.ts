/**
 * Whether a string parses as a Docker image reference the way `reference.ParseNormalizedNamed` (docker/distribution)
 * does, returning its error text, for ImagePullJob's `invalid image <img>: <err>` (§4.2). Full grammar: registry
 * with port, path components, tag, digest (`repo@sha256:…`, `repo:tag@sha256:…`). Only validation lives here; the
 * agent's reference normalisation is in `cri/`.
 */

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]*)';
const NAME_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${NAME_COMPONENT}(?:/${NAME_COMPONENT})*`;
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Splits off the registry part like docker's `splitDockerDomain`, so uppercase is only checked in the path. */
function remoteName(ref: string): string {
  const i = ref.indexOf('/');
  let remainder = ref;
  if (i >= 0) {
    const first = ref.slice(0, i);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      remainder = ref.slice(i + 1);
    }
  }
  const tagSep = remainder.indexOf(':');
  return tagSep >= 0 ? remainder.slice(0, tagSep) : remainder;
}

/** Returns docker/distribution's error text for an invalid reference, or undefined when it parses. */
export function imageReferenceError(ref: string): string | undefined {
  if (IDENTIFIER_RE.test(ref)) {
    return `invalid repository name (${ref}), cannot specify 64-byte hexadecimal strings`;
  }
  const remote = remoteName(ref);
  if (remote.toLowerCase() !== remote) return 'invalid reference format: repository name must be lowercase';
  if (ref === '') return 'repository name must have at least one component';
  const m = REFERENCE_RE.exec(ref);
  if (!m) return 'invalid reference format';
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    return `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`;
  }
  const digest = m[3];
  if (digest !== undefined) {
    const [algorithm, hex] = digest.split(':') as [string, string];
    const want = DIGEST_HEX_LENGTH[algorithm];
    if (want === undefined) return 'unsupported digest algorithm';
    if (hex.length !== want) return 'invalid checksum digest length';
    if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  }
  return undefined;
}
