/**
 * Finds the node's CRI runtime (spec "Image pulls": runtime detection is upstream's most reported daemon bug).
 *
 * An explicit `--cri-endpoint` wins and is the only one probed. Otherwise each well-known socket is looked for under
 * the host root (the DaemonSet mounts the host's run directories there) and asked for `Version` with a short
 * deadline; the first candidate, in list order, that answers runtime API `v1` is chosen. When none does, one error
 * lists every path tried and why each failed: missing, not a socket, nothing listening, no answer in time, or the
 * wrong API version.
 *
 * Symlinks under the host root are resolved inside it: on most hosts `/var/run` is a link to `/run`, which read
 * from inside the container would point at the container's own `/run`.
 */
import { lstat, readlink, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import { CriClient } from './cri-client.js';
import { MAX_UNIX_SOCKET_PATH_BYTES, parseCriEndpoint, type CriEndpoint } from './cri-endpoint.js';
import { CriError } from './cri-error.js';
import { CRI_API_VERSION, type Decoded, type VersionResponse } from './cri-types.js';
import { loadCriProto, type CriProto } from './proto-loading.js';

export type CriRuntimeKind = 'containerd' | 'k3s' | 'cri-o' | 'cri-dockerd';

export interface CriSocketCandidate {
  /** The socket's path on the host, absolute. */
  readonly path: string;
  readonly runtime: CriRuntimeKind;
}

/** Probed in this order; the first that answers runtime.v1 wins. */
export const DEFAULT_CRI_SOCKETS: readonly CriSocketCandidate[] = Object.freeze([
  { path: '/run/containerd/containerd.sock', runtime: 'containerd' },
  { path: '/var/run/containerd/containerd.sock', runtime: 'containerd' },
  { path: '/run/k3s/containerd/containerd.sock', runtime: 'k3s' },
  { path: '/var/run/crio/crio.sock', runtime: 'cri-o' },
  { path: '/run/crio/crio.sock', runtime: 'cri-o' },
  { path: '/var/run/cri-dockerd.sock', runtime: 'cri-dockerd' },
  { path: '/run/cri-dockerd.sock', runtime: 'cri-dockerd' },
]);

export interface DiscoverCriEndpointOptions {
  /** `--cri-endpoint`: used as this process sees it (not joined with `hostRoot`), and the only one probed. */
  endpoint?: string;
  /** Where the host's filesystem (at least its run directories) is mounted. @default '/' */
  hostRoot?: string;
  /** Deadline of each Version probe. @default 2000 */
  probeTimeoutMs?: number;
  /** Probes at once. @default 4 */
  probeConcurrency?: number;
  /** @default DEFAULT_CRI_SOCKETS */
  candidates?: readonly CriSocketCandidate[];
  proto?: CriProto;
  signal?: AbortSignal;
  logger?: Logger;
}

/** What one probe found. `problem` is set exactly when `version` is not. */
export interface CriEndpointProbe {
  /** The path probed, as this process sees it (under the host root). */
  readonly path: string;
  readonly runtime: CriRuntimeKind | 'explicit';
  readonly version?: Decoded<VersionResponse>;
  readonly problem?: string;
}

export interface DiscoveredCriEndpoint {
  readonly endpoint: CriEndpoint;
  readonly runtime: CriRuntimeKind | 'explicit';
  readonly version: Decoded<VersionResponse>;
  /** Every probe made, in candidate order. */
  readonly probes: readonly CriEndpointProbe[];
}

/** No candidate answered; `probes` says why for each path. Reason `CRIRuntimeNotFound`, retryable. */
export class CriDiscoveryError extends KruiseError {
  readonly probes: readonly CriEndpointProbe[];

  constructor(probes: readonly CriEndpointProbe[], hint: string) {
    const lines = probes.map((p) => `  ${p.path}: ${p.problem ?? 'ok'}`);
    super(`no CRI runtime answered runtime.${CRI_API_VERSION} Version; tried:\n${lines.join('\n')}\n${hint}`, {
      reason: 'CRIRuntimeNotFound',
      // The runtime may simply not have started yet.
      retryable: true,
    });
    this.name = 'CriDiscoveryError';
    this.probes = probes;
  }
}

interface CompiledDiscoveryOptions {
  readonly hostRoot: string;
  readonly probeTimeoutMs: number;
  readonly probeConcurrency: number;
  readonly candidates: readonly CriSocketCandidate[];
}

function compileDiscoveryOptions(o: DiscoverCriEndpointOptions): CompiledDiscoveryOptions {
  const invalid = (message: string, fieldPath: string) => new KruiseError(message, { reason: 'Invalid', fieldPath });
  const hostRoot = o.hostRoot ?? '/';
  if (!posix.isAbsolute(hostRoot)) throw invalid(`host root must be an absolute path, got ${hostRoot}`, 'hostRoot');
  const probeTimeoutMs = o.probeTimeoutMs ?? 2000;
  if (!Number.isFinite(probeTimeoutMs) || probeTimeoutMs <= 0) {
    throw invalid(`probeTimeoutMs must be a positive number, got ${probeTimeoutMs}`, 'probeTimeoutMs');
  }
  const probeConcurrency = o.probeConcurrency ?? 4;
  if (!Number.isInteger(probeConcurrency) || probeConcurrency < 1) {
    throw invalid(`probeConcurrency must be a positive integer, got ${probeConcurrency}`, 'probeConcurrency');
  }
  const candidates = o.candidates ?? DEFAULT_CRI_SOCKETS;
  for (const c of candidates) {
    if (!posix.isAbsolute(c.path)) throw invalid(`candidate socket path must be absolute, got ${c.path}`, 'candidates');
  }
  return { hostRoot: posix.normalize(hostRoot), probeTimeoutMs, probeConcurrency, candidates };
}

export async function discoverCriEndpoint(options: DiscoverCriEndpointOptions = {}): Promise<DiscoveredCriEndpoint> {
  const o = compileDiscoveryOptions(options);
  const proto = options.proto ?? loadCriProto();
  const log = options.logger?.child({ component: 'cri-discovery' });
  const probeOptions = { timeoutMs: o.probeTimeoutMs, proto, signal: options.signal };

  if (options.endpoint !== undefined && options.endpoint !== '') {
    const endpoint = parseCriEndpoint(options.endpoint);
    const probe = await probeSocket(endpoint.socketPath, 'explicit', probeOptions);
    options.signal?.throwIfAborted();
    log?.info({ path: probe.path, problem: probe.problem }, 'CRI endpoint probed');
    if (probe.version !== undefined) {
      return { endpoint, runtime: 'explicit', version: probe.version, probes: [probe] };
    }
    throw new CriDiscoveryError([probe], 'Check --cri-endpoint.');
  }

  // Resolve every candidate first: two paths may be one socket (/var/run -> /run), probed once.
  const resolved = await Promise.all(o.candidates.map(async (c) => ({
    candidate: c,
    shownPath: join(o.hostRoot, c.path),
    resolution: await resolveUnderRoot(o.hostRoot, c.path),
  })));
  const limit = pLimit(o.probeConcurrency);
  const bySocket = new Map<string, Promise<CriEndpointProbe>>();
  const probes = await Promise.all(resolved.map(async ({ candidate, shownPath, resolution }) => {
    if ('problem' in resolution) return { path: shownPath, runtime: candidate.runtime, problem: resolution.problem };
    let shared = bySocket.get(resolution.realPath);
    if (shared === undefined) {
      shared = limit(() => probeSocket(resolution.realPath, candidate.runtime, probeOptions));
      bySocket.set(resolution.realPath, shared);
    }
    const probe = await shared;
    const via = resolution.realPath === shownPath ? '' : ` (via ${resolution.realPath})`;
    return probe.problem === undefined
      ? { ...probe, path: shownPath, runtime: candidate.runtime }
      : { path: shownPath, runtime: candidate.runtime, problem: probe.problem + via };
  }));
  options.signal?.throwIfAborted();
  for (const p of probes) log?.debug({ path: p.path, problem: p.problem }, 'CRI socket probed');

  const chosenIndex = probes.findIndex((p) => p.version !== undefined);
  const chosen = probes[chosenIndex];
  const chosenResolution = resolved[chosenIndex]?.resolution;
  if (chosen?.version !== undefined && chosenResolution !== undefined && 'realPath' in chosenResolution) {
    const endpoint = parseCriEndpoint(chosenResolution.realPath);
    log?.info({ endpoint: endpoint.address, runtime: chosen.runtime, runtimeName: chosen.version.runtimeName,
      runtimeVersion: chosen.version.runtimeVersion }, 'CRI runtime found');
    return { endpoint, runtime: chosen.runtime, version: chosen.version, probes };
  }
  throw new CriDiscoveryError(probes, `Pass --cri-endpoint=unix:///path/to/cri.sock, or mount the host's /run and /var/run under the host root (${o.hostRoot}).`);
}

type Resolution = { realPath: string } | { problem: string };

const MAX_SYMLINK_HOPS = 40;

/**
 * Resolves `hostPath` inside `root` as if `root` were `/`: absolute symlink targets restart at `root`, and `..`
 * never climbs above it. Returns the resolved path (as this process sees it) of an existing socket, or why not.
 */
export async function resolveUnderRoot(root: string, hostPath: string): Promise<Resolution> {
  const shown = join(root, hostPath);
  let pending = hostPath.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const [component, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (component === '..') { done.pop(); continue; }
    const current = join(root, ...done, component);
    let info;
    try {
      info = await lstat(current);
    } catch (err) {
      return { problem: describeFsError(err, current === shown ? undefined : `${current} does not exist`) };
    }
    if (info.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) return { problem: 'too many levels of symbolic links' };
      const target = await readlink(current);
      const targetParts = target.split('/').filter((c) => c !== '' && c !== '.');
      if (target.startsWith('/')) done.length = 0;
      pending = [...targetParts, ...pending];
      continue;
    }
    if (pending.length > 0 && !info.isDirectory()) return { problem: `${current} is not a directory` };
    done.push(component);
  }
  const realPath = join(root, ...done);
  let info;
  try {
    info = await stat(realPath);
  } catch (err) {
    return { problem: describeFsError(err, undefined) };
  }
  if (!info.isSocket()) return { problem: `not a socket (${fileKind(info)})` };
  if (Buffer.byteLength(realPath) > MAX_UNIX_SOCKET_PATH_BYTES) {
    return { problem: `socket path longer than ${MAX_UNIX_SOCKET_PATH_BYTES} bytes, cannot connect` };
  }
  return { realPath };
}

function fileKind(info: { isDirectory(): boolean; isFile(): boolean }): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFile()) return 'a regular file';
  return 'not a socket';
}

function describeFsError(err: unknown, where: string | undefined): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const at = where === undefined ? '' : ` (${where})`;
  switch (code) {
    case 'ENOENT': return `no such file${at}`;
    case 'EACCES': return `permission denied${at}`;
    case 'ENOTDIR': return `not a directory${at}`;
    default: return `${code ?? 'error'}${at}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

interface ProbeOptions {
  timeoutMs: number;
  proto: CriProto;
  signal: AbortSignal | undefined;
}

/** Asks one socket for `Version` once (no retries) within the deadline. */
export async function probeSocket(
  socketPath: string,
  runtime: CriRuntimeKind | 'explicit',
  o: ProbeOptions,
): Promise<CriEndpointProbe> {
  if (runtime === 'explicit') {
    try {
      const info = await stat(socketPath);
      if (!info.isSocket()) return { path: socketPath, runtime, problem: `not a socket (${fileKind(info)})` };
    } catch (err) {
      return { path: socketPath, runtime, problem: describeFsError(err, undefined) };
    }
  }
  const client = new CriClient({
    endpoint: socketPath, proto: o.proto, timeoutMs: o.timeoutMs, retry: { maxAttempts: 1 },
  });
  try {
    const version = await client.version({ version: CRI_API_VERSION }, { signal: o.signal });
    if (version.runtimeApiVersion !== CRI_API_VERSION) {
      const who = [version.runtimeName, version.runtimeVersion].filter((s) => s !== '').join(' ');
      return {
        path: socketPath, runtime,
        problem: `runtime ${who || '(unnamed)'} reports runtime API version ${JSON.stringify(version.runtimeApiVersion)}, want ${JSON.stringify(CRI_API_VERSION)}`,
      };
    }
    return { path: socketPath, runtime, version };
  } catch (err) {
    if (!CriError.is(err)) throw err;
    return { path: socketPath, runtime, problem: describeProbeError(err, o.timeoutMs) };
  } finally {
    await client.destroy();
  }
}

function describeProbeError(err: CriError, timeoutMs: number): string {
  switch (err.reason) {
    case 'DeadlineExceeded': return `no answer to Version within ${timeoutMs} ms`;
    case 'Unimplemented': return `does not serve runtime.${CRI_API_VERSION}.RuntimeService (UNIMPLEMENTED: ${err.details})`;
    case 'Unavailable':
      return /ECONNREFUSED/.test(err.details)
        ? `nothing listening (connection refused)`
        : `unavailable: ${err.details}`;
    default: return `${err.grpcCodeName}: ${err.details}`;
  }
}
