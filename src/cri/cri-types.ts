/**
 * TypeScript shapes of the CRI runtime.v1 messages declared in `proto/cri/runtime/v1/api.proto`, as
 * `@grpc/proto-loader` produces and accepts them with the options in `proto-loading.ts`:
 *
 * - Field names are camelCase (`keepCase: false`): `runtime_api_version` is `runtimeApiVersion`.
 * - Enums are their value names as string unions (`enums: String`): `'CONTAINER_RUNNING'`, not `1`. The encoder
 *   accepts the names too, so one type serves both directions.
 * - 64-bit integers (`int64`, `uint64`) are decimal strings, type `Int64` (`longs: String`). CRI timestamps are
 *   nanoseconds since the epoch (~1.7e18), past `Number.MAX_SAFE_INTEGER`, so a JS number would silently lose the
 *   low digits; a string is exact, it is what the proto3 JSON mapping uses for 64-bit ints, and the encoder takes it
 *   back unchanged. Use `nanosToMs`/`msToNanos` and `BigInt(x)` when arithmetic is needed. 32-bit ints are numbers.
 * - `bytes` fields are Node `Buffer`s (ExecSync stdout/stderr). `KeyValue.value` is declared `string` in our proto
 *   (upstream made it `bytes`; same wire format).
 *
 * Every field of the message interfaces is optional: that is what callers write into requests. What comes out of
 * the decoder is `Decoded<T>`: with `defaults: true` every scalar, list and map is present (zero value when absent
 * on the wire), and a message field that was absent is `null`.
 */

/** A 64-bit integer as a decimal string (see the file comment for why not `number`). */
export type Int64 = string;

// ---- Decoded view ----

/** The decoded form of a message: scalars, lists and maps always present, absent sub-messages `null`. */
export type Decoded<T> = { [K in keyof T]-?: DecodedValue<NonNullable<T[K]>> };

type DecodedValue<V> = V extends Buffer
  ? Buffer
  : V extends readonly (infer E)[]
    ? DecodedValue<E>[]
    : V extends object
      ? string extends keyof V
        ? V // a proto map (Record<string, string>)
        : Decoded<V> | null
      : V;

// ---- Enums ----

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
/** POD: the pod's own namespace; CONTAINER: the container's own; NODE: the host's; TARGET: another container's. */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type SecurityProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

// ---- Version and Status ----

export interface VersionRequest {
  /** The kubelet's CRI API version; runtimes ignore it. */
  version?: string;
}

export interface VersionResponse {
  version?: string;
  runtimeName?: string;
  runtimeVersion?: string;
  /** `v1` for a runtime serving runtime.v1. */
  runtimeApiVersion?: string;
}

export interface RuntimeCondition {
  /** `RuntimeReady` or `NetworkReady`. */
  type?: string;
  status?: boolean;
  reason?: string;
  message?: string;
}

export interface RuntimeStatus {
  conditions?: RuntimeCondition[];
}

export interface StatusRequest {
  verbose?: boolean;
}

export interface StatusResponse {
  status?: RuntimeStatus | null;
  info?: Record<string, string>;
}

// ---- Shared pieces ----

export interface DNSConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface PortMapping {
  protocol?: Protocol;
  containerPort?: number;
  hostPort?: number;
  hostIp?: string;
}

export interface Mount {
  containerPath?: string;
  hostPath?: string;
  readonly?: boolean;
  selinuxRelabel?: boolean;
  propagation?: MountPropagation;
}

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
  targetId?: string;
}

export interface Int64Value {
  value?: Int64;
}

export interface UInt64Value {
  value?: Int64;
}

export interface SELinuxOption {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

export interface SecurityProfile {
  profileType?: SecurityProfileType;
  localhostRef?: string;
}

export interface ImageSpec {
  image?: string;
  annotations?: Record<string, string>;
  userSpecifiedImage?: string;
}

export interface KeyValue {
  key?: string;
  value?: string;
}

export interface HugepageLimit {
  pageSize?: string;
  limit?: Int64;
}

export interface LinuxContainerResources {
  cpuPeriod?: Int64;
  cpuQuota?: Int64;
  cpuShares?: Int64;
  memoryLimitInBytes?: Int64;
  oomScoreAdj?: Int64;
  cpusetCpus?: string;
  cpusetMems?: string;
  hugepageLimits?: HugepageLimit[];
  unified?: Record<string, string>;
  memorySwapLimitInBytes?: Int64;
}

// ---- Pod sandboxes ----

export interface LinuxSandboxSecurityContext {
  namespaceOptions?: NamespaceOption | null;
  selinuxOptions?: SELinuxOption | null;
  runAsUser?: Int64Value | null;
  runAsGroup?: Int64Value | null;
  readonlyRootfs?: boolean;
  supplementalGroups?: Int64[];
  privileged?: boolean;
  seccomp?: SecurityProfile | null;
  apparmor?: SecurityProfile | null;
}

export interface LinuxPodSandboxConfig {
  cgroupParent?: string;
  securityContext?: LinuxSandboxSecurityContext | null;
  sysctls?: Record<string, string>;
}

export interface PodSandboxMetadata {
  name?: string;
  uid?: string;
  namespace?: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata?: PodSandboxMetadata | null;
  /** Must be empty for a host-network sandbox (runc cannot set a hostname without a private UTS namespace). */
  hostname?: string;
  logDirectory?: string;
  dnsConfig?: DNSConfig | null;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: LinuxPodSandboxConfig | null;
}

export interface RunPodSandboxRequest {
  config?: PodSandboxConfig | null;
  runtimeHandler?: string;
}

export interface RunPodSandboxResponse {
  podSandboxId?: string;
}

export interface StopPodSandboxRequest {
  podSandboxId?: string;
}

export type StopPodSandboxResponse = Record<string, never>;

export interface RemovePodSandboxRequest {
  podSandboxId?: string;
}

export type RemovePodSandboxResponse = Record<string, never>;

export interface PodSandboxStatusRequest {
  podSandboxId?: string;
  verbose?: boolean;
}

export interface PodIP {
  ip?: string;
}

export interface PodSandboxNetworkStatus {
  ip?: string;
  additionalIps?: PodIP[];
}

export interface Namespace {
  options?: NamespaceOption | null;
}

export interface LinuxPodSandboxStatus {
  namespaces?: Namespace | null;
}

export interface PodSandboxStatus {
  id?: string;
  metadata?: PodSandboxMetadata | null;
  state?: PodSandboxState;
  /** Nanoseconds since the epoch. */
  createdAt?: Int64;
  network?: PodSandboxNetworkStatus | null;
  linux?: LinuxPodSandboxStatus | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  runtimeHandler?: string;
}

export interface PodSandboxStatusResponse {
  status?: PodSandboxStatus | null;
  info?: Record<string, string>;
  containersStatuses?: ContainerStatus[];
  timestamp?: Int64;
}

export interface PodSandboxStateValue {
  state?: PodSandboxState;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxStateValue | null;
  labelSelector?: Record<string, string>;
}

export interface ListPodSandboxRequest {
  filter?: PodSandboxFilter | null;
}

export interface PodSandbox {
  id?: string;
  metadata?: PodSandboxMetadata | null;
  state?: PodSandboxState;
  createdAt?: Int64;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  runtimeHandler?: string;
}

export interface ListPodSandboxResponse {
  items?: PodSandbox[];
}

// ---- Containers ----

export interface Capability {
  addCapabilities?: string[];
  dropCapabilities?: string[];
  addAmbientCapabilities?: string[];
}

export interface LinuxContainerSecurityContext {
  capabilities?: Capability | null;
  privileged?: boolean;
  namespaceOptions?: NamespaceOption | null;
  selinuxOptions?: SELinuxOption | null;
  runAsUser?: Int64Value | null;
  runAsGroup?: Int64Value | null;
  runAsUsername?: string;
  readonlyRootfs?: boolean;
  supplementalGroups?: Int64[];
  noNewPrivs?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: SecurityProfile | null;
  apparmor?: SecurityProfile | null;
}

export interface LinuxContainerConfig {
  resources?: LinuxContainerResources | null;
  securityContext?: LinuxContainerSecurityContext | null;
}

export interface ContainerMetadata {
  name?: string;
  attempt?: number;
}

export interface Device {
  containerPath?: string;
  hostPath?: string;
  permissions?: string;
}

export interface ContainerConfig {
  metadata?: ContainerMetadata | null;
  image?: ImageSpec | null;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: KeyValue[];
  mounts?: Mount[];
  devices?: Device[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the sandbox's `logDirectory`. */
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  linux?: LinuxContainerConfig | null;
}

export interface CreateContainerRequest {
  podSandboxId?: string;
  config?: ContainerConfig | null;
  sandboxConfig?: PodSandboxConfig | null;
}

export interface CreateContainerResponse {
  containerId?: string;
}

export interface StartContainerRequest {
  containerId?: string;
}

export type StartContainerResponse = Record<string, never>;

export interface StopContainerRequest {
  containerId?: string;
  /** Seconds between the stop signal and SIGKILL. */
  timeout?: Int64;
}

export type StopContainerResponse = Record<string, never>;

export interface RemoveContainerRequest {
  containerId?: string;
}

export type RemoveContainerResponse = Record<string, never>;

export interface ContainerStateValue {
  state?: ContainerState;
}

export interface ContainerFilter {
  id?: string;
  state?: ContainerStateValue | null;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

export interface ListContainersRequest {
  filter?: ContainerFilter | null;
}

export interface Container {
  id?: string;
  podSandboxId?: string;
  metadata?: ContainerMetadata | null;
  image?: ImageSpec | null;
  /** containerd: the image id here (ContainerStatus gives the repo digest). */
  imageRef?: string;
  state?: ContainerState;
  createdAt?: Int64;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  imageId?: string;
}

export interface ListContainersResponse {
  containers?: Container[];
}

export interface ContainerStatusRequest {
  containerId?: string;
  verbose?: boolean;
}

export interface ContainerResources {
  linux?: LinuxContainerResources | null;
}

export interface ContainerStatus {
  id?: string;
  metadata?: ContainerMetadata | null;
  state?: ContainerState;
  /** Nanoseconds since the epoch; `'0'` when not yet reached. */
  createdAt?: Int64;
  startedAt?: Int64;
  finishedAt?: Int64;
  exitCode?: number;
  image?: ImageSpec | null;
  imageRef?: string;
  reason?: string;
  message?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  mounts?: Mount[];
  logPath?: string;
  resources?: ContainerResources | null;
  imageId?: string;
}

export interface ContainerStatusResponse {
  status?: ContainerStatus | null;
  info?: Record<string, string>;
}

export interface ExecSyncRequest {
  containerId?: string;
  cmd?: string[];
  /** Seconds; `'0'` for none. */
  timeout?: Int64;
}

export interface ExecSyncResponse {
  stdout?: Buffer;
  stderr?: Buffer;
  /** A non-zero exit is reported here, not as an error. */
  exitCode?: number;
}

// ---- Images ----

export interface ImageFilter {
  image?: ImageSpec | null;
}

export interface ListImagesRequest {
  /** containerd 1.6 ignores it: filter on the client. */
  filter?: ImageFilter | null;
}

export interface Image {
  id?: string;
  repoTags?: string[];
  repoDigests?: string[];
  size?: Int64;
  uid?: Int64Value | null;
  username?: string;
  spec?: ImageSpec | null;
  pinned?: boolean;
}

export interface ListImagesResponse {
  images?: Image[];
}

export interface ImageStatusRequest {
  image?: ImageSpec | null;
  verbose?: boolean;
}

export interface ImageStatusResponse {
  /** `null` when the image is not present (not an error). */
  image?: Image | null;
  info?: Record<string, string>;
}

/** Registry credentials for one pull. Secret material: never logged (see `redact.ts`). */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 of `username:password`. */
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface PullImageRequest {
  image?: ImageSpec | null;
  auth?: AuthConfig | null;
  sandboxConfig?: PodSandboxConfig | null;
}

export interface PullImageResponse {
  /** The image id or digest the runtime stored. */
  imageRef?: string;
}

export interface RemoveImageRequest {
  image?: ImageSpec | null;
}

export type RemoveImageResponse = Record<string, never>;

export type ImageFsInfoRequest = Record<string, never>;

export interface FilesystemIdentifier {
  mountpoint?: string;
}

export interface FilesystemUsage {
  /** Nanoseconds since the epoch. */
  timestamp?: Int64;
  fsId?: FilesystemIdentifier | null;
  usedBytes?: UInt64Value | null;
  inodesUsed?: UInt64Value | null;
}

export interface ImageFsInfoResponse {
  imageFilesystems?: FilesystemUsage[];
  containerFilesystems?: FilesystemUsage[];
}

// ---- Method tables ----

/** RuntimeService RPCs: name → [request, response]. Drives the client's and a server's types. */
export interface RuntimeServiceMethods {
  Version: [VersionRequest, VersionResponse];
  Status: [StatusRequest, StatusResponse];
  RunPodSandbox: [RunPodSandboxRequest, RunPodSandboxResponse];
  StopPodSandbox: [StopPodSandboxRequest, StopPodSandboxResponse];
  RemovePodSandbox: [RemovePodSandboxRequest, RemovePodSandboxResponse];
  PodSandboxStatus: [PodSandboxStatusRequest, PodSandboxStatusResponse];
  ListPodSandbox: [ListPodSandboxRequest, ListPodSandboxResponse];
  CreateContainer: [CreateContainerRequest, CreateContainerResponse];
  StartContainer: [StartContainerRequest, StartContainerResponse];
  StopContainer: [StopContainerRequest, StopContainerResponse];
  RemoveContainer: [RemoveContainerRequest, RemoveContainerResponse];
  ListContainers: [ListContainersRequest, ListContainersResponse];
  ContainerStatus: [ContainerStatusRequest, ContainerStatusResponse];
  ExecSync: [ExecSyncRequest, ExecSyncResponse];
}

/** ImageService RPCs: name → [request, response]. */
export interface ImageServiceMethods {
  ListImages: [ListImagesRequest, ListImagesResponse];
  ImageStatus: [ImageStatusRequest, ImageStatusResponse];
  PullImage: [PullImageRequest, PullImageResponse];
  RemoveImage: [RemoveImageRequest, RemoveImageResponse];
  ImageFsInfo: [ImageFsInfoRequest, ImageFsInfoResponse];
}

export type CriService = 'RuntimeService' | 'ImageService';
export type RuntimeServiceMethod = keyof RuntimeServiceMethods;
export type ImageServiceMethod = keyof ImageServiceMethods;
export type CriMethod = RuntimeServiceMethod | ImageServiceMethod;

/** The CRI API version kruise-ts speaks, as runtimes report it in `VersionResponse.runtimeApiVersion`. */
export const CRI_API_VERSION = 'v1';

// ---- Time helpers ----

const NANOS_PER_MS = 1_000_000n;

/** CRI nanoseconds → epoch milliseconds (exact to the millisecond). `'0'` (never) → 0. */
export function nanosToMs(nanos: Int64): number {
  return Number(BigInt(nanos) / NANOS_PER_MS);
}

/** Epoch milliseconds → CRI nanoseconds. */
export function msToNanos(ms: number): Int64 {
  return (BigInt(Math.trunc(ms)) * NANOS_PER_MS).toString();
}
