/**
 * What code above the CRI boundary may rely on, whichever transport is underneath: the gRPC `CriClient`, or the
 * sandbox's in-process client to its built-in runtime. The agent and the sandbox's nodes take a `CriApi`.
 */
import type { CriClient } from './cri-client.js';

export type CriApiMethod =
  | 'version' | 'status' | 'runPodSandbox' | 'stopPodSandbox' | 'removePodSandbox' | 'podSandboxStatus'
  | 'listPodSandbox' | 'createContainer' | 'startContainer' | 'stopContainer' | 'removeContainer' | 'listContainers'
  | 'containerStatus' | 'execSync' | 'listImages' | 'imageStatus' | 'pullImage' | 'removeImage' | 'imageFsInfo';

export type CriApi = Pick<CriClient, CriApiMethod | 'close' | 'destroy' | 'state'>;
