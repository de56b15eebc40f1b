/**
 * The sandbox's built-in CRI runtime: the RuntimeService and ImageService subset of `proto/cri/runtime/v1/api.proto`
 * as a transport-free service. `grpc-server.ts` serves it on a unix socket; `in-process-client.ts` lets emulated nodes
 * call it through the CriClient interface without a socket. Both pass requests and errors through unchanged, so
 * everything observable is decided here.
 *
 * Behaviour follows containerd 1.6's CRI plugin (notes/containerd-for-tests.md; containerd `pkg/cri/server` at
 * v1.6.20): error codes and wording, ImageStatus of an absent image (empty, no error), idempotent RemoveImage,
 * RemoveContainer and RemovePodSandbox, StopContainer as a no-op on a container that is not running, ExecSync
 * reporting a non-zero exit in `exitCode`, ListContainers' `imageRef` the image id and ContainerStatus' the repo
 * digest, container ids looked up by unique prefix. Where we differ, on purpose:
 *
 * - ListImages honours its filter (containerd 1.6 ignores it and returns every image; callers must not rely on either).
 * - ImageFsInfo counts every image at once (containerd reports 0 until its stats refresh, about 10 s).
 * - `.invalid` registry hosts answer NOT_FOUND (containerd: UNKNOWN `no such host`); see `builtin-registry.ts`.
 * - A client cancel or deadline aborts a pull here; containerd 1.6 may go on downloading.
 * - Exits are only SIGTERM (143) and SIGKILL (137), see "Process model" below; stop signals from the image are ignored.
 *
 * Time model of a pull: `pullLatencyMs` (the manifest round trip, paid even when the image is present and before a
 * registry error is reported), then the image's size over this node's bandwidth, shared equally by the transfers in
 * progress (`bandwidth-pool.ts`). Concurrent pulls of the same image share one transfer. Cancelling the last waiter
 * of a transfer abandons it.
 *
 * Process model of a container (`builtin-shell.ts` has the command set): `command` + `args` run as a builtin command
 * line when the program is one (`sh -c "exit 3"` exits 3 at once, `sleep 5` exits 0 after 5 s, `false` exits 1);
 * any other program, and an empty command (the image's entrypoint), is the image's own and runs until stopped.
 * StopContainer with timeout 0 kills at once (137). With a timeout the process gets SIGTERM and exits 143 after its
 * stop delay (`stopDelayMs`, or the `STOP_DELAY_ANNOTATION` of the container, else of its pod sandbox); if that delay
 * is not shorter than the timeout it is killed at the timeout (137). StopContainer returns once the container has
 * exited; the exit stays scheduled if the caller goes away first. Exec processes die with their container (exit 137).
 * Reasons are containerd's: `Completed` for exit 0, `Error` otherwise, `StartError` (exit 128) when StartContainer
 * fails because the pod sandbox is not ready.
 *
 * Memory: plain records per sandbox, container and image; a container holds a timer only while its process sleeps or
 * a stop is pending, and an AbortController only while a builtin process or an exec runs in it.
 */
import type { Logger } from 'pino';
import type {
  Container, ContainerFilter, ContainerMetadata, ContainerState, ContainerStatus, ContainerStatusRequest,
  ContainerStatusResponse, CreateContainerRequest, CreateContainerResponse, ExecSyncRequest, ExecSyncResponse,
  ImageFsInfoRequest, ImageFsInfoResponse, ImageServiceMethods, ImageSpec, ImageStatusRequest, ImageStatusResponse,
  ListContainersRequest, ListContainersResponse, ListImagesRequest, ListImagesResponse, ListPodSandboxRequest,
  ListPodSandboxResponse, Mount, NamespaceOption, PodSandbox, PodSandboxFilter, PodSandboxMetadata, PodSandboxState,
  PodSandboxStatusRequest, PodSandboxStatusResponse, PullImageRequest, PullImageResponse, RemoveContainerRequest,
  RemoveContainerResponse, RemoveImageRequest, RemoveImageResponse, RemovePodSandboxRequest, RemovePodSandboxResponse,
  RunPodSandboxRequest, RunPodSandboxResponse, RuntimeServiceMethods, StartContainerRequest, StartContainerResponse,
  StatusRequest, StatusResponse, StopContainerRequest, StopContainerResponse, StopPodSandboxRequest,
  StopPodSandboxResponse, VersionRequest, VersionResponse,
} from '../../cri/cri-types.js';
import { msToNanos } from '../../cri/cri-types.js';
import type { CancelTimer } from '../../kube/workqueue/clock.js';
import { BandwidthPool } from './bandwidth-pool.js';
import type { BuiltinRegistry, ResolvedImage } from './builtin-registry.js';
import {
  compileBuiltinRuntimeOptions, type BuiltinRuntimeOptions, type CompiledBuiltinRuntimeOptions,
} from './builtin-runtime-options.js';
import { cancelled, deadlineExceeded, notFound, unknown } from './builtin-runtime-error.js';
import {
  builtinName, isOpaqueShellScript, runCommand, ShellTimeout, type ContainerFiles, type ShellEnv,
} from './builtin-shell.js';
import { ImageStore, toCriImage } from './image-store.js';
import { SleepAborted, sleepUntil } from './runtime-clock.js';

export const BUILTIN_RUNTIME_NAME = 'kruise-ts-builtin';
export const BUILTIN_RUNTIME_VERSION = '0.1.0';
/** What containerd answers in `VersionResponse.version` (the kubelet API version it implements). */
const KUBE_API_VERSION = '0.1.0';

/**
 * Milliseconds a container takes to exit after SIGTERM; on the container's annotations or, as kubelet passes pod
 * annotations there, the pod sandbox's.
 */
export const STOP_DELAY_ANNOTATION = 'builtin-cri.kruise-ts.io/stop-delay-ms';

/** Exit statuses of a process ended by a signal: 128 + SIGKILL (9), 128 + SIGTERM (15). */
export const EXIT_CODE_SIGKILL = 137;
export const EXIT_CODE_SIGTERM = 143;
/** containerd's `errorStartExitCode`/`errorStartReason` for a container whose start failed. */
export const EXIT_CODE_START_ERROR = 128;

/** Per-call context: `signal` aborts when the caller goes away (gRPC cancel or deadline). */
export interface CallContext {
  signal?: AbortSignal;
}

type Implementation<M> = {
  [K in keyof M as Uncapitalize<K & string>]: M[K] extends [infer Req, infer Res]
    ? (req: Req, ctx?: CallContext) => Promise<Res>
    : never;
};

/**
 * The CRI services as methods named like CriClient's (`pullImage`, `execSync`): what the gRPC adapter and the
 * in-process client dispatch to. Requests are the all-optional request types, so decoded requests fit too.
 */
export type CriServiceImplementation = Implementation<RuntimeServiceMethods> & Implementation<ImageServiceMethods>;

const NO_MOUNTS: readonly Mount[] = Object.freeze([]);
const NO_STRINGS: Readonly<Record<string, string>> = Object.freeze({});

interface SandboxRecord {
  readonly id: string;
  /** The reserved name: `name_namespace_uid_attempt`. */
  readonly name: string;
  readonly metadata: Required<PodSandboxMetadata>;
  state: PodSandboxState;
  readonly createdAtMs: number;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly runtimeHandler: string;
  readonly namespaceOptions: NamespaceOption | null;
  readonly logDirectory: string;
  readonly ip: string;
  readonly containers: Set<string>;
}

interface ContainerRecord {
  readonly id: string;
  readonly sandboxId: string;
  /** The reserved name: `name_sandboxName_namespace_uid_attempt`. */
  readonly name: string;
  readonly metadata: Required<ContainerMetadata>;
  /** The image as the request gave it (kubelet passes the image id). */
  readonly image: ImageSpec;
  /** The image id it was created from. */
  readonly imageId: string;
  readonly argv: readonly string[];
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly mounts: readonly Mount[];
  readonly logPath: string;
  state: ContainerState;
  readonly createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  exitCode: number;
  /** Set only for StartError; `Completed`/`Error` are derived on read, as containerd does. */
  reason: string;
  message: string;
  files?: ContainerFiles;
  /** Aborted when the container exits; exists while a builtin process or exec needs it. */
  lifetime?: AbortController;
  lifetimeUsers: number;
  /** The scheduled exit of a graceful stop. */
  stopTimer?: CancelTimer;
  exitWaiters?: Set<() => void>;
}

interface Download {
  readonly promise: Promise<void>;
  readonly controller: AbortController;
  waiters: number;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** Go's `time.Duration.String()` for whole seconds: `1s`, `1m30s`, `2h0m0s`. */
export function goDurationSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}

function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (selector === undefined) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

function toInt(value: string | number | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export class BuiltinRuntime implements CriServiceImplementation {
  readonly options: CompiledBuiltinRuntimeOptions;
  readonly registry: BuiltinRegistry;
  private readonly images: ImageStore;
  private readonly pool: BandwidthPool;
  private readonly downloads = new Map<string, Download>();
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  /** Reserved sandbox and container names → id (containerd's name registrar). */
  private readonly names = new Map<string, string>();
  private readonly logger: Logger | undefined;
  private nextPodIp = 2;

  constructor(options: BuiltinRuntimeOptions = {}) {
    this.options = compileBuiltinRuntimeOptions(options);
    this.registry = this.options.registry;
    this.images = new ImageStore(this.registry);
    this.pool = new BandwidthPool(this.options.clock, this.options.pullBandwidthBytesPerSecond);
    this.logger = this.options.logger;
  }

  private now(): number {
    return this.options.clock.now();
  }

  // ---- Version and Status ----

  async version(_req: VersionRequest = {}): Promise<VersionResponse> {
    return {
      version: KUBE_API_VERSION,
      runtimeName: BUILTIN_RUNTIME_NAME,
      runtimeVersion: BUILTIN_RUNTIME_VERSION,
      runtimeApiVersion: 'v1',
    };
  }

  async status(_req: StatusRequest = {}): Promise<StatusResponse> {
    return {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          { type: 'NetworkReady', status: true, reason: '', message: '' },
        ],
      },
      info: {},
    };
  }

  // ---- Pod sandboxes ----

  async runPodSandbox(req: RunPodSandboxRequest): Promise<RunPodSandboxResponse> {
    const config = req.config;
    const meta = config?.metadata;
    if (config === null || config === undefined || meta === null || meta === undefined) {
      throw unknown('sandbox config must include metadata');
    }
    const metadata: Required<PodSandboxMetadata> = {
      name: meta.name ?? '', uid: meta.uid ?? '', namespace: meta.namespace ?? '', attempt: meta.attempt ?? 0,
    };
    const id = this.options.newId();
    const name = [metadata.name, metadata.namespace, metadata.uid, String(metadata.attempt)].join('_');
    this.reserveName(name, id, 'sandbox');
    const namespaceOptions = config.linux?.securityContext?.namespaceOptions ?? null;
    const sandbox: SandboxRecord = {
      id,
      name,
      metadata,
      state: 'SANDBOX_READY',
      createdAtMs: this.now(),
      labels: config.labels ?? NO_STRINGS,
      annotations: config.annotations ?? NO_STRINGS,
      runtimeHandler: req.runtimeHandler ?? '',
      namespaceOptions,
      logDirectory: config.logDirectory ?? '',
      ip: namespaceOptions?.network === 'NODE' ? '' : this.allocatePodIp(),
      containers: new Set(),
    };
    this.sandboxes.set(id, sandbox);
    this.logger?.debug({ sandboxId: id, name }, 'pod sandbox ready');
    return { podSandboxId: id };
  }

  async stopPodSandbox(req: StopPodSandboxRequest): Promise<StopPodSandboxResponse> {
    const id = req.podSandboxId ?? '';
    const sandbox = this.lookup(this.sandboxes, id, `an error occurred when try to find sandbox ${quote(id)}`);
    this.stopSandbox(sandbox);
    return {};
  }

  /** containerd stops every container of the sandbox with timeout 0 (kubelet has stopped them gracefully before). */
  private stopSandbox(sandbox: SandboxRecord): void {
    for (const cid of sandbox.containers) {
      const c = this.containers.get(cid);
      if (c?.state === 'CONTAINER_RUNNING') this.exitContainer(c, EXIT_CODE_SIGKILL, this.now());
    }
    sandbox.state = 'SANDBOX_NOTREADY';
  }

  async removePodSandbox(req: RemovePodSandboxRequest): Promise<RemovePodSandboxResponse> {
    const sandbox = this.find(this.sandboxes, req.podSandboxId ?? '', 'an error occurred when try to find sandbox');
    if (sandbox === undefined) return {};
    if (sandbox.state === 'SANDBOX_READY') this.stopSandbox(sandbox);
    for (const cid of [...sandbox.containers]) {
      const c = this.containers.get(cid);
      if (c !== undefined) this.deleteContainer(c);
    }
    this.sandboxes.delete(sandbox.id);
    this.names.delete(sandbox.name);
    return {};
  }

  async podSandboxStatus(req: PodSandboxStatusRequest): Promise<PodSandboxStatusResponse> {
    // containerd 1.6 leaves the id out of this one message.
    const sandbox = this.lookup(this.sandboxes, req.podSandboxId ?? '', 'an error occurred when try to find sandbox');
    return {
      status: {
        id: sandbox.id,
        metadata: { ...sandbox.metadata },
        state: sandbox.state,
        createdAt: msToNanos(sandbox.createdAtMs),
        network: { ip: sandbox.ip, additionalIps: [] },
        linux: { namespaces: { options: sandbox.namespaceOptions } },
        labels: sandbox.labels,
        annotations: sandbox.annotations,
        runtimeHandler: sandbox.runtimeHandler,
      },
      info: {},
      containersStatuses: [],
      timestamp: '0',
    };
  }

  async listPodSandbox(req: ListPodSandboxRequest = {}): Promise<ListPodSandboxResponse> {
    const filter: PodSandboxFilter | null | undefined = req.filter;
    const id = this.normalizeId(this.sandboxes, filter?.id ?? '');
    const items: PodSandbox[] = [];
    for (const s of this.sandboxes.values()) {
      if (id !== '' && s.id !== id) continue;
      if (filter?.state !== null && filter?.state !== undefined && (filter.state.state ?? 'SANDBOX_READY') !== s.state) continue;
      if (!matchesLabels(s.labels, filter?.labelSelector)) continue;
      items.push({
        id: s.id,
        metadata: { ...s.metadata },
        state: s.state,
        createdAt: msToNanos(s.createdAtMs),
        labels: s.labels,
        annotations: s.annotations,
        runtimeHandler: s.runtimeHandler,
      });
    }
    return { items };
  }

  // ---- Containers ----

  async createContainer(req: CreateContainerRequest): Promise<CreateContainerResponse> {
    const sandboxId = req.podSandboxId ?? '';
    const sandbox = this.lookup(this.sandboxes, sandboxId, `failed to find sandbox id ${quote(sandboxId)}`);
    if (sandbox.state !== 'SANDBOX_READY') {
      throw notFound(`failed to get sandbox container task: no running task found: task ${sandbox.id} not found`);
    }
    const config = req.config;
    const meta = config?.metadata;
    if (config === null || config === undefined || meta === null || meta === undefined) {
      throw unknown('container config must include metadata');
    }
    const metadata: Required<ContainerMetadata> = { name: meta.name ?? '', attempt: meta.attempt ?? 0 };
    const s = req.sandboxConfig?.metadata ?? sandbox.metadata;
    const name = [metadata.name, s.name ?? '', s.namespace ?? '', s.uid ?? '', String(metadata.attempt)].join('_');
    const id = this.options.newId();
    this.reserveName(name, id, 'container');
    const imageName = config.image?.image ?? '';
    const image = this.images.resolve(imageName);
    if (image === undefined) {
      this.names.delete(name);
      throw notFound(`failed to resolve image ${quote(imageName)}`);
    }
    const logDirectory = req.sandboxConfig?.logDirectory ?? sandbox.logDirectory;
    const logPath = config.logPath ?? '';
    const container: ContainerRecord = {
      id,
      sandboxId: sandbox.id,
      name,
      metadata,
      image: { image: imageName, annotations: config.image?.annotations ?? NO_STRINGS, userSpecifiedImage: config.image?.userSpecifiedImage ?? '' },
      imageId: image.id,
      argv: [...(config.command ?? []), ...(config.args ?? [])],
      labels: config.labels ?? NO_STRINGS,
      annotations: config.annotations ?? NO_STRINGS,
      mounts: config.mounts !== undefined && config.mounts.length > 0 ? config.mounts : NO_MOUNTS,
      logPath: logDirectory !== '' && logPath !== '' ? `${logDirectory.replace(/\/+$/, '')}/${logPath}` : '',
      state: 'CONTAINER_CREATED',
      createdAtMs: this.now(),
      startedAtMs: 0,
      finishedAtMs: 0,
      exitCode: 0,
      reason: '',
      message: '',
      lifetimeUsers: 0,
    };
    this.containers.set(id, container);
    sandbox.containers.add(id);
    return { containerId: id };
  }

  async startContainer(req: StartContainerRequest): Promise<StartContainerResponse> {
    const id = req.containerId ?? '';
    const c = this.lookup(this.containers, id, `an error occurred when try to find container ${quote(id)}`);
    if (c.state !== 'CONTAINER_CREATED') {
      throw unknown(`failed to set starting state for container ${quote(c.id)}: container is in ${c.state} state`);
    }
    const sandbox = this.sandboxes.get(c.sandboxId);
    if (sandbox?.state !== 'SANDBOX_READY') {
      // containerd marks the container exited with StartError and the error as its message.
      const message = `sandbox container ${quote(c.sandboxId)} is not running`;
      c.state = 'CONTAINER_EXITED';
      c.finishedAtMs = this.now();
      c.exitCode = EXIT_CODE_START_ERROR;
      c.reason = 'StartError';
      c.message = message;
      throw unknown(message);
    }
    c.state = 'CONTAINER_RUNNING';
    c.startedAtMs = this.now();
    this.startProcess(c);
    return {};
  }

  /** Runs the container's command when it is a builtin one; the image's own programs just run until stopped. */
  private startProcess(c: ContainerRecord): void {
    if (builtinName(c.argv[0]) === undefined || isOpaqueShellScript(c.argv, c.files)) return;
    const env = this.shellEnv(c, this.acquireLifetime(c), Infinity);
    runCommand(c.argv, env).then(
      (code) => { this.exitContainer(c, code, env.now); },
      (err: unknown) => {
        if (err instanceof SleepAborted) return; // stopped or killed: the stop already recorded the exit
        this.logger?.error({ err, containerId: c.id }, 'built-in process failed');
        this.exitContainer(c, 1, env.now);
      },
    ).finally(() => { this.releaseLifetime(c); });
  }

  private shellEnv(c: ContainerRecord, signal: AbortSignal, deadline: number): ShellEnv {
    return {
      clock: this.options.clock,
      signal,
      deadline,
      now: this.now(),
      stdout: '',
      stderr: '',
      files: () => (c.files ??= new Map()),
      peekFiles: () => c.files,
    };
  }

  private acquireLifetime(c: ContainerRecord): AbortSignal {
    c.lifetime ??= new AbortController();
    c.lifetimeUsers++;
    return c.lifetime.signal;
  }

  private releaseLifetime(c: ContainerRecord): void {
    c.lifetimeUsers--;
    if (c.lifetimeUsers <= 0) {
      c.lifetimeUsers = 0;
      c.lifetime = undefined;
    }
  }

  /** The one transition out of RUNNING: records the exit, kills what runs in the container, wakes stop waiters. */
  private exitContainer(c: ContainerRecord, exitCode: number, atMs: number): void {
    if (c.state !== 'CONTAINER_RUNNING') return;
    c.state = 'CONTAINER_EXITED';
    c.exitCode = exitCode;
    c.finishedAtMs = Math.max(atMs, c.startedAtMs);
    c.stopTimer?.();
    c.stopTimer = undefined;
    c.lifetime?.abort(new Error(`container exited with ${exitCode}`));
    const waiters = c.exitWaiters;
    c.exitWaiters = undefined;
    if (waiters !== undefined) for (const wake of waiters) wake();
    this.logger?.debug({ containerId: c.id, exitCode }, 'container exited');
  }

  private waitForExit(c: ContainerRecord, signal: AbortSignal | undefined): Promise<void> {
    if (c.state !== 'CONTAINER_RUNNING') return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(cancelled());
        return;
      }
      const waiters = (c.exitWaiters ??= new Set());
      const onAbort = () => {
        waiters.delete(wake);
        reject(cancelled());
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private stopDelayMs(c: ContainerRecord): number {
    const sandbox = this.sandboxes.get(c.sandboxId);
    const raw = c.annotations[STOP_DELAY_ANNOTATION] ?? sandbox?.annotations[STOP_DELAY_ANNOTATION];
    const parsed = raw === undefined ? NaN : Number(raw);
    return Number.isFinite(parsed) && parsed >= 0 ? parsed : this.options.stopDelayMs;
  }

  async stopContainer(req: StopContainerRequest, ctx: CallContext = {}): Promise<StopContainerResponse> {
    const id = req.containerId ?? '';
    const c = this.lookup(this.containers, id, `an error occurred when try to find container ${quote(id)}`);
    if (c.state !== 'CONTAINER_RUNNING') return {};
    const timeoutMs = toInt(req.timeout) * 1000;
    if (timeoutMs <= 0) {
      this.exitContainer(c, EXIT_CODE_SIGKILL, this.now());
      return {};
    }
    // A second graceful stop does not signal again (containerd: IsStopSignaledWithTimeout); it waits for the first.
    if (c.stopTimer === undefined) {
      const delayMs = this.stopDelayMs(c);
      if (delayMs === 0) this.exitContainer(c, EXIT_CODE_SIGTERM, this.now());
      else {
        const graceful = delayMs < timeoutMs;
        c.stopTimer = this.options.clock.schedule(() => {
          c.stopTimer = undefined;
          this.exitContainer(c, graceful ? EXIT_CODE_SIGTERM : EXIT_CODE_SIGKILL, this.now());
        }, graceful ? delayMs : timeoutMs);
      }
    }
    await this.waitForExit(c, ctx.signal);
    return {};
  }

  async removeContainer(req: RemoveContainerRequest): Promise<RemoveContainerResponse> {
    const c = this.find(this.containers, req.containerId ?? '', 'an error occurred when try to find container');
    if (c === undefined) return {};
    this.deleteContainer(c);
    return {};
  }

  /** containerd force-stops a running container (timeout 0) before removing it. */
  private deleteContainer(c: ContainerRecord): void {
    if (c.state === 'CONTAINER_RUNNING') this.exitContainer(c, EXIT_CODE_SIGKILL, this.now());
    this.containers.delete(c.id);
    this.sandboxes.get(c.sandboxId)?.containers.delete(c.id);
    this.names.delete(c.name);
  }

  async listContainers(req: ListContainersRequest = {}): Promise<ListContainersResponse> {
    const filter: ContainerFilter | null | undefined = req.filter;
    const id = this.normalizeId(this.containers, filter?.id ?? '');
    const sandboxId = this.normalizeId(this.sandboxes, filter?.podSandboxId ?? '');
    const containers: Container[] = [];
    for (const c of this.containers.values()) {
      if (id !== '' && c.id !== id) continue;
      if (sandboxId !== '' && c.sandboxId !== sandboxId) continue;
      if (filter?.state !== null && filter?.state !== undefined && (filter.state.state ?? 'CONTAINER_CREATED') !== c.state) continue;
      if (!matchesLabels(c.labels, filter?.labelSelector)) continue;
      containers.push({
        id: c.id,
        podSandboxId: c.sandboxId,
        metadata: { ...c.metadata },
        image: c.image,
        imageRef: c.imageId,
        state: c.state,
        createdAt: msToNanos(c.createdAtMs),
        labels: c.labels,
        annotations: c.annotations,
        imageId: '',
      });
    }
    return { containers };
  }

  async containerStatus(req: ContainerStatusRequest): Promise<ContainerStatusResponse> {
    const id = req.containerId ?? '';
    const c = this.lookup(this.containers, id, `an error occurred when try to find container ${quote(id)}`);
    // containerd: `image` is the image's first repo tag and `imageRef` its first repo digest, when the image is still
    // there; otherwise what the container was created with.
    const image = this.images.getById(c.imageId);
    const repoTag = image?.repoTags[0];
    const repoDigest = image?.repoDigests[0];
    const exited = c.state === 'CONTAINER_EXITED';
    let reason = c.reason;
    if (exited && reason === '') reason = c.exitCode === 0 ? 'Completed' : 'Error';
    const status: ContainerStatus = {
      id: c.id,
      metadata: { ...c.metadata },
      state: c.state,
      createdAt: msToNanos(c.createdAtMs),
      startedAt: c.state === 'CONTAINER_CREATED' ? '0' : msToNanos(c.startedAtMs),
      finishedAt: exited ? msToNanos(c.finishedAtMs) : '0',
      exitCode: c.exitCode,
      image: repoTag === undefined ? c.image : { image: repoTag, annotations: {}, userSpecifiedImage: '' },
      imageRef: repoDigest ?? c.imageId,
      reason,
      message: c.message,
      labels: c.labels,
      annotations: c.annotations,
      mounts: [...c.mounts],
      logPath: c.logPath,
      resources: null,
      imageId: '',
    };
    return { status, info: {} };
  }

  async execSync(req: ExecSyncRequest, ctx: CallContext = {}): Promise<ExecSyncResponse> {
    const id = req.containerId ?? '';
    const c = this.lookup(this.containers, id, `failed to exec in container: failed to find container ${quote(id)} in store`);
    if (c.state !== 'CONTAINER_RUNNING') throw unknown(`failed to exec in container: container is in ${c.state} state`);
    const argv = req.cmd ?? [];
    const program = argv[0] ?? '';
    if (builtinName(program) === undefined) {
      // runc's wording (1.1): a bare name is searched in $PATH, a path is stat'ed.
      const why = program.includes('/')
        ? `exec: ${quote(program)}: stat ${program}: no such file or directory`
        : `exec: ${quote(program)}: executable file not found in $PATH`;
      throw unknown(`failed to exec in container: failed to start exec ${quote(this.options.newId())}: `
        + `OCI runtime exec failed: exec failed: unable to start container process: ${why}: unknown`);
    }
    const timeoutSeconds = toInt(req.timeout);
    const deadline = timeoutSeconds > 0 ? this.now() + timeoutSeconds * 1000 : Infinity;
    const lifetime = this.acquireLifetime(c);
    const signal = ctx.signal === undefined ? lifetime : AbortSignal.any([lifetime, ctx.signal]);
    const env = this.shellEnv(c, signal, deadline);
    let exitCode: number;
    try {
      exitCode = await runCommand(argv, env);
    } catch (err) {
      if (err instanceof ShellTimeout) {
        throw deadlineExceeded(
          `failed to exec in container: timeout ${goDurationSeconds(timeoutSeconds)} exceeded: context deadline exceeded`);
      }
      if (!(err instanceof SleepAborted)) throw err;
      if (ctx.signal?.aborted === true) throw cancelled();
      exitCode = EXIT_CODE_SIGKILL; // the container exited under it
    } finally {
      this.releaseLifetime(c);
    }
    return { stdout: Buffer.from(env.stdout), stderr: Buffer.from(env.stderr), exitCode };
  }

  // ---- Images ----

  async listImages(req: ListImagesRequest = {}): Promise<ListImagesResponse> {
    const wanted = req.filter?.image?.image ?? '';
    if (wanted !== '') {
      const image = this.images.resolve(wanted);
      return { images: image === undefined ? [] : [toCriImage(image)] };
    }
    return { images: [...this.images.list()].map(toCriImage) };
  }

  async imageStatus(req: ImageStatusRequest): Promise<ImageStatusResponse> {
    const image = this.images.resolve(req.image?.image ?? '');
    return { image: image === undefined ? null : toCriImage(image), info: {} };
  }

  async pullImage(req: PullImageRequest, ctx: CallContext = {}): Promise<PullImageResponse> {
    const ref = this.registry.parse(req.image?.image ?? '');
    try {
      await sleepUntil(this.options.clock, this.now() + this.options.pullLatencyMs, ctx.signal);
    } catch (err) {
      if (err instanceof SleepAborted) throw cancelled();
      throw err;
    }
    const resolved = this.registry.resolve(ref, req.auth);
    if (this.images.getById(resolved.imageId) === undefined) await this.download(resolved, ctx.signal);
    const image = this.images.add(resolved);
    this.logger?.debug({ image: resolved.reference, imageId: image.id }, 'image pulled');
    return { imageRef: image.id };
  }

  /** Joins or starts the transfer of one image; the transfer is abandoned when its last waiter leaves. */
  private download(resolved: ResolvedImage, signal: AbortSignal | undefined): Promise<void> {
    let d = this.downloads.get(resolved.imageId);
    if (d === undefined) {
      const controller = new AbortController();
      const setUp = this.options.downloadLatencyMs > 0
        ? sleepUntil(this.options.clock, this.now() + this.options.downloadLatencyMs, controller.signal)
        : Promise.resolve();
      const promise = setUp.then(() => this.pool.transfer(resolved.sizeBytes, controller.signal));
      const created: Download = { promise, controller, waiters: 0 };
      d = created;
      this.downloads.set(resolved.imageId, created);
      const forget = () => {
        if (this.downloads.get(resolved.imageId) === created) this.downloads.delete(resolved.imageId);
      };
      promise.then(forget, forget);
    }
    const download = d;
    download.waiters++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        download.waiters--;
        if (download.waiters === 0) download.controller.abort();
        reject(cancelled());
      };
      if (signal?.aborted === true) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      download.promise.then(
        () => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          download.waiters--;
          resolve();
        },
        // Rejected only once every waiter has left, and each one rejected as it left.
        () => { signal?.removeEventListener('abort', onAbort); },
      );
    });
  }

  async removeImage(req: RemoveImageRequest): Promise<RemoveImageResponse> {
    const image = this.images.resolve(req.image?.image ?? '');
    if (image !== undefined) this.images.remove(image);
    return {};
  }

  async imageFsInfo(_req: ImageFsInfoRequest = {}): Promise<ImageFsInfoResponse> {
    const usedBytes = this.images.usedBytes();
    return {
      imageFilesystems: [{
        timestamp: msToNanos(this.now()),
        fsId: { mountpoint: this.options.imageFsMountpoint },
        usedBytes: { value: String(usedBytes) },
        // Not measured: one inode per 16 KiB is a plausible figure for unpacked layers.
        inodesUsed: { value: String(Math.ceil(usedBytes / 16384)) },
      }],
      containerFilesystems: [],
    };
  }

  // ---- Introspection for the sandbox and tests ----

  /** Counts of what this runtime holds. */
  stats(): { sandboxes: number; containers: number; images: number; downloads: number } {
    return {
      sandboxes: this.sandboxes.size,
      containers: this.containers.size,
      images: this.images.size,
      downloads: this.downloads.size,
    };
  }

  // ---- Helpers ----

  private reserveName(name: string, id: string, kind: 'sandbox' | 'container'): void {
    const holder = this.names.get(name);
    if (holder !== undefined) {
      throw unknown(`failed to reserve ${kind} name ${quote(name)}: name ${quote(name)} is reserved for ${quote(holder)}`);
    }
    this.names.set(name, id);
  }

  private allocatePodIp(): string {
    const n = this.nextPodIp++;
    // Skip .0 and .255 of every /24; wraps after ~65k sandboxes, long after any node would have been recreated.
    const host = n % 65024;
    return `${this.options.podIpPrefix}.${Math.floor(host / 254)}.${(host % 254) + 1}`;
  }

  /**
   * containerd's truncindex: an exact id or a unique prefix. `undefined` when absent or ambiguous; an empty id is an
   * error of its own (UNKNOWN `prefix can't be empty`).
   */
  private find<T>(map: Map<string, T>, id: string, context: string): T | undefined {
    if (id === '') throw unknown(`${context} ${quote(id)}: prefix can't be empty`);
    const exact = map.get(id);
    if (exact !== undefined) return exact;
    let found: T | undefined;
    for (const [key, value] of map) {
      if (!key.startsWith(id)) continue;
      if (found !== undefined) return undefined;
      found = value;
    }
    return found;
  }

  /** `find`, failing with NOT_FOUND `<context>: not found`. */
  private lookup<T>(map: Map<string, T>, id: string, context: string): T {
    if (id === '') throw unknown(`${context}: prefix can't be empty`);
    const found = this.find(map, id, context);
    if (found === undefined) throw notFound(context);
    return found;
  }

  /** containerd's filter normalisation: a unique prefix becomes the full id, anything else stays as given. */
  private normalizeId(map: Map<string, unknown>, id: string): string {
    if (id === '' || map.has(id)) return id;
    let found: string | undefined;
    for (const key of map.keys()) {
      if (!key.startsWith(id)) continue;
      if (found !== undefined) return id;
      found = key;
    }
    return found ?? id;
  }
}
