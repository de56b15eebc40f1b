// Public surface of the CRI layer: typed client, endpoint discovery, image references, pull-secret credentials.
export * from './cri-types.js';
export {
  CRI_LOADER_OPTIONS, CRI_PACKAGE, addCriServices, findCriProtoPath, loadCriProto,
  type CriMethodDefinition, type CriProto, type CriServiceHandlers, type ImageServiceHandlers,
  type RuntimeServiceHandlers,
} from './proto-loading.js';
export { parseCriEndpoint, type CriEndpoint } from './cri-endpoint.js';
export type { CriApi, CriApiMethod } from './cri-api.js';
export { CriError, grpcCodeName, reasonForCode, type CriErrorReason } from './cri-error.js';
export {
  CriClient, IDEMPOTENT_CRI_METHODS, compileCriClientOptions,
  type CompiledCriClientOptions, type CriCallOptions, type CriClientOptions, type CriClientState, type CriRetryOptions,
} from './cri-client.js';
export {
  CriDiscoveryError, DEFAULT_CRI_SOCKETS, discoverCriEndpoint,
  type CriEndpointProbe, type CriRuntimeKind, type CriSocketCandidate, type DiscoverCriEndpointOptions,
  type DiscoveredCriEndpoint,
} from './endpoint-discovery.js';
export {
  DEFAULT_DOMAIN, DEFAULT_TAG, ImageReferenceError, familiarizeImageReference, normalizeImageReference,
  parseImageReference, tryParseImageReference, type ParseImageReferenceOptions, type ParsedReference,
} from './image-reference.js';
export {
  PullSecretError, RegistryKeyring, SECRET_TYPE_DOCKERCFG, SECRET_TYPE_DOCKER_CONFIG_JSON, describeCredential,
  parsePullSecret, pullAuthAttempts, registryKeyMatches, toAuthConfig,
  type DockerConfigEntry, type PullSecretLike, type RegistryCredential,
} from './registry-credentials.js';
export {
  pullImageWithCredentials, type AuthenticatedPullOptions, type AuthenticatedPullResult,
} from './authenticated-pull.js';
export { REDACTED, authConfigRedactor, createRedactor, type Redactor } from './redact.js';
