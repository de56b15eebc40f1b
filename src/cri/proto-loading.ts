/**
 * Loads the CRI API (`proto/cri/runtime/v1/api.proto`) and hands out typed method and service definitions for the
 * client (`cri-client.ts`) and for servers (the sandbox's built-in runtime, test fakes).
 *
 * It reads the precompiled descriptor next to the proto, `api.json` (protobufjs's `Root.toJSON()` of the parsed
 * proto, written by `generate-proto-json.ts`; `test/unit/cri/proto-json.test.ts` fails if the two drift), with
 * protobufjs's light build, and builds the method definitions itself the way `@grpc/proto-loader` 0.8 does
 * (`createMethodDefinition`: `fromObject` + `encode` out, `decode` + `toObject(options)` in). Parsing the `.proto`
 * at start-up loaded the protobufjs parser, proto-loader and protobufjs's descriptor extension, and built a
 * `DescriptorProto` of every message, which only gRPC reflection reads; the node agent paid for all of it in RSS
 * (docs/benchmarks.md, ImagePullJob). The method definitions carry no `requestType`/`responseType` for that reason:
 * we serve no reflection.
 *
 * The loader options fix the JS shapes described in `cri-types.ts`: camelCase fields, enum names, 64-bit ints as
 * decimal strings, bytes as Buffers, defaults filled in. Change them only together with those types; `keepCase` is
 * applied when the JSON is generated, the others when messages are converted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs/light.js';
import type * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import type {
  CriService, Decoded, ImageServiceMethods, RuntimeServiceMethods,
} from './cri-types.js';

export const CRI_PACKAGE = 'runtime.v1';
const PROTO_RELATIVE_PATH = join('proto', 'cri', 'runtime', 'v1', 'api.proto');

/**
 * proto-loader options (parse and conversion); `cri-types.ts` documents the shapes they produce. Tools that parse the
 * `.proto` with proto-loader (bench/bare-cri-client.ts) use them as they are.
 */
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

/** The precompiled descriptor that belongs to a `.proto`: the same path with `.json` for `.proto`. */
export function criProtoJsonPath(protoPath: string): string {
  return protoPath.replace(/\.proto$/, '') + '.json';
}

function isNamespaceJson(value: unknown): value is protobuf.INamespace {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    && typeof (value as { nested?: unknown }).nested === 'object';
}

function loadRoot(jsonPath: string): protobuf.Root {
  const json: unknown = JSON.parse(readFileSync(jsonPath, 'utf8'));
  if (!isNamespaceJson(json)) throw new Error(`${jsonPath} is not a protobufjs JSON descriptor (no "nested")`);
  const root = protobuf.Root.fromJSON(json);
  root.resolveAll();
  return root;
}

function serializer(type: protobuf.Type): (value: unknown) => Buffer {
  // The same check and message as proto-loader's createSerializer.
  return (value) => {
    if (Array.isArray(value)) {
      throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    }
    const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
    // protobufjs's Node writer returns a Buffer already; the copy-free view covers a browser-style Uint8Array.
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), CRI_LOADER_OPTIONS);
}

/** proto-loader's `originalName` is lodash's camelCase of the method name; CRI method names are plain PascalCase. */
function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** A service's methods as grpc-js wants them, with the fields proto-loader fills in (all but the reflection types). */
function serviceDefinition(root: protobuf.Root, service: CriService): grpc.ServiceDefinition {
  const serviceName = `${CRI_PACKAGE}.${service}`;
  const reflected = root.lookup(serviceName);
  if (!(reflected instanceof protobuf.Service)) throw new Error(`${serviceName} is not a service in the CRI proto`);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of reflected.methodsArray) {
    const requestType = method.resolvedRequestType;
    const responseType = method.resolvedResponseType;
    if (requestType === null || responseType === null) {
      throw new Error(`${serviceName}.${method.name} has unresolved request or response types`);
    }
    def[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(requestType),
      requestDeserialize: deserializer(requestType),
      responseSerialize: serializer(responseType),
      responseDeserialize: deserializer(responseType),
      originalName: lowerFirst(method.name),
    };
  }
  return def;
}

function methodTable<M>(def: grpc.ServiceDefinition, names: readonly (keyof M & string)[]): MethodDefinitions<M> {
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
  // Every name of M was filled in above with the definition built from the proto's types.
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
 * Loads and checks the CRI proto from its precompiled JSON descriptor (synchronously; a few milliseconds). Callers
 * load it once and share the result (the client and endpoint discovery take it as an option); there is no
 * module-level cache. `protoPath` names the `.proto` (kept in the result for tools that parse it themselves); the
 * descriptor read is `criProtoJsonPath(protoPath)`.
 */
export function loadCriProto(protoPath: string = findCriProtoPath()): CriProto {
  const root = loadRoot(criProtoJsonPath(protoPath));
  const runtimeDef = serviceDefinition(root, 'RuntimeService');
  const imageDef = serviceDefinition(root, 'ImageService');
  return Object.freeze({
    protoPath,
    runtime: methodTable<RuntimeServiceMethods>(runtimeDef, RUNTIME_METHODS),
    image: methodTable<ImageServiceMethods>(imageDef, IMAGE_METHODS),
    runtimeServiceDefinition: runtimeDef,
    imageServiceDefinition: imageDef,
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
