/**
 * A typed client for the CRI RuntimeService and ImageService over one unix-socket channel.
 *
 * Every call has a deadline (STYLE habit 7): `timeoutMs` is the call's overall deadline, retries included; each
 * attempt gets what is left of it. Only calls the CRI declares idempotent, plus the read-only ones, are retried,
 * and only on UNAVAILABLE (the runtime restarting, the socket not there yet), with capped, jittered exponential
 * backoff. Everything else fails on the first error: a CreateContainer or RunPodSandbox that timed out may still
 * have happened, and repeating it would make a second object.
 *
 * PullImage has its own default deadline (`pullImageTimeoutMs`) and is never retried here; the caller decides,
 * with backoff per image (STYLE A2). Known gap, not fixable at this layer: PullImage is unary, so the runtime reports
 * no progress while it downloads, and the no-progress watchdog of habit 7 cannot exist — a stalled download and a
 * slow one look the same until the deadline. Cancelling (deadline or signal) ends our wait, but on containerd 1.6
 * it does not necessarily stop the runtime's download (notes/containerd-for-tests.md).
 *
 * Errors are `CriError`s keeping the gRPC code and the runtime's message; for PullImage the message is scrubbed of
 * the request's credentials before it is stored or logged (spec "Pull secrets"; containerd does the same on its
 * side, STYLE A4). Requests are never logged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import { parseCriEndpoint, type CriEndpoint } from './cri-endpoint.js';
import { CriError } from './cri-error.js';
import type {
  ContainerStatusRequest, ContainerStatusResponse, CreateContainerRequest, CreateContainerResponse, CriMethod,
  Decoded, ExecSyncRequest, ExecSyncResponse, ImageFsInfoRequest, ImageFsInfoResponse, ImageStatusRequest,
  ImageStatusResponse, ListContainersRequest, ListContainersResponse, ListImagesRequest, ListImagesResponse,
  ListPodSandboxRequest, ListPodSandboxResponse, PodSandboxStatusRequest, PodSandboxStatusResponse, PullImageRequest,
  PullImageResponse, RemoveContainerRequest, RemoveContainerResponse, RemoveImageRequest, RemoveImageResponse,
  RemovePodSandboxRequest, RemovePodSandboxResponse, RunPodSandboxRequest, RunPodSandboxResponse,
  StartContainerRequest, StartContainerResponse, StatusRequest, StatusResponse, StopContainerRequest,
  StopContainerResponse, StopPodSandboxRequest, StopPodSandboxResponse, VersionRequest, VersionResponse,
} from './cri-types.js';
import { loadCriProto, type CriMethodDefinition, type CriProto } from './proto-loading.js';
import { authConfigRedactor, scrubUrlUserinfo, type Redactor } from './redact.js';

/** Node timers overflow past 2^31-1 ms (they fire at once); every timeout is clamped to it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls safe to repeat after an UNAVAILABLE: the read-only ones, and those the CRI documents as idempotent
 * (Stop/RemovePodSandbox, Stop/RemoveContainer, RemoveImage: "must not return an error if ... already").
 */
export const IDEMPOTENT_CRI_METHODS: ReadonlySet<CriMethod> = new Set<CriMethod>([
  'Version', 'Status', 'PodSandboxStatus', 'ListPodSandbox', 'ListContainers', 'ContainerStatus',
  'StopPodSandbox', 'RemovePodSandbox', 'StopContainer', 'RemoveContainer',
  'ListImages', 'ImageStatus', 'ImageFsInfo', 'RemoveImage',
]);

export interface CriRetryOptions {
  /** Attempts in total, the first included; 1 disables retries. @default 4 */
  maxAttempts?: number;
  /** Backoff before the second attempt. @default 100 */
  initialBackoffMs?: number;
  /** Cap of the exponential backoff. @default 2000 */
  maxBackoffMs?: number;
  /** Growth factor per attempt. @default 2 */
  multiplier?: number;
  /** Each backoff is scaled by a random factor in [1 - jitter, 1 + jitter]. @default 0.2 */
  jitter?: number;
}

export interface CriClientOptions {
  /** `unix:///path/to.sock`, `unix:/path` or `/path`. */
  endpoint: string;
  /** A loaded proto to share between clients; loaded from `proto/` when absent. */
  proto?: CriProto;
  /** Overall deadline of every call but PullImage, retries included. @default 120000 (kubelet's runtime-request-timeout) */
  timeoutMs?: number;
  /** Deadline of one PullImage attempt (the client makes one). @default 600000 (ImagePullJob's default timeout) */
  pullImageTimeoutMs?: number;
  retry?: CriRetryOptions;
  /** Parent logger; the client logs under `{component: 'cri-client'}`. Requests are never logged. */
  logger?: Logger;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
  /** Source of jitter. @default Math.random */
  random?: () => number;
}

export interface CompiledCriClientOptions {
  readonly endpoint: CriEndpoint;
  readonly timeoutMs: number;
  readonly pullImageTimeoutMs: number;
  readonly retry: Readonly<Required<CriRetryOptions>>;
}

export interface CriCallOptions {
  /** Aborting cancels the call (and any pending retry) with a `Cancelled` CriError. */
  signal?: AbortSignal;
  /** Overall deadline of this call, retries included; overrides the client's default. */
  timeoutMs?: number;
}

function clampTimeout(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/** Validates once at construction (STYLE habit 11). */
export function compileCriClientOptions(o: CriClientOptions): CompiledCriClientOptions {
  const invalid = (message: string, fieldPath: string) => new KruiseError(message, { reason: 'Invalid', fieldPath });
  const positive = (value: number, field: string): number => {
    if (!Number.isFinite(value) || value <= 0) throw invalid(`${field} must be a positive number, got ${value}`, field);
    return value;
  };
  const r = o.retry ?? {};
  const retry = {
    maxAttempts: positive(r.maxAttempts ?? 4, 'retry.maxAttempts'),
    initialBackoffMs: positive(r.initialBackoffMs ?? 100, 'retry.initialBackoffMs'),
    maxBackoffMs: positive(r.maxBackoffMs ?? 2000, 'retry.maxBackoffMs'),
    multiplier: positive(r.multiplier ?? 2, 'retry.multiplier'),
    jitter: r.jitter ?? 0.2,
  };
  if (!Number.isInteger(retry.maxAttempts)) throw invalid('retry.maxAttempts must be an integer', 'retry.maxAttempts');
  if (retry.jitter < 0 || retry.jitter >= 1) throw invalid('retry.jitter must be in [0, 1)', 'retry.jitter');
  if (retry.maxBackoffMs < retry.initialBackoffMs) {
    throw invalid('retry.maxBackoffMs must not be less than retry.initialBackoffMs', 'retry.maxBackoffMs');
  }
  return Object.freeze({
    endpoint: parseCriEndpoint(o.endpoint),
    timeoutMs: clampTimeout(positive(o.timeoutMs ?? 120_000, 'timeoutMs')),
    pullImageTimeoutMs: clampTimeout(positive(o.pullImageTimeoutMs ?? 600_000, 'pullImageTimeoutMs')),
    retry: Object.freeze(retry),
  });
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number';
}

/** Client lifecycle: `open` takes calls; `closing` refuses new ones and drains; `closed` is final. */
export type CriClientState = 'open' | 'closing' | 'closed';

export class CriClient {
  readonly options: CompiledCriClientOptions;
  private readonly proto: CriProto;
  private readonly channel: grpc.Client;
  private readonly logger: Logger | undefined;
  private readonly random: () => number;
  /** Aborted by `destroy` to cancel whatever is in flight. */
  private readonly lifetime = new AbortController();
  /** Calls in flight (a counter: a set of promises cost measurable time per call in the CRI benchmark). */
  private pending = 0;
  private drainWaiters: (() => void)[] = [];
  /** Live gRPC calls, cancelled by destroy() (instead of an abort listener per call on a shared signal). */
  private readonly liveCalls = new Set<grpc.ClientUnaryCall>();
  private stateValue: CriClientState = 'open';

  constructor(options: CriClientOptions) {
    this.options = compileCriClientOptions(options);
    this.proto = options.proto ?? loadCriProto();
    this.logger = options.logger?.child({ component: 'cri-client', endpoint: this.options.endpoint.address });
    this.random = options.random ?? Math.random;
    this.channel = new grpc.Client(this.options.endpoint.address, grpc.credentials.createInsecure(), {
      ...options.channelOptions,
    });
  }

  get state(): CriClientState {
    return this.stateValue;
  }

  get endpoint(): CriEndpoint {
    return this.options.endpoint;
  }

  // ---- RuntimeService ----

  version(req: VersionRequest = {}, opts?: CriCallOptions): Promise<Decoded<VersionResponse>> {
    return this.call('Version', this.proto.runtime.Version, req, opts);
  }

  status(req: StatusRequest = {}, opts?: CriCallOptions): Promise<Decoded<StatusResponse>> {
    return this.call('Status', this.proto.runtime.Status, req, opts);
  }

  runPodSandbox(req: RunPodSandboxRequest, opts?: CriCallOptions): Promise<Decoded<RunPodSandboxResponse>> {
    return this.call('RunPodSandbox', this.proto.runtime.RunPodSandbox, req, opts);
  }

  stopPodSandbox(req: StopPodSandboxRequest, opts?: CriCallOptions): Promise<Decoded<StopPodSandboxResponse>> {
    return this.call('StopPodSandbox', this.proto.runtime.StopPodSandbox, req, opts);
  }

  removePodSandbox(req: RemovePodSandboxRequest, opts?: CriCallOptions): Promise<Decoded<RemovePodSandboxResponse>> {
    return this.call('RemovePodSandbox', this.proto.runtime.RemovePodSandbox, req, opts);
  }

  podSandboxStatus(req: PodSandboxStatusRequest, opts?: CriCallOptions): Promise<Decoded<PodSandboxStatusResponse>> {
    return this.call('PodSandboxStatus', this.proto.runtime.PodSandboxStatus, req, opts);
  }

  listPodSandbox(req: ListPodSandboxRequest = {}, opts?: CriCallOptions): Promise<Decoded<ListPodSandboxResponse>> {
    return this.call('ListPodSandbox', this.proto.runtime.ListPodSandbox, req, opts);
  }

  createContainer(req: CreateContainerRequest, opts?: CriCallOptions): Promise<Decoded<CreateContainerResponse>> {
    return this.call('CreateContainer', this.proto.runtime.CreateContainer, req, opts);
  }

  startContainer(req: StartContainerRequest, opts?: CriCallOptions): Promise<Decoded<StartContainerResponse>> {
    return this.call('StartContainer', this.proto.runtime.StartContainer, req, opts);
  }

  stopContainer(req: StopContainerRequest, opts?: CriCallOptions): Promise<Decoded<StopContainerResponse>> {
    return this.call('StopContainer', this.proto.runtime.StopContainer, req, opts);
  }

  removeContainer(req: RemoveContainerRequest, opts?: CriCallOptions): Promise<Decoded<RemoveContainerResponse>> {
    return this.call('RemoveContainer', this.proto.runtime.RemoveContainer, req, opts);
  }

  listContainers(req: ListContainersRequest = {}, opts?: CriCallOptions): Promise<Decoded<ListContainersResponse>> {
    return this.call('ListContainers', this.proto.runtime.ListContainers, req, opts);
  }

  containerStatus(req: ContainerStatusRequest, opts?: CriCallOptions): Promise<Decoded<ContainerStatusResponse>> {
    return this.call('ContainerStatus', this.proto.runtime.ContainerStatus, req, opts);
  }

  /**
   * Runs a command in a container and waits for it. A non-zero exit is `exitCode`, not an error. Give `timeoutMs`
   * a margin over `req.timeout` (seconds), or our deadline fires before the runtime's.
   */
  execSync(req: ExecSyncRequest, opts?: CriCallOptions): Promise<Decoded<ExecSyncResponse>> {
    return this.call('ExecSync', this.proto.runtime.ExecSync, req, opts);
  }

  // ---- ImageService ----

  listImages(req: ListImagesRequest = {}, opts?: CriCallOptions): Promise<Decoded<ListImagesResponse>> {
    return this.call('ListImages', this.proto.image.ListImages, req, opts);
  }

  imageStatus(req: ImageStatusRequest, opts?: CriCallOptions): Promise<Decoded<ImageStatusResponse>> {
    return this.call('ImageStatus', this.proto.image.ImageStatus, req, opts);
  }

  /** One attempt, deadline `opts.timeoutMs ?? pullImageTimeoutMs`; see the file comment for what it cannot do. */
  pullImage(req: PullImageRequest, opts?: CriCallOptions): Promise<Decoded<PullImageResponse>> {
    return this.call('PullImage', this.proto.image.PullImage, req, opts, authConfigRedactor(req.auth));
  }

  removeImage(req: RemoveImageRequest, opts?: CriCallOptions): Promise<Decoded<RemoveImageResponse>> {
    return this.call('RemoveImage', this.proto.image.RemoveImage, req, opts);
  }

  imageFsInfo(req: ImageFsInfoRequest = {}, opts?: CriCallOptions): Promise<Decoded<ImageFsInfoResponse>> {
    return this.call('ImageFsInfo', this.proto.image.ImageFsInfo, req, opts);
  }

  // ---- Lifecycle ----

  /** Refuses new calls, waits for those in flight (each bounded by its deadline), then closes the channel. */
  async close(): Promise<void> {
    if (this.stateValue === 'open') this.stateValue = 'closing';
    while (this.pending > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
    if (this.stateValue !== 'closed') {
      this.stateValue = 'closed';
      this.channel.close();
    }
  }

  /** Cancels calls in flight (they fail with `Cancelled`) and closes. */
  async destroy(reason: unknown = new Error('CRI client destroyed')): Promise<void> {
    if (this.stateValue === 'open') this.stateValue = 'closing';
    this.lifetime.abort(reason);
    for (const call of this.liveCalls) call.cancel();
    await this.close();
  }

  // ---- The one call path ----

  private call<Req, Res>(
    method: CriMethod,
    def: CriMethodDefinition<Req, Res>,
    req: Req,
    opts: CriCallOptions = {},
    redact: Redactor = scrubUrlUserinfo,
  ): Promise<Decoded<Res>> {
    if (this.stateValue !== 'open') {
      return Promise.reject(new CriError({
        method, grpcCode: grpc.status.FAILED_PRECONDITION, details: `the CRI client is ${this.stateValue}`,
      }));
    }
    this.pending++;
    const promise = this.callWithRetry(method, def, req, opts, redact);
    const settle = (): void => {
      if (--this.pending === 0 && this.drainWaiters.length > 0) {
        const ws = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of ws) w();
      }
    };
    promise.then(settle, settle);
    return promise;
  }

  private async callWithRetry<Req, Res>(
    method: CriMethod,
    def: CriMethodDefinition<Req, Res>,
    req: Req,
    opts: CriCallOptions,
    redact: Redactor,
  ): Promise<Decoded<Res>> {
    const timeoutMs = clampTimeout(
      opts.timeoutMs ?? (method === 'PullImage' ? this.options.pullImageTimeoutMs : this.options.timeoutMs),
    );
    const deadline = Date.now() + timeoutMs;
    const lifetime = this.lifetime.signal;
    const callerSignal = opts.signal;
    const aborted = (): boolean => lifetime.aborted || callerSignal?.aborted === true;
    const abortReason = (): unknown => (callerSignal?.aborted ? callerSignal.reason : lifetime.reason);
    const maxAttempts = IDEMPOTENT_CRI_METHODS.has(method) ? this.options.retry.maxAttempts : 1;
    const started = performance.now();

    for (let attempt = 1; ; attempt++) {
      if (aborted()) throw this.cancelled(method, attempt - 1, abortReason());
      let code: number;
      let details: string;
      try {
        const res = await this.attempt(def, req, deadline, callerSignal);
        this.logger?.debug({ method, attempt, durationMs: Math.round(performance.now() - started) }, 'CRI call done');
        return res;
      } catch (err) {
        if (!isServiceError(err)) throw err;
        code = err.code;
        details = err.details;
      }
      if (code === grpc.status.CANCELLED && aborted()) throw this.cancelled(method, attempt, abortReason());
      const backoffMs = this.backoffMs(attempt);
      const retry = code === grpc.status.UNAVAILABLE && attempt < maxAttempts && Date.now() + backoffMs < deadline;
      if (!retry) {
        const error = new CriError({ method, grpcCode: code, details, attempts: attempt, redact });
        this.logger?.debug({
          method, attempt, code: error.grpcCodeName, reason: error.reason,
          durationMs: Math.round(performance.now() - started),
        }, 'CRI call failed');
        throw error;
      }
      this.logger?.debug({ method, attempt, backoffMs }, 'CRI call unavailable, retrying');
      try {
        // Referenced, unlike grpc-js's own timers: this wait is in-flight work someone awaits, and an unref'd timer
        // would let the process exit in the middle of the call.
        const waitSignal = callerSignal === undefined ? lifetime : AbortSignal.any([callerSignal, lifetime]);
        await sleep(backoffMs, undefined, { signal: waitSignal });
      } catch {
        throw this.cancelled(method, attempt, abortReason());
      }
    }
  }

  private attempt<Req, Res>(
    def: CriMethodDefinition<Req, Res>,
    req: Req,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<Decoded<Res>> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => { call.cancel(); };
      const call = this.channel.makeUnaryRequest<Req, Decoded<Res>>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        req,
        new grpc.Metadata(),
        { deadline },
        (err, value) => {
          this.liveCalls.delete(call);
          signal?.removeEventListener('abort', onAbort);
          if (err !== null) reject(err);
          else if (value === undefined) reject(new Error(`CRI ${def.path}: empty response`));
          else resolve(value);
        },
      );
      this.liveCalls.add(call);
      // Only a caller's own signal gets a listener; the client's lifetime is handled by destroy().
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.lifetime.signal.aborted) call.cancel();
    });
  }

  private backoffMs(attempt: number): number {
    const r = this.options.retry;
    const base = Math.min(r.maxBackoffMs, r.initialBackoffMs * r.multiplier ** (attempt - 1));
    const factor = 1 - r.jitter + 2 * r.jitter * this.random();
    return Math.round(Math.min(r.maxBackoffMs, base * factor));
  }

  private cancelled(method: CriMethod, attempts: number, reason: unknown): CriError {
    const why = reason instanceof Error ? reason.message : 'the call was aborted';
    return new CriError({
      method, grpcCode: grpc.status.CANCELLED, details: `cancelled: ${scrubUrlUserinfo(why)}`,
      attempts: Math.max(1, attempts),
    });
  }
}
