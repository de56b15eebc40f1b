/**
 * Just enough image-reference handling for the §7.4 consistency rules, without importing `cri/` (planners stay
 * free of it). Upstream compares repositories as written (`reference.Parse`, no normalisation), so a spec image
 * `nginx@sha256:…` never equals the runtime's `docker.io/library/nginx@sha256:…` and the Pod looks inconsistent
 * forever on containerd; we compare normalised names (spec README: full reference grammar, digest pins work).
 */

const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

export interface ImageParts {
  /** Normalised repository: `docker.io/library/nginx`, `registry:5000/a/b`. '' when the reference has none. */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** Docker's domain rule: the first path component is a registry if it has `.` or `:` or is `localhost`. */
function normaliseRepository(name: string): string {
  if (name === '') return '';
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  let domain = 'docker.io';
  let path = name;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return `${domain}/${path}`;
}

/** Splits `[registry/]repo[:tag][@digest]`; a leading `scheme://` (imageIDs such as `docker-pullable://`) is dropped. */
export function parseImage(ref: string): ImageParts {
  let rest = ref;
  const scheme = rest.indexOf('://');
  if (scheme >= 0) rest = rest.slice(scheme + 3);
  let digest: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0 && DIGEST_RE.test(rest.slice(at + 1))) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else if (DIGEST_RE.test(rest)) {
    // A bare `sha256:…` imageID: a digest without a repository.
    return { repository: '', tag: undefined, digest: rest };
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repository: normaliseRepository(rest), tag, digest };
}

/** Whether the image is pinned by digest (`repo@sha256:…`, `repo:tag@sha256:…`). */
export function isDigestImage(image: string | undefined): boolean {
  return image !== undefined && parseImage(image).digest !== undefined;
}

/**
 * Whether a container status `imageID` is the digest the spec pins: same digest, and the same repository when the
 * imageID names one.
 */
export function imageIdMatchesDigest(specImage: string, imageID: string): boolean {
  const spec = parseImage(specImage);
  const status = parseImage(imageID);
  if (spec.digest === undefined || status.digest === undefined) return false;
  if (spec.digest !== status.digest) return false;
  return status.repository === '' || status.repository === spec.repository;
}

/** Whether two references name the same image once normalised (`nginx` = `docker.io/library/nginx:latest`). */
export function sameImage(a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseImage(a);
  const y = parseImage(b);
  if (x.repository !== y.repository) return false;
  if (x.digest !== undefined || y.digest !== undefined) {
    if (x.digest !== undefined && y.digest !== undefined) return x.digest === y.digest;
    return false;
  }
  return (x.tag ?? 'latest') === (y.tag ?? 'latest');
}
