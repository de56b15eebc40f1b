// Test harness for a real CRI runtime: containerd + runc + a local registry, with offline busybox test images.
export { BUSYBOX_PATH, isStaticElf, missingAuthPrerequisites, missingPrerequisites } from './prerequisites.js';
export {
  BUSYBOX_APPLETS, buildBusyboxImage, buildBusyboxLayer, sha256Digest,
  type Blob, type BuildBusyboxImageOptions, type BuiltImage, type BusyboxLayer,
} from './busybox-image.js';
export { pushImage, type RegistryEndpoint } from './registry-push.js';
export { startRegistry, type RegistryAuth, type RegistryHandle, type StartRegistryOptions } from './registry.js';
export {
  startContainerd, type ContainerdHandle, type ContainerdStopReport, type StartContainerdOptions,
} from './containerd.js';
export {
  startContainerdTestbed, testbedLeftovers, type ContainerdTestbed, type StartTestbedOptions, type TestbedDescription,
  type TestbedImage,
} from './testbed.js';
export { writeTar, type TarEntry } from './tar-writer.js';
export { mountsUnder } from './mounts.js';
export { cgroupDirs, pidsInCgroup } from './cgroups.js';
export { findShimPids } from './processes.js';
export { startSandboxOnContainerd, type SandboxOnContainerd } from './sandbox-on-containerd.js';
