/**
 * The Node object an emulated node registers, and its status conditions, as pure functions of the node's
 * settings, its runtime's answers and `now`. Field values follow what kubelet v1.32 reports
 * (pkg/kubelet/nodestatus/setters.go: `MachineInfo`, `NodeAddress`, `VersionInfo`, `ReadyCondition`,
 * `MemoryPressureCondition`, ...), so `kubectl get nodes -o wide` and `kubectl describe node` read as on a cluster.
 *
 * Known gaps: `status.images` is not reported (NodeImage carries what our controllers need), no taints, no
 * `status.daemonEndpoints`; capacity is fixed by options, not measured.
 */
import type { Condition, KubeObject } from '../../api/meta.js';
import { KruiseError } from '../../api/errors.js';

export const KUBELET_VERSION = 'v1.32.0-kruise-ts';
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_OS = 'kubernetes.io/os';
export const LABEL_ARCH = 'kubernetes.io/arch';
/** Deprecated beta labels kubelet still sets; some manifests select on them. */
export const LABEL_BETA_OS = 'beta.kubernetes.io/os';
export const LABEL_BETA_ARCH = 'beta.kubernetes.io/arch';

export type NodeConditionType = 'Ready' | 'MemoryPressure' | 'DiskPressure' | 'PIDPressure';

export interface NodeCondition extends Omit<Condition, 'type'> {
  type: NodeConditionType | (string & {});
  lastHeartbeatTime?: string;
}

export interface NodeStatus {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  conditions?: NodeCondition[];
  addresses?: { type: string; address: string }[];
  nodeInfo?: NodeSystemInfo;
  [field: string]: unknown;
}

export interface NodeSystemInfo {
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  containerRuntimeVersion: string;
  kubeletVersion: string;
  kubeProxyVersion: string;
  operatingSystem: string;
  architecture: string;
}

/** A Node as the sandbox writes and reads it (other fields pass through). */
export interface NodeObject extends KubeObject {
  spec?: { unschedulable?: boolean; podCIDR?: string; [field: string]: unknown };
  status?: NodeStatus;
}

/** What a node reports as its capacity. Quantities as Kubernetes writes them. */
export interface NodeCapacity {
  /** @default '8' */
  cpu: string;
  /** @default '32Gi' */
  memory: string;
  /** @default '110' (kubelet's --max-pods default) */
  pods: string;
  /** @default '100Gi' */
  ephemeralStorage: string;
}

export const DEFAULT_NODE_CAPACITY: Readonly<NodeCapacity> = Object.freeze({
  cpu: '8', memory: '32Gi', pods: '110', ephemeralStorage: '100Gi',
});

export interface NodeObjectInput {
  name: string;
  /** Extra labels (`--node-labels`); they may not override the well-known ones below. */
  labels?: Readonly<Record<string, string>>;
  capacity?: Readonly<NodeCapacity>;
  /** From CRI Version: `runtimeName` and `runtimeVersion`. */
  runtime: { runtimeName: string; runtimeVersion: string };
  /** `process.arch` mapped to Go's GOARCH names by `goArch`. @default 'amd64' */
  architecture?: string;
  /** @default 'Kruise-ts sandbox' */
  osImage?: string;
  /** @default 'linux' */
  operatingSystem?: string;
  /** @default '' */
  kernelVersion?: string;
  /** Stable per node: machineID, systemUUID and bootID derive from it. */
  machineId: string;
  /** Whether the runtime says it can run pods (CRI Status RuntimeReady). */
  runtimeReady: boolean;
  /** Why the runtime is not ready, when it is not. */
  runtimeMessage?: string;
  now: Date;
}

/** Node.js `process.arch` → Go's GOARCH (what `kubernetes.io/arch` holds). */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

/** The labels kubelet puts on its Node, plus the extra ones. */
export function nodeLabels(name: string, os: string, arch: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    ...extra,
    [LABEL_BETA_ARCH]: arch,
    [LABEL_BETA_OS]: os,
    [LABEL_ARCH]: arch,
    [LABEL_HOSTNAME]: name,
    [LABEL_OS]: os,
  };
}

/** Parses a Kubernetes memory quantity with a binary or decimal suffix into bytes (only what capacity uses). */
export function quantityBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new KruiseError(`unsupported quantity ${JSON.stringify(q)}`, { reason: 'Invalid' });
  const mult: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * mult[m[2] ?? '']!;
}

/**
 * Allocatable = capacity − reservations − hard eviction thresholds (kubelet: `memory.available<100Mi`,
 * `nodefs.available<10%`); no kube-/system-reserved, as a default kubelet.
 */
export function allocatableOf(c: Readonly<NodeCapacity>): Record<string, string> {
  const memKi = Math.floor(quantityBytes(c.memory) / 1024) - 100 * 1024;
  const storage = Math.floor(quantityBytes(c.ephemeralStorage) * 0.9);
  return { cpu: c.cpu, 'ephemeral-storage': String(storage), memory: `${memKi}Ki`, pods: c.pods };
}

export function capacityOf(c: Readonly<NodeCapacity>): Record<string, string> {
  return {
    cpu: c.cpu,
    'ephemeral-storage': `${Math.floor(quantityBytes(c.ephemeralStorage) / 1024)}Ki`,
    memory: `${Math.floor(quantityBytes(c.memory) / 1024)}Ki`,
    pods: c.pods,
  };
}

/** RFC 3339 with seconds, as Kubernetes writes metav1.Time. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The four conditions kubelet keeps. `previous` carries lastTransitionTime forward when a status does not change
 * (a transition time moves only on a transition); the heartbeat time is always `now`.
 */
export function nodeConditions(runtimeReady: boolean, runtimeMessage: string | undefined, now: Date, previous: readonly NodeCondition[] = []): NodeCondition[] {
  const at = rfc3339(now);
  const make = (type: NodeConditionType, status: 'True' | 'False', reason: string, message: string): NodeCondition => {
    const prev = previous.find((c) => c.type === type);
    const lastTransitionTime = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : at;
    return { type, status, lastHeartbeatTime: at, lastTransitionTime, reason, message };
  };
  return [
    make('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    make('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    make('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    runtimeReady
      ? make('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
      : make('Ready', 'False', 'KubeletNotReady', `container runtime not ready: ${runtimeMessage ?? 'RuntimeReady=false'}`),
  ];
}

/** The Node an emulated node registers, status included (the API server keeps a Node's status on create). */
export function buildNodeObject(i: NodeObjectInput): NodeObject {
  const os = i.operatingSystem ?? 'linux';
  const arch = i.architecture ?? 'amd64';
  const capacity = i.capacity ?? DEFAULT_NODE_CAPACITY;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: i.name,
      labels: nodeLabels(i.name, os, arch, i.labels),
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: {},
    status: {
      capacity: capacityOf(capacity),
      allocatable: allocatableOf(capacity),
      conditions: nodeConditions(i.runtimeReady, i.runtimeMessage, i.now),
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: i.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: i.machineId,
        systemUUID: i.machineId,
        bootID: i.machineId,
        kernelVersion: i.kernelVersion ?? '',
        osImage: i.osImage ?? 'Kruise-ts sandbox',
        containerRuntimeVersion: `${i.runtime.runtimeName}://${i.runtime.runtimeVersion}`,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: os,
        architecture: arch,
      },
    },
  };
}

/** Whether a Node's Ready condition is True (what the scheduler and `ready()` look at). */
export function isNodeReady(node: Pick<NodeObject, 'status'>): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * `--node-labels k=v,k2=v2`: keys and values checked with Kubernetes' label rules; well-known node labels are
 * refused, since the node sets them itself. Throws a KruiseError naming the bad entry.
 */
export function parseNodeLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (text.trim() === '') return out;
  const name = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
  const prefix = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const value = /^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$/;
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new KruiseError(`${JSON.stringify(entry)} is not key=value`, { reason: 'Invalid' });
    const key = entry.slice(0, eq);
    const val = entry.slice(eq + 1);
    const slash = key.indexOf('/');
    const [p, n] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key];
    if ((p !== undefined && (p.length > 253 || !prefix.test(p))) || !name.test(n)) {
      throw new KruiseError(`label key ${JSON.stringify(key)} is not a valid label name`, { reason: 'Invalid' });
    }
    if (val.length > 63 || !value.test(val)) throw new KruiseError(`label value ${JSON.stringify(val)} of ${key} is not valid`, { reason: 'Invalid' });
    if ([LABEL_HOSTNAME, LABEL_OS, LABEL_ARCH, LABEL_BETA_OS, LABEL_BETA_ARCH].includes(key)) {
      throw new KruiseError(`label ${key} is set by the node itself`, { reason: 'Invalid' });
    }
    if (key in out) throw new KruiseError(`label ${key} is given twice`, { reason: 'Invalid' });
    out[key] = val;
  }
  return out;
}
