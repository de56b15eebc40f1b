/**
 * A lean kubeconfig loader. `@kubernetes/client-node`'s KubeConfig costs about 70 MiB of RSS to import (its
 * config.js pulls in the whole generated API, and there is no lighter entry point), which alone put the node agent
 * over its 64 MiB budget (docs/benchmarks.md, "ImagePullJob"). KubeClient needs only two things from a kubeconfig,
 * the server and the TLS/auth options of a request (`ClusterAccess`), so this reads the kubeconfig YAML itself:
 *
 * - files: `--kubeconfig`, else every file of KUBECONFIG merged as kubectl does (the first file that names a
 *   cluster, user or context wins; the first `current-context` wins), else `~/.kube/config`; relative paths
 *   resolve against the directory of the file that holds them;
 * - in-cluster: the service account's token, CA and namespace plus KUBERNETES_SERVICE_HOST/PORT, the token re-read
 *   on every refresh because the kubelet rotates it.
 *
 * Users that need an exec or auth-provider plugin fall back to client-node, imported only then. Known gaps:
 * impersonation (`as`, `as-groups`), `proxy-url` and `disable-compression` are ignored.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { KruiseError } from '../api/errors.js';

/** What KubeClient needs from a kubeconfig; client-node's KubeConfig satisfies it as well. */
export interface ClusterAccess {
  /**
   * `socketPath`: reach the server over this Unix socket (plain HTTP, `server` an `http://` URL for the Host header and
   * paths): the sandbox's own clients, in the API server's process.
   */
  getCurrentCluster(): { server: string; socketPath?: string } | null;
  /** Sets ca/cert/key/rejectUnauthorized/servername and the Authorization header; reads rotating files again. */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
  /** The current context's namespace, when it names one. */
  currentNamespace?(): string | undefined;
}

/** The service account's files inside a pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeconfigLoadOptions {
  /** `--kubeconfig`: wins over everything else. */
  kubeconfigPath?: string;
  /** The value of KUBECONFIG: files separated by the platform's path delimiter. */
  kubeconfigEnv?: string;
  /** The home directory, for `~/.kube/config`. */
  homeDir?: string;
  /** `--context` within the kubeconfig. */
  context?: string;
  /** KUBERNETES_SERVICE_HOST/PORT; in-cluster wins over KUBECONFIG and ~/.kube/config (not over --kubeconfig). */
  inCluster?: { host: string; port?: string; serviceAccountDir?: string };
}

interface ClusterEntry { server: string; caFile?: string; caData?: string; insecureSkipTlsVerify: boolean; tlsServerName?: string }
interface UserEntry {
  token?: string; tokenFile?: string; certFile?: string; certData?: string; keyFile?: string; keyData?: string;
  username?: string; password?: string;
}

type Raw = Record<string, unknown>;

/** One kubeconfig file, parsed; `dir` resolves its relative paths. */
interface ConfigFile { path: string; dir: string; doc: Raw }

function asRecord(v: unknown): Raw | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Raw : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function absolute(dir: string, p: string | undefined): string | undefined {
  return p === undefined ? undefined : isAbsolute(p) ? p : join(dir, p);
}

function invalid(message: string, cause?: unknown): KruiseError {
  return new KruiseError(message, { reason: 'BadRequest', ...(cause !== undefined ? { cause } : {}) });
}

/** A named entry of `clusters`, `users` or `contexts`, with the file it came from. */
interface Named { name: string; body: Raw; file: ConfigFile }

/** Merges one list across files: the first file that names an entry wins, as kubectl does. */
function merged(files: ConfigFile[], list: 'clusters' | 'users' | 'contexts', field: 'cluster' | 'user' | 'context'): Map<string, Named> {
  const out = new Map<string, Named>();
  for (const file of files) {
    const items = file.doc[list];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) throw invalid(`${file.path}: ${list} must be a list`);
    for (const item of items) {
      const rec = asRecord(item);
      const name = str(rec?.['name']);
      const body = asRecord(rec?.[field]);
      if (!name || !body) continue;
      if (!out.has(name)) out.set(name, { name, body, file });
    }
  }
  return out;
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalid(`cannot load the kubeconfig ${path}: ${(e as Error).message}`, e);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw invalid(`cannot load the kubeconfig ${path}: invalid YAML: ${(e as Error).message}`, e);
  }
  // An empty file is a valid, empty kubeconfig (kubectl treats it so).
  return { path, dir: dirname(resolve(path)), doc: asRecord(doc) ?? {} };
}

/** A kubeconfig's cluster and user, read without client-node. */
export class LeanKubeConfig implements ClusterAccess {
  constructor(
    readonly contextName: string,
    private readonly cluster: Readonly<ClusterEntry>,
    private readonly user: Readonly<UserEntry>,
    private readonly namespace: string | undefined,
  ) {}

  getCurrentCluster(): { server: string } | null {
    return { server: this.cluster.server };
  }

  currentNamespace(): string | undefined {
    return this.namespace;
  }

  async applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    const c = this.cluster;
    const u = this.user;
    if (c.insecureSkipTlsVerify) opts.rejectUnauthorized = false;
    if (c.tlsServerName) opts.servername = c.tlsServerName;
    // Files are read on every refresh: certificates and tokens on disk are rotated in place.
    const ca = c.caFile ? await readFile(c.caFile) : c.caData ? Buffer.from(c.caData, 'base64') : undefined;
    if (ca) opts.ca = ca;
    const cert = u.certFile ? await readFile(u.certFile) : u.certData ? Buffer.from(u.certData, 'base64') : undefined;
    if (cert) opts.cert = cert;
    const key = u.keyFile ? await readFile(u.keyFile) : u.keyData ? Buffer.from(u.keyData, 'base64') : undefined;
    if (key) opts.key = key;
    const headers = (opts.headers ?? {}) as Record<string, string>;
    const token = u.token ?? (u.tokenFile ? (await readFile(u.tokenFile, 'utf8')).trim() : undefined);
    if (token) headers['Authorization'] = `Bearer ${token}`;
    else if (u.username !== undefined) headers['Authorization'] = `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`;
    opts.headers = headers;
  }
}

/** In-cluster access from the service account directory (client-go's rest.InClusterConfig). */
export function inClusterAccess(o: { host: string; port?: string; serviceAccountDir?: string }): LeanKubeConfig {
  const dir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const port = o.port ?? '443';
  const host = isIPv6(o.host) ? `[${o.host}]` : o.host;
  const tokenFile = join(dir, 'token');
  try {
    readFileSync(tokenFile);
  } catch (e) {
    throw invalid(`KUBERNETES_SERVICE_HOST is set but the service account token ${tokenFile} cannot be read: ${(e as Error).message}`, e);
  }
  let namespace: string | undefined;
  try {
    namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  return new LeanKubeConfig('inClusterContext', { server: `https://${host}:${port}`, caFile: join(dir, 'ca.crt'), insecureSkipTlsVerify: false }, { tokenFile }, namespace);
}

/** The kubeconfig files to read, in kubectl's order; empty when there are none. */
function kubeconfigFiles(o: KubeconfigLoadOptions): string[] {
  if (o.kubeconfigPath) return [o.kubeconfigPath];
  if (o.kubeconfigEnv) {
    const paths = o.kubeconfigEnv.split(delimiter).filter((p) => p !== '');
    // kubectl skips KUBECONFIG entries that do not exist, as long as one does.
    const present = paths.filter((p) => { try { readFileSync(p); return true; } catch { return false; } });
    return present.length > 0 ? present : paths;
  }
  if (o.homeDir) return [join(o.homeDir, '.kube', 'config')];
  return [];
}

/**
 * Loads cluster access from a kubeconfig or the in-cluster service account. Throws KruiseError (BadRequest or
 * NotFound) naming the file when the kubeconfig is unreadable or has no usable current context.
 */
export async function loadClusterAccess(o: KubeconfigLoadOptions): Promise<ClusterAccess> {
  if (!o.kubeconfigPath && o.inCluster) {
    if (o.context) throw new KruiseError(`context ${JSON.stringify(o.context)} not found: running in-cluster, there is no kubeconfig`, { reason: 'NotFound' });
    return inClusterAccess(o.inCluster);
  }
  const paths = kubeconfigFiles(o);
  if (paths.length === 0) throw invalid('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run inside a pod');
  const files = paths.map(readConfigFile);
  const where = paths.join(delimiter);
  const contexts = merged(files, 'contexts', 'context');
  const current = o.context ?? files.map((f) => str(f.doc['current-context'])).find((c) => c !== undefined);
  if (!current) throw invalid(`the kubeconfig ${where} has no current-context: pass --context or set one with kubectl config use-context`);
  const context = contexts.get(current);
  if (!context) throw new KruiseError(`context ${JSON.stringify(current)} not found in the kubeconfig ${where}`, { reason: 'NotFound' });
  const clusterName = str(context.body['cluster']);
  const cluster = clusterName ? merged(files, 'clusters', 'cluster').get(clusterName) : undefined;
  if (!cluster) throw invalid(`the kubeconfig ${where} has no cluster ${JSON.stringify(clusterName ?? '')} for context ${JSON.stringify(current)}`);
  const server = str(cluster.body['server']);
  if (!server) throw invalid(`the kubeconfig ${where}: cluster ${JSON.stringify(cluster.name)} has no server`);
  const userName = str(context.body['user']);
  const user = userName ? merged(files, 'users', 'user').get(userName) : undefined;
  if (userName && !user) throw invalid(`the kubeconfig ${where} has no user ${JSON.stringify(userName)} for context ${JSON.stringify(current)}`);
  const namespace = str(context.body['namespace']);
  if (user && (user.body['exec'] !== undefined || user.body['auth-provider'] !== undefined)) {
    return clientNodeFallback(current, context, cluster, user, namespace);
  }
  const cd = cluster.file.dir;
  const caFile = absolute(cd, str(cluster.body['certificate-authority']));
  const caData = str(cluster.body['certificate-authority-data']);
  const tlsServerName = str(cluster.body['tls-server-name']);
  const u = user?.body ?? {};
  const ud = user?.file.dir ?? cd;
  const userEntry: UserEntry = {};
  const set = <K extends keyof UserEntry>(k: K, v: string | undefined): void => { if (v !== undefined) userEntry[k] = v; };
  set('token', str(u['token']));
  set('tokenFile', absolute(ud, str(u['tokenFile'])));
  set('certFile', absolute(ud, str(u['client-certificate'])));
  set('certData', str(u['client-certificate-data']));
  set('keyFile', absolute(ud, str(u['client-key'])));
  set('keyData', str(u['client-key-data']));
  set('username', str(u['username']));
  set('password', str(u['password']));
  return new LeanKubeConfig(current, {
    server,
    insecureSkipTlsVerify: cluster.body['insecure-skip-tls-verify'] === true,
    ...(caFile ? { caFile } : {}),
    ...(caData ? { caData } : {}),
    ...(tlsServerName ? { tlsServerName } : {}),
  }, userEntry, namespace);
}

/** Path fields of kubeconfig entries that resolve against the file's directory. */
const PATH_FIELDS = ['certificate-authority', 'client-certificate', 'client-key', 'tokenFile'];

function absolutized(body: Raw, dir: string): Raw {
  const out: Raw = { ...body };
  for (const f of PATH_FIELDS) {
    const v = str(out[f]);
    if (v !== undefined) out[f] = absolute(dir, v);
  }
  return out;
}

/**
 * Exec and auth-provider plugins (cloud logins) are left to client-node, imported only here so that the usual
 * token, certificate and in-cluster paths never pay for it. It gets a one-context kubeconfig with absolute paths.
 */
async function clientNodeFallback(contextName: string, context: Named, cluster: Named, user: Named, namespace: string | undefined): Promise<ClusterAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    kc.loadFromString(stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': contextName,
      clusters: [{ name: cluster.name, cluster: absolutized(cluster.body, cluster.file.dir) }],
      users: [{ name: user.name, user: absolutized(user.body, user.file.dir) }],
      contexts: [{ name: contextName, context: context.body }],
    }));
  } catch (e) {
    throw invalid(`cannot load user ${JSON.stringify(user.name)} of the kubeconfig ${user.file.path} through client-node: ${(e as Error).message}`, e);
  }
  return {
    getCurrentCluster: () => kc.getCurrentCluster(),
    applyToHTTPSOptions: (opts) => kc.applyToHTTPSOptions(opts),
    currentNamespace: () => namespace,
  };
}
