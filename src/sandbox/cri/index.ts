// Public surface of the sandbox's built-in CRI runtime: the transport-free service, its gRPC server, and the
// in-process client for large sandboxes.
export {
  BUILTIN_RUNTIME_NAME, BUILTIN_RUNTIME_VERSION, BuiltinRuntime, EXIT_CODE_SIGKILL, EXIT_CODE_SIGTERM,
  EXIT_CODE_START_ERROR, STOP_DELAY_ANNOTATION, type CallContext, type CriServiceImplementation,
} from './builtin-runtime.js';
export {
  DEFAULT_PULL_BANDWIDTH_BYTES_PER_SECOND, DEFAULT_PULL_LATENCY_MS, compileBuiltinRuntimeOptions,
  type BuiltinRuntimeOptions, type CompiledBuiltinRuntimeOptions,
} from './builtin-runtime-options.js';
export {
  BuiltinRegistry, DEFAULT_PRIVATE_LOGIN, DEFAULT_PRIVATE_REGISTRY, defaultImageSizeBytes,
  type BuiltinRegistryOptions, type RegistryImageOptions, type RegistryLogin, type ResolvedImage,
} from './builtin-registry.js';
export { BuiltinRuntimeError } from './builtin-runtime-error.js';
export { serveBuiltinRuntime, type BuiltinRuntimeServer, type ServeBuiltinRuntimeOptions } from './grpc-server.js';
export {
  InProcessCriClient, type CriApi, type CriApiMethod, type InProcessCriClientOptions,
} from './in-process-client.js';
export { systemRuntimeClock, type RuntimeClock } from './runtime-clock.js';
