/**
 * The CriClient interface over a built-in runtime in the same process, for sandboxes with more emulated nodes than
 * sockets are worth (issue 5). Nothing above the interface may differ from the gRPC path, so every call makes the
 * same trip through the proto a socket call makes — the request is encoded and decoded as the server would receive
 * it, the response as the client would — and failures are the same `CriError`s: the runtime's gRPC code and message,
 * scrubbed of the pull's credentials as CriClient scrubs them, `Cancelled` when the signal aborts and
 * `DeadlineExceeded` at the call's deadline (CriClient's defaults: 2 min, 10 min for PullImage). Nothing to retry:
 * an in-process runtime is never UNAVAILABLE.
 */
import * as grpc from '@grpc/grpc-js';
import { KruiseError } from '../../api/errors.js';
import { MAX_TIMER_MS, type CriCallOptions, type CriClient, type CriClientState } from '../../cri/cri-client.js';
import { CriError } from '../../cri/cri-error.js';
import type { CriMethod, Decoded } from '../../cri/cri-types.js';
import { loadCriProto, type CriProto } from '../../cri/proto-loading.js';
import { authConfigRedactor, scrubUrlUserinfo, type Redactor } from '../../cri/redact.js';
import { BuiltinRuntimeError } from './builtin-runtime-error.js';
import type { CallContext, CriServiceImplementation } from './builtin-runtime.js';

/** The RPC methods of CriClient, which the in-process client offers with the same signatures. */
export type { CriApi, CriApiMethod } from '../../cri/cri-api.js';
import type { CriApi } from '../../cri/cri-api.js';

export interface InProcessCriClientOptions {
  runtime: CriServiceImplementation;
  /** A loaded proto to share between clients; loaded from `proto/` when absent. */
  proto?: CriProto;
  /** Deadline of every call but PullImage. @default 120000 (as CriClient) */
  timeoutMs?: number;
  /** Deadline of PullImage. @default 600000 (as CriClient) */
  pullImageTimeoutMs?: number;
}

type Codec = {
  requestSerialize: (value: unknown) => Buffer;
  requestDeserialize: (bytes: Buffer) => unknown;
  responseSerialize: (value: unknown) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
};

function positive(value: number, field: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new KruiseError(`${field} must be a positive number, got ${value}`, { reason: 'Invalid', fieldPath: field });
  }
  return Math.min(value, MAX_TIMER_MS);
}

export class InProcessCriClient implements CriApi {
  private readonly runtime: CriServiceImplementation;
  private readonly codecs = new Map<CriMethod, Codec>();
  private readonly timeoutMs: number;
  private readonly pullImageTimeoutMs: number;
  private readonly lifetime = new AbortController();
  private readonly liveCalls = new Set<{ cancel(reason: unknown): void }>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private stateValue: CriClientState = 'open';

  constructor(options: InProcessCriClientOptions) {
    this.runtime = options.runtime;
    this.timeoutMs = positive(options.timeoutMs ?? 120_000, 'timeoutMs');
    this.pullImageTimeoutMs = positive(options.pullImageTimeoutMs ?? 600_000, 'pullImageTimeoutMs');
    const proto = options.proto ?? loadCriProto();
    for (const [definition, service] of [
      [proto.runtimeServiceDefinition, proto.runtime],
      [proto.imageServiceDefinition, proto.image],
    ] as const) {
      for (const [name, client] of Object.entries(service)) {
        const server = definition[name];
        if (server === undefined) throw new Error(`the CRI proto has no server definition for ${name}`);
        this.codecs.set(name as CriMethod, {
          requestSerialize: client.requestSerialize as (value: unknown) => Buffer,
          requestDeserialize: server.requestDeserialize,
          responseSerialize: server.responseSerialize,
          responseDeserialize: client.responseDeserialize as (bytes: Buffer) => unknown,
        });
      }
    }
  }

  get state(): CriClientState {
    return this.stateValue;
  }

  version: CriClient['version'] = (req = {}, opts) => this.call('Version', req, opts);
  status: CriClient['status'] = (req = {}, opts) => this.call('Status', req, opts);
  runPodSandbox: CriClient['runPodSandbox'] = (req, opts) => this.call('RunPodSandbox', req, opts);
  stopPodSandbox: CriClient['stopPodSandbox'] = (req, opts) => this.call('StopPodSandbox', req, opts);
  removePodSandbox: CriClient['removePodSandbox'] = (req, opts) => this.call('RemovePodSandbox', req, opts);
  podSandboxStatus: CriClient['podSandboxStatus'] = (req, opts) => this.call('PodSandboxStatus', req, opts);
  listPodSandbox: CriClient['listPodSandbox'] = (req = {}, opts) => this.call('ListPodSandbox', req, opts);
  createContainer: CriClient['createContainer'] = (req, opts) => this.call('CreateContainer', req, opts);
  startContainer: CriClient['startContainer'] = (req, opts) => this.call('StartContainer', req, opts);
  stopContainer: CriClient['stopContainer'] = (req, opts) => this.call('StopContainer', req, opts);
  removeContainer: CriClient['removeContainer'] = (req, opts) => this.call('RemoveContainer', req, opts);
  listContainers: CriClient['listContainers'] = (req = {}, opts) => this.call('ListContainers', req, opts);
  containerStatus: CriClient['containerStatus'] = (req, opts) => this.call('ContainerStatus', req, opts);
  execSync: CriClient['execSync'] = (req, opts) => this.call('ExecSync', req, opts);
  listImages: CriClient['listImages'] = (req = {}, opts) => this.call('ListImages', req, opts);
  imageStatus: CriClient['imageStatus'] = (req, opts) => this.call('ImageStatus', req, opts);
  pullImage: CriClient['pullImage'] = (req, opts) => this.call('PullImage', req, opts, authConfigRedactor(req.auth));
  removeImage: CriClient['removeImage'] = (req, opts) => this.call('RemoveImage', req, opts);
  imageFsInfo: CriClient['imageFsInfo'] = (req = {}, opts) => this.call('ImageFsInfo', req, opts);

  /** Refuses new calls and waits for those in flight. */
  async close(): Promise<void> {
    if (this.stateValue === 'open') this.stateValue = 'closing';
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.stateValue = 'closed';
  }

  /** Cancels calls in flight (they fail with `Cancelled`) and closes. */
  async destroy(reason: unknown = new Error('CRI client destroyed')): Promise<void> {
    if (this.stateValue === 'open') this.stateValue = 'closing';
    this.lifetime.abort(reason);
    for (const live of this.liveCalls) live.cancel(reason);
    await this.close();
  }

  private call<Res>(
    method: CriMethod,
    req: unknown,
    opts: CriCallOptions = {},
    redact: Redactor = scrubUrlUserinfo,
  ): Promise<Decoded<Res>> {
    if (this.stateValue !== 'open') {
      return Promise.reject(new CriError({
        method, grpcCode: grpc.status.FAILED_PRECONDITION, details: `the CRI client is ${this.stateValue}`,
      }));
    }
    const promise = this.invoke<Res>(method, req, opts, redact);
    this.inFlight.add(promise);
    const forget = () => { this.inFlight.delete(promise); };
    promise.then(forget, forget);
    return promise;
  }

  private async invoke<Res>(method: CriMethod, req: unknown, opts: CriCallOptions, redact: Redactor): Promise<Decoded<Res>> {
    const codec = this.codecs.get(method);
    if (codec === undefined) {
      throw new CriError({ method, grpcCode: grpc.status.UNIMPLEMENTED, details: `unknown method ${method}` });
    }
    const timeoutMs = Math.min(
      Math.max(0, opts.timeoutMs ?? (method === 'PullImage' ? this.pullImageTimeoutMs : this.timeoutMs)), MAX_TIMER_MS);
    const callerSignal = opts.signal;
    const lifetime = this.lifetime.signal;
    if (lifetime.aborted) throw this.cancelled(method, lifetime.reason);
    if (callerSignal?.aborted) throw this.cancelled(method, callerSignal.reason);

    const controller = new AbortController();
    let outcome: 'deadline' | 'cancelled' | undefined;
    let cancelReason: unknown;
    const onCancel = (reason: unknown): void => {
      outcome ??= 'cancelled';
      cancelReason = reason;
      controller.abort(reason);
    };
    // Only a caller's own signal gets a listener; destroy() cancels the live calls directly (a listener per call
    // on the client's lifetime signal warned about leaks with more than 10 calls in flight).
    const onCallerAbort = (): void => onCancel(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const live = { cancel: onCancel };
    this.liveCalls.add(live);
    // Referenced, like CriClient's waits: an in-flight call someone awaits must not let the process exit under it.
    const timer = setTimeout(() => {
      outcome ??= 'deadline';
      controller.abort(new Error('deadline exceeded'));
    }, timeoutMs);

    const implementation = (this.runtime as unknown as Record<string, (r: unknown, c: CallContext) => Promise<unknown>>)[
      method.charAt(0).toLowerCase() + method.slice(1)];
    try {
      if (implementation === undefined) {
        throw new BuiltinRuntimeError(grpc.status.UNIMPLEMENTED, `unknown service runtime.v1 method ${method}`);
      }
      const decodedRequest = codec.requestDeserialize(codec.requestSerialize(req));
      // The call settles at the deadline or cancel even if the runtime has not noticed the abort yet.
      const aborted = new Promise<never>((_resolve, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      aborted.catch(() => undefined);
      const response = await Promise.race([
        implementation.call(this.runtime, decodedRequest, { signal: controller.signal }),
        aborted,
      ]);
      if (outcome !== undefined) throw new Error(outcome);
      return codec.responseDeserialize(codec.responseSerialize(response)) as Decoded<Res>;
    } catch (err) {
      if (outcome === 'deadline') {
        throw new CriError({ method, grpcCode: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', redact });
      }
      if (outcome === 'cancelled') throw this.cancelled(method, cancelReason);
      if (BuiltinRuntimeError.is(err)) {
        throw new CriError({ method, grpcCode: err.grpcCode, details: err.message, redact });
      }
      throw new CriError({
        method, grpcCode: grpc.status.UNKNOWN, details: err instanceof Error ? err.message : String(err), redact,
      });
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
      this.liveCalls.delete(live);
    }
  }

  private cancelled(method: CriMethod, reason: unknown): CriError {
    const why = reason instanceof Error ? reason.message : 'the call was aborted';
    return new CriError({ method, grpcCode: grpc.status.CANCELLED, details: `cancelled: ${scrubUrlUserinfo(why)}` });
  }
}
