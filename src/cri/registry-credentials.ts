/**
 * Registry credentials from image pull secrets, matched to an image the way kubelet's credential keyring matches
 * them (kubernetes pkg/credentialprovider `BasicDockerKeyring`):
 *
 * - Each key of a dockercfg/dockerconfigjson map is read as a URL with an optional scheme: `host[:port][/path]`.
 *   A path of `/v1/` or `/v2/` (the Docker Hub API paths) counts as no path, so `https://index.docker.io/v1/` is the
 *   key `index.docker.io`.
 * - A key matches an image name (`docker.io/library/nginx`, no tag) when the ports are equal, the hosts have the same
 *   number of dot-separated labels and each label matches as a glob (`*.example.com` matches `a.example.com`, not
 *   `a.b.example.com`), and the key's path is a string prefix of the image's path (kubelet's rule: a plain prefix,
 *   so `/team` also matches `/teammate/app`).
 * - Keys are tried from the most specific: reverse lexicographic order, as kubelet sorts them. All credentials of
 *   every matching key are returned, in that order.
 * - When nothing matched and the image is on Docker Hub, entries for `index.docker.io` are used.
 *
 * The caller tries each returned credential, then an anonymous pull (spec "Pull secrets"). Parse problems are
 * reported without any of the secret's content: JSON parser messages may quote the input.
 */
import { KruiseError } from '../api/errors.js';
import type { AuthConfig } from './cri-types.js';
import { parseImageReference, type ParsedReference } from './image-reference.js';

export const SECRET_TYPE_DOCKER_CONFIG_JSON = 'kubernetes.io/dockerconfigjson';
export const SECRET_TYPE_DOCKERCFG = 'kubernetes.io/dockercfg';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';
export const DOCKERCFG_KEY = '.dockercfg';

const DOCKER_HUB_LEGACY_HOST = 'index.docker.io';

/** The parts of a core/v1 Secret read here; `data` values are base64, as the API serves them. */
export interface PullSecretLike {
  metadata?: { namespace?: string; name?: string };
  type?: string;
  data?: Record<string, string>;
}

/** One credential to try. Secret material: never log it; `describeCredential` gives a safe label. */
export interface RegistryCredential {
  username: string;
  password: string;
  identityToken?: string;
  registryToken?: string;
  /** The config key it came from, as written (`https://index.docker.io/v1/`). Not secret. */
  serverAddress: string;
  /** `namespace/name` of the Secret it came from, when known. Not secret. */
  source?: string;
}

/** One entry of a docker config map, after `auth` is decoded. */
export interface DockerConfigEntry {
  username: string;
  password: string;
  identityToken?: string;
  registryToken?: string;
}

/** A secret that could not be read; `message` never contains secret content. Reason `InvalidPullSecret`. */
export class PullSecretError extends KruiseError {
  constructor(message: string) {
    super(message, { reason: 'InvalidPullSecret', retryable: false });
    this.name = 'PullSecretError';
  }
}

function secretLabel(secret: PullSecretLike): string {
  const m = secret.metadata;
  return m?.name === undefined ? 'pull secret' : `secret ${m.namespace ?? ''}${m.namespace ? '/' : ''}${m.name}`;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function stringField(entry: Record<string, unknown>, name: string): string | undefined {
  const v = entry[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Parses a docker config map (`{ "<registry>": { username, password, auth, ... } }`). `auth`, when present,
 * is base64 `user:pass` and wins over `username`/`password`, as in kubelet.
 */
export function parseDockerConfigMap(value: unknown, where: string): Map<string, DockerConfigEntry> {
  const map = asRecord(value);
  if (map === undefined) throw new PullSecretError(`${where}: the registry map is not a JSON object`);
  const out = new Map<string, DockerConfigEntry>();
  for (const [key, raw] of Object.entries(map)) {
    const entry = asRecord(raw);
    // The key is a registry address, not secret; it helps find the broken entry.
    if (entry === undefined) throw new PullSecretError(`${where}: entry ${JSON.stringify(key)} is not a JSON object`);
    let username = stringField(entry, 'username') ?? '';
    let password = stringField(entry, 'password') ?? '';
    const auth = stringField(entry, 'auth');
    if (auth !== undefined) {
      const decoded = decodeBase64Strict(auth);
      const colon = decoded?.indexOf(':') ?? -1;
      if (decoded === undefined || colon < 0) {
        throw new PullSecretError(`${where}: entry ${JSON.stringify(key)} has an "auth" that is not base64 of user:password`);
      }
      username = decoded.slice(0, colon);
      // Docker tools pad with NULs at times; containerd trims them too.
      password = decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '');
    }
    const identityToken = stringField(entry, 'identitytoken');
    const registryToken = stringField(entry, 'registrytoken');
    out.set(key, {
      username,
      password,
      ...(identityToken === undefined ? {} : { identityToken }),
      ...(registryToken === undefined ? {} : { registryToken }),
    });
  }
  return out;
}

function decodeBase64Strict(text: string): string | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 === 1) return undefined;
  return Buffer.from(trimmed, 'base64').toString('utf8');
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not the parser's message: it may quote part of the secret.
    throw new PullSecretError(`${where}: not valid JSON`);
  }
}

/**
 * The registry map of a `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg` Secret. Other types give
 * `undefined` (kubelet ignores them too); a malformed secret of those types throws `PullSecretError`.
 */
export function parsePullSecret(secret: PullSecretLike): Map<string, DockerConfigEntry> | undefined {
  const where = secretLabel(secret);
  let key: string;
  if (secret.type === SECRET_TYPE_DOCKER_CONFIG_JSON) key = DOCKER_CONFIG_JSON_KEY;
  else if (secret.type === SECRET_TYPE_DOCKERCFG) key = DOCKERCFG_KEY;
  else return undefined;
  const encoded = secret.data?.[key];
  if (encoded === undefined || encoded === '') throw new PullSecretError(`${where}: data[${JSON.stringify(key)}] is missing`);
  const decoded = decodeBase64Strict(encoded);
  if (decoded === undefined) throw new PullSecretError(`${where}: data[${JSON.stringify(key)}] is not base64`);
  const json = parseJson(decoded, `${where} ${key}`);
  if (key === DOCKERCFG_KEY) return parseDockerConfigMap(json, `${where} ${key}`);
  const auths = asRecord(json)?.auths;
  if (auths === undefined) throw new PullSecretError(`${where} ${key}: no "auths" object`);
  return parseDockerConfigMap(auths, `${where} ${key}`);
}

/** `host[:port]` and path of a schemeless URL, like Go's url.Parse of `https://` + it (host not lowercased). */
interface SchemelessUrl {
  host: string;
  path: string;
}

function parseSchemeless(text: string): SchemelessUrl {
  const withoutScheme = text.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
  const end = withoutScheme.search(/[?#]/);
  const hostAndPath = end < 0 ? withoutScheme : withoutScheme.slice(0, end);
  const slash = hostAndPath.indexOf('/');
  let host = slash < 0 ? hostAndPath : hostAndPath.slice(0, slash);
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1);
  return { host, path: slash < 0 ? '' : hostAndPath.slice(slash) };
}

/** Go's net.SplitHostPort, falling back to (whole, '') as kubelet does when it fails. */
function splitHostPort(hostport: string): { labels: string[]; port: string } {
  let host = hostport;
  let port = '';
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close > 0 && hostport[close + 1] === ':') {
      host = hostport.slice(1, close);
      port = hostport.slice(close + 2);
    }
  } else {
    const first = hostport.indexOf(':');
    if (first >= 0 && first === hostport.lastIndexOf(':')) {
      host = hostport.slice(0, first);
      port = hostport.slice(first + 1);
    }
  }
  return { labels: host.split('.'), port };
}

/** One host label against a glob label, with Go's `path/filepath.Match` syntax (`*`, `?`, `[a-z]`, `[^x]`, `\`). */
export function globLabelMatches(glob: string, label: string): boolean {
  let source = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= glob.length) return false; // bad pattern
      source += escapeRegExp(glob[i] as string);
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) return false; // bad pattern
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else source += escapeRegExp(c);
  }
  try {
    return new RegExp(`${source}$`).test(label);
  } catch {
    return false;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** kubelet's `URLsMatchStr`: may the credentials of `key` be used for `image` (a name without tag)? */
export function registryKeyMatches(key: string, image: string): boolean {
  const glob = parseSchemeless(key);
  const target = parseSchemeless(image);
  const g = splitHostPort(glob.host);
  const t = splitHostPort(target.host);
  if (g.port !== t.port) return false;
  if (g.labels.length !== t.labels.length) return false;
  if (!target.path.startsWith(glob.path)) return false;
  return g.labels.every((label, i) => globLabelMatches(label, t.labels[i] as string));
}

/** The index key of a config entry: host plus path, without scheme, `/v1/`/`/v2/` or a lone `/`. */
export function registryIndexKey(configKey: string): string {
  const { host, path } = parseSchemeless(configKey);
  let effectivePath = path;
  if (effectivePath.startsWith('/v2/') || effectivePath.startsWith('/v1/')) effectivePath = effectivePath.slice(3);
  return effectivePath !== '' && effectivePath !== '/' ? host + effectivePath : host;
}

function isDockerHub(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash < 0 ? image : image.slice(0, slash);
  if (first === '') return false;
  if (slash < 0) return true;
  if (first === 'docker.io' || first === DOCKER_HUB_LEGACY_HOST) return true;
  return !/[.:]/.test(first);
}

/** An immutable set of registry credentials with kubelet's lookup. */
export class RegistryKeyring {
  private readonly index: readonly string[];
  private readonly creds: ReadonlyMap<string, readonly RegistryCredential[]>;

  constructor(credentials: Iterable<RegistryCredential>) {
    const creds = new Map<string, RegistryCredential[]>();
    for (const c of credentials) {
      const key = registryIndexKey(c.serverAddress);
      const list = creds.get(key);
      if (list === undefined) creds.set(key, [c]);
      else list.push(c);
    }
    this.creds = creds;
    // Reverse lexicographic (byte) order: longer, more specific keys sharing a prefix come first.
    this.index = [...creds.keys()].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  }

  /**
   * Builds a keyring from pull secrets, in the order given. Secrets of other types are skipped; malformed ones are
   * skipped and reported in `problems` (messages carry no secret content), so one bad secret does not block pulls
   * that another secret or an anonymous pull could serve.
   */
  static fromSecrets(secrets: Iterable<PullSecretLike>): { keyring: RegistryKeyring; problems: PullSecretError[] } {
    const credentials: RegistryCredential[] = [];
    const problems: PullSecretError[] = [];
    for (const secret of secrets) {
      let entries: Map<string, DockerConfigEntry> | undefined;
      try {
        entries = parsePullSecret(secret);
      } catch (err) {
        if (err instanceof PullSecretError) { problems.push(err); continue; }
        throw err;
      }
      if (entries === undefined) continue;
      const m = secret.metadata;
      const source = m?.name === undefined ? undefined : `${m.namespace ? `${m.namespace}/` : ''}${m.name}`;
      for (const [serverAddress, entry] of entries) {
        credentials.push({ ...entry, serverAddress, ...(source === undefined ? {} : { source }) });
      }
    }
    return { keyring: new RegistryKeyring(credentials), problems };
  }

  /** Index keys, most specific first (for diagnostics; not secret). */
  keys(): readonly string[] {
    return this.index;
  }

  /** Credentials for an image, most specific key first. `image` may carry a tag or digest; it is normalised. */
  lookup(image: string | ParsedReference): RegistryCredential[] {
    const name = typeof image === 'string' ? parseImageReference(image, { defaultTag: false }).name : image.name;
    const out: RegistryCredential[] = [];
    for (const key of this.index) {
      if (registryKeyMatches(key, name)) out.push(...(this.creds.get(key) ?? []));
    }
    if (out.length === 0 && isDockerHub(name)) out.push(...(this.creds.get(DOCKER_HUB_LEGACY_HOST) ?? []));
    return out;
  }
}

/**
 * The CRI AuthConfig for a credential. `serverAddress` is left empty on purpose: containerd drops the credentials
 * when it is set and its URL host differs from the registry host it resolved, and kubelet leaves it empty too.
 */
export function toAuthConfig(credential: RegistryCredential): AuthConfig {
  return {
    username: credential.username,
    password: credential.password,
    ...(credential.identityToken === undefined ? {} : { identityToken: credential.identityToken }),
    ...(credential.registryToken === undefined ? {} : { registryToken: credential.registryToken }),
  };
}

/** A label safe for logs and events: where the credential came from, never what it is. */
export function describeCredential(credential: RegistryCredential | null): string {
  if (credential === null) return 'anonymous';
  return credential.source === undefined
    ? `credentials for ${credential.serverAddress}`
    : `credentials for ${credential.serverAddress} from ${credential.source}`;
}

/** What to try for an image, in order: every matching credential, then anonymous (`null`). */
export function pullAuthAttempts(keyring: RegistryKeyring, image: string | ParsedReference): (RegistryCredential | null)[] {
  return [...keyring.lookup(image), null];
}
