/**
 * Loads `proto/cri/runtime/v1/api.proto` with `@grpc/proto-loader` and hands out typed method and service
 * definitions for the client (`cri-client.ts`) and for servers (the sandbox's built-in runtime, test fakes).
 *
 * The loader options fix the JS shapes described in `cri-types.ts`: camelCase fields, enum names, 64-bit ints as
 * decimal strings, bytes as Buffers, defaults filled in. Change them only together with those types.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import type {
  CriService, Decoded, ImageServiceMethods, RuntimeServiceMethods,
} from './cri-types.js';

export const CRI_PACKAGE = 'runtime.v1';
const PROTO_RELATIVE_PATH = join('proto', 'cri', 'runtime', 'v1', 'api.proto');

/** proto-loader options; `cri-types.ts` documents the shapes they produce. */
export const CRI_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: false,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: false,
});

/**
 * Finds the proto file from this module's location. The compiled file lives in `dist/src/cri/`, `dist-<x>/src/cri/`
 * or (under a TS loader) `src/cri/`, so walk up to the first directory holding `package.json` and our proto.
 */
export function findCriProtoPath(fromUrl: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const candidate = join(dir, PROTO_RELATIVE_PATH);
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find ${PROTO_RELATIVE_PATH} in any parent directory of ${fileURLToPath(fromUrl)}`);
    }
    dir = parent;
  }
}

/** One RPC as the client needs it: its path and the (de)serializers between our types and the wire. */
export interface CriMethodDefinition<Req, Res> {
  readonly path: string;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Decoded<Res>;
}

type MethodDefinitions<M> = {
  readonly [K in keyof M]: M[K] extends [infer Req, infer Res] ? CriMethodDefinition<Req, Res> : never;
};

/** The loaded CRI proto: typed method tables plus the raw service definitions for `grpc.Server.addService`. */
export interface CriProto {
  readonly protoPath: string;
  readonly runtime: MethodDefinitions<RuntimeServiceMethods>;
  readonly image: MethodDefinitions<ImageServiceMethods>;
  readonly runtimeServiceDefinition: grpc.ServiceDefinition;
  readonly imageServiceDefinition: grpc.ServiceDefinition;
}

function serviceDefinition(pkg: protoLoader.PackageDefinition, service: CriService): protoLoader.ServiceDefinition {
  const def = pkg[`${CRI_PACKAGE}.${service}`];
  if (def === undefined || !isServiceDefinition(def)) {
    throw new Error(`${CRI_PACKAGE}.${service} is not a service in the CRI proto`);
  }
  return def;
}

function isServiceDefinition(def: protoLoader.AnyDefinition): def is protoLoader.ServiceDefinition {
  // Message and enum definitions carry a `format` field; service definitions are plain method maps.
  return !('format' in def);
}

function methodTable<M>(def: protoLoader.ServiceDefinition, names: readonly (keyof M & string)[]): MethodDefinitions<M> {
  const table: Record<string, unknown> = {};
  for (const name of names) {
    const method = def[name];
    if (method === undefined) throw new Error(`the CRI proto does not declare ${name}`);
    table[name] = Object.freeze({
      path: method.path,
      requestSerialize: method.requestSerialize,
      responseDeserialize: method.responseDeserialize,
    });
  }
  // Every name of M was filled in above with the definition proto-loader built from the proto's types.
  return Object.freeze(table) as MethodDefinitions<M>;
}

const RUNTIME_METHODS: readonly RuntimeServiceMethodName[] = [
  'Version', 'Status', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox',
  'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers', 'ContainerStatus',
  'ExecSync',
];
const IMAGE_METHODS: readonly ImageServiceMethodName[] = [
  'ListImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo',
];
type RuntimeServiceMethodName = keyof RuntimeServiceMethods & string;
type ImageServiceMethodName = keyof ImageServiceMethods & string;

/**
 * Loads and checks the CRI proto (synchronously; a few tens of milliseconds). Callers load it once and share the
 * result (the client and endpoint discovery take it as an option); there is no module-level cache.
 */
export function loadCriProto(protoPath: string = findCriProtoPath()): CriProto {
  const pkg = protoLoader.loadSync(protoPath, CRI_LOADER_OPTIONS);
  const runtimeDef = serviceDefinition(pkg, 'RuntimeService');
  const imageDef = serviceDefinition(pkg, 'ImageService');
  return Object.freeze({
    protoPath,
    runtime: methodTable<RuntimeServiceMethods>(runtimeDef, RUNTIME_METHODS),
    image: methodTable<ImageServiceMethods>(imageDef, IMAGE_METHODS),
    // proto-loader's and grpc-js's ServiceDefinition types describe the same objects.
    runtimeServiceDefinition: runtimeDef as grpc.ServiceDefinition,
    imageServiceDefinition: imageDef as grpc.ServiceDefinition,
  });
}

/**
 * The handler map a `grpc.Server` needs to serve one CRI service with our types: requests arrive decoded, responses
 * may be written in the (all-optional) input shape. Unimplemented methods may be left out; grpc-js answers
 * UNIMPLEMENTED for them.
 */
export type CriServiceHandlers<M> = {
  [K in keyof M]?: M[K] extends [infer Req, infer Res] ? grpc.handleUnaryCall<Decoded<Req>, Res> : never;
};
export type RuntimeServiceHandlers = CriServiceHandlers<RuntimeServiceMethods>;
export type ImageServiceHandlers = CriServiceHandlers<ImageServiceMethods>;

/** Registers CRI handlers on a grpc-js server with our types (the sandbox's built-in runtime, test fakes). */
export function addCriServices(
  server: grpc.Server,
  proto: CriProto,
  handlers: { runtime?: RuntimeServiceHandlers; image?: ImageServiceHandlers },
): void {
  // grpc-js types implementations as untyped handler maps; ours are typed per method from the same proto.
  if (handlers.runtime !== undefined) {
    server.addService(proto.runtimeServiceDefinition, handlers.runtime as grpc.UntypedServiceImplementation);
  }
  if (handlers.image !== undefined) {
    server.addService(proto.imageServiceDefinition, handlers.image as grpc.UntypedServiceImplementation);
  }
}
