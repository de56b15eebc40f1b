/**
 * Docker image references: parsing, normalising (`nginx` → `docker.io/library/nginx:latest`) and familiarising
 * (the reverse), following the grammar and normalisation rules of distribution/reference:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path
 *   domain     := host [":" port]         host: DNS-ish name, IPv4, or [IPv6]
 *   path       := component ("/" component)*    component: [a-z0-9]+ joined by "." | "_" | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex
 *
 * Spec "Image references": upstream Kruise split an image at its last ':' and broke digest pins (#2534). Here a
 * reference keeps both a tag and a digest (`repo:tag@sha256:...`), and `toString()` gives back everything, so the
 * runtime pulls exactly the pinned content.
 */
import { KruiseError } from '../api/errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** Longest repository path distribution accepts. */
export const MAX_REPOSITORY_PATH_LENGTH = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST_ALGORITHM = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*$/;
/** Registered algorithms and their hex lengths (opencontainers/go-digest: lowercase hex only). */
const DIGEST_HEX_LENGTH: ReadonlyMap<string, number> = new Map([['sha256', 64], ['sha384', 96], ['sha512', 128]]);
/** A bare image id; distribution refuses it as a name, it would be ambiguous. */
const IDENTIFIER = /^[a-f0-9]{64}$/;

/** A parsed, normalised image reference. */
export interface ParsedReference {
  /** Registry host, with port if any: `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path in the registry: `library/nginx`. */
  readonly path: string;
  /** The tag; `latest` when the reference had neither tag nor digest. */
  readonly tag: string | undefined;
  /** `algorithm:hex`, e.g. `sha256:...`. */
  readonly digest: string | undefined;
  /** `domain/path`: `docker.io/library/nginx`. This is what registry credentials are matched against. */
  readonly name: string;
  /** The short form: `nginx`, `user/app`, `quay.io/org/app`. */
  readonly familiarName: string;
  /** Fully normalised: `docker.io/library/nginx:1.25@sha256:...` (tag and digest both kept). */
  toString(): string;
  /** Familiar form with tag and digest: `nginx:1.25@sha256:...`. */
  familiarString(): string;
}

/** Why a reference is invalid. Reason `InvalidImageName`, kubelet's name for it; not retryable. */
export class ImageReferenceError extends KruiseError {
  readonly reference: string;

  constructor(reference: string, why: string, fieldPath?: string) {
    super(`invalid image reference ${JSON.stringify(reference)}: ${why}`, {
      reason: 'InvalidImageName',
      retryable: false,
      ...(fieldPath === undefined ? {} : { fieldPath }),
    });
    this.name = 'ImageReferenceError';
    this.reference = reference;
  }
}

export interface ParseImageReferenceOptions {
  /** Add `latest` when there is neither tag nor digest. @default true */
  defaultTag?: boolean;
  /** Carried into errors, e.g. `spec.image`. */
  fieldPath?: string;
}

/** Parses and normalises a reference, or throws `ImageReferenceError` saying what is wrong. */
export function parseImageReference(reference: string, options: ParseImageReferenceOptions = {}): ParsedReference {
  const fail = (why: string): never => { throw new ImageReferenceError(reference, why, options.fieldPath); };
  if (reference === '') fail('it is empty');
  if (/\s/.test(reference)) fail('it contains whitespace');
  if (IDENTIFIER.test(reference)) {
    fail('a 64-character hex string is an image id, not a repository name');
  }

  // Digest: everything after the one '@' (no other part of the grammar may contain '@').
  let rest = reference;
  let digest: string | undefined;
  const at = reference.indexOf('@');
  if (at >= 0) {
    if (reference.indexOf('@', at + 1) >= 0) fail("it contains more than one '@'");
    digest = reference.slice(at + 1);
    rest = reference.slice(0, at);
    const why = digestProblem(digest);
    if (why !== undefined) fail(why);
  }

  // Tag: after the last ':' that follows the last '/' (a ':' before it belongs to the registry's port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === '') fail("the tag after ':' is empty");
    if (tag.length > 128) fail(`tag is ${tag.length} characters long, the maximum is 128`);
    if (!TAG.test(tag)) {
      fail(`tag ${JSON.stringify(tag)} must start with a letter, digit or '_' and contain only letters, digits, '_', '.' and '-'`);
    }
  }
  if (rest === '') fail('the repository name is empty');

  const [domain, path] = splitDomain(rest);
  if (!DOMAIN.test(domain)) fail(`registry ${JSON.stringify(domain)} is not a valid host[:port]`);
  if (path === '') fail('the repository path is empty');
  if (path !== path.toLowerCase()) fail(`repository name ${JSON.stringify(path)} must be lowercase`);
  for (const component of path.split('/')) {
    if (component === '') fail(`repository path ${JSON.stringify(path)} has an empty component`);
    if (!PATH_COMPONENT.test(component)) {
      fail(`repository path component ${JSON.stringify(component)} must be lowercase letters and digits, separated by '.', '_', '__' or '-'`);
    }
  }
  if (path.length > MAX_REPOSITORY_PATH_LENGTH) {
    fail(`repository path is ${path.length} characters long, the maximum is ${MAX_REPOSITORY_PATH_LENGTH}`);
  }
  if (tag === undefined && digest === undefined && (options.defaultTag ?? true)) tag = DEFAULT_TAG;
  return makeReference(domain, path, tag, digest);
}

/** Like `parseImageReference` but returns the error instead of throwing. */
export function tryParseImageReference(
  reference: string,
  options?: ParseImageReferenceOptions,
): ParsedReference | ImageReferenceError {
  try {
    return parseImageReference(reference, options);
  } catch (err) {
    if (err instanceof ImageReferenceError) return err;
    throw err;
  }
}

/** `nginx` → `docker.io/library/nginx:latest`. */
export function normalizeImageReference(reference: string): string {
  return parseImageReference(reference).toString();
}

/** `docker.io/library/nginx:latest` → `nginx:latest`. */
export function familiarizeImageReference(reference: string): string {
  return parseImageReference(reference, { defaultTag: false }).familiarString();
}

/** The default-domain and official-repository rules of Docker's `splitDockerDomain`. */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const first = name.slice(0, slash);
  const remainder = name.slice(slash + 1);
  let domain: string;
  let path: string;
  if (first === 'localhost' || /[.:]/.test(first) || first !== first.toLowerCase()) {
    // localhost, something with a '.' or a port, or (since path components are lowercase) an uppercase first part.
    domain = first === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : first;
    path = remainder;
  } else {
    domain = DEFAULT_DOMAIN;
    path = name;
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return [domain, path];
}

function digestProblem(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (digest === '') return "the digest after '@' is empty";
  if (colon < 0) return `digest ${JSON.stringify(digest)} must be algorithm:hex, e.g. sha256:<64 hex characters>`;
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (!DIGEST_ALGORITHM.test(algorithm)) return `digest algorithm ${JSON.stringify(algorithm)} is malformed`;
  const length = DIGEST_HEX_LENGTH.get(algorithm);
  if (length === undefined) return `digest algorithm ${JSON.stringify(algorithm)} is not supported (sha256, sha384, sha512)`;
  if (!/^[a-f0-9]*$/.test(hex)) return `${algorithm} digest must be lowercase hex`;
  if (hex.length !== length) return `${algorithm} digest must have ${length} hex characters, it has ${hex.length}`;
  return undefined;
}

function familiarNameOf(domain: string, path: string): string {
  if (domain !== DEFAULT_DOMAIN) return `${domain}/${path}`;
  if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const short = path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!short.includes('/')) return short;
  }
  return path;
}

function makeReference(domain: string, path: string, tag: string | undefined, digest: string | undefined): ParsedReference {
  const suffix = (tag === undefined ? '' : `:${tag}`) + (digest === undefined ? '' : `@${digest}`);
  const name = `${domain}/${path}`;
  const familiarName = familiarNameOf(domain, path);
  return Object.freeze({
    domain,
    path,
    tag,
    digest,
    name,
    familiarName,
    toString: () => name + suffix,
    familiarString: () => familiarName + suffix,
  });
}
