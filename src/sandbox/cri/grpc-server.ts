/**
 * Serves a built-in runtime on a unix socket with grpc-js, from the same proto as the client. A thin adapter (STYLE
 * habit 9): requests go to the runtime decoded, responses come back unchanged, a `BuiltinRuntimeError` becomes its gRPC
 * status with the runtime's message, and a client cancel or deadline aborts the call's signal (pulls, stops and execs
 * stop waiting). Anything else thrown is a bug: it is logged and answered UNKNOWN, as containerd answers a plain error.
 */
import { lstat, unlink } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { parseCriEndpoint } from '../../cri/cri-endpoint.js';
import {
  addCriServices, loadCriProto, type CriProto, type ImageServiceHandlers, type RuntimeServiceHandlers,
} from '../../cri/proto-loading.js';
import { BuiltinRuntimeError } from './builtin-runtime-error.js';
import type { CallContext, CriServiceImplementation } from './builtin-runtime.js';

export interface ServeBuiltinRuntimeOptions {
  /** Absolute path of the socket (at most 107 bytes). A stale socket file there is replaced. */
  socketPath: string;
  runtime: CriServiceImplementation;
  /** A loaded proto to share; loaded from `proto/` when absent. */
  proto?: CriProto;
  /** Parent logger; calls are logged at debug under `{component: 'builtin-cri-server'}`. */
  logger?: Logger;
}

export interface BuiltinRuntimeServer {
  readonly socketPath: string;
  /** `unix://<socketPath>`, for `CriClient({endpoint})`. */
  readonly address: string;
  /** Refuses new calls, waits for those in flight, removes the socket. */
  close(): Promise<void>;
  /** Aborts calls in flight (clients see CANCELLED), then closes. */
  destroy(): Promise<void>;
}

type UnaryHandler = grpc.handleUnaryCall<unknown, unknown>;
type Dispatch = (req: unknown, ctx: CallContext) => Promise<unknown>;

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function toStatus(err: unknown, method: string, logger: Logger | undefined): Partial<grpc.StatusObject> {
  if (BuiltinRuntimeError.is(err)) return { code: err.grpcCode, details: err.message };
  logger?.error({ err, method }, 'built-in runtime failed unexpectedly');
  return { code: grpc.status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

export async function serveBuiltinRuntime(options: ServeBuiltinRuntimeOptions): Promise<BuiltinRuntimeServer> {
  const { socketPath, address } = parseCriEndpoint(options.socketPath);
  const proto = options.proto ?? loadCriProto();
  const logger = options.logger?.child({ component: 'builtin-cri-server', socketPath });
  const inFlight = new Set<AbortController>();
  const runtime = options.runtime as unknown as Record<string, Dispatch>;

  const handlersFor = (names: readonly string[]): Record<string, UnaryHandler> => {
    const table: Record<string, UnaryHandler> = {};
    for (const name of names) {
      const implementation = runtime[lowerFirst(name)];
      if (typeof implementation !== 'function') continue; // grpc-js answers UNIMPLEMENTED
      table[name] = (call, callback) => {
        const controller = new AbortController();
        inFlight.add(controller);
        call.on('cancelled', () => controller.abort(new Error('the client cancelled the call')));
        const started = performance.now();
        implementation.call(options.runtime, call.request, { signal: controller.signal }).then(
          (res) => {
            inFlight.delete(controller);
            logger?.debug({ method: name, durationMs: Math.round(performance.now() - started) }, 'CRI call done');
            callback(null, res);
          },
          (err: unknown) => {
            inFlight.delete(controller);
            const status = toStatus(err, name, logger);
            logger?.debug({ method: name, code: status.code, durationMs: Math.round(performance.now() - started) },
              'CRI call failed');
            callback(status);
          },
        );
      };
    }
    return table;
  };

  const server = new grpc.Server();
  addCriServices(server, proto, {
    // Built from the proto's own method names; each entry is a unary handler of that method's types.
    runtime: handlersFor(Object.keys(proto.runtime)) as RuntimeServiceHandlers,
    image: handlersFor(Object.keys(proto.image)) as ImageServiceHandlers,
  });

  // Like containerd, replace a socket left behind by a previous run; never delete anything that is not a socket.
  try {
    const st = await lstat(socketPath);
    if (st.isSocket()) await unlink(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err === null ? resolve() : reject(err)));
  });
  logger?.debug('serving');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.tryShutdown(() => resolve());
    }).then(async () => {
      await unlink(socketPath).catch(() => undefined);
    });
    return closing;
  };
  return {
    socketPath,
    address,
    close,
    async destroy() {
      for (const controller of inFlight) controller.abort(new Error('the built-in runtime server is shutting down'));
      server.forceShutdown();
      await close();
    },
  };
}
