/**
 * How a pod maps onto CRI objects, and back: the sandbox and container configs the node sends, the labels and
 * annotations it finds them by again, and the runtime's answers turned into the planner's `ObservedContainer`s.
 *
 * Every sandbox is a host-network one (`network: NODE`), so no CNI is needed, with its own PID namespace (`pid: POD`)
 * so a container's process is not PID 1 and SIGTERM works on a real runtime (test/cri/conformance-cases.ts); its
 * hostname is empty, as runc requires without a private UTS namespace. Pod annotations go to the sandbox as kubelet
 * passes them (the built-in runtime reads its stop delay there). Known gaps: no volumes or mounts, no resources or
 * security context, no log files (`logDirectory` is left empty so a real containerd needs no directory), env values
 * from `valueFrom` only for the pod's own fields (name, namespace, uid, node name, IPs).
 */
import type { Container, Pod } from '../../../api/pod-types.js';
import type {
  ContainerConfig, ContainerStatus as CriContainerStatus, Decoded, KeyValue, NamespaceOption, PodSandboxConfig,
} from '../../../cri/cri-types.js';
import { nanosToMs } from '../../../cri/cri-types.js';
import type { ObservedContainer, ObservedContainerState } from './pod-sync-plan.js';

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
/** kubelet's annotation of the restart count a container was created with. */
export const ANNOTATION_RESTART_COUNT = 'io.kubernetes.container.restartCount';
/** The pod spec image a container was created for: what an in-place image update is detected against. */
export const ANNOTATION_SPEC_IMAGE = 'sandbox.kruise-ts.io/spec-image';

const POD_NAMESPACES: NamespaceOption = Object.freeze({ network: 'NODE', pid: 'POD', ipc: 'POD' });

/** Labels that find everything of one pod on this node's runtime. */
export function podLabels(pod: Pod, nodeLabels: Readonly<Record<string, string>>): Record<string, string> {
  return {
    ...nodeLabels,
    [LABEL_POD_NAME]: pod.metadata.name ?? '',
    [LABEL_POD_NAMESPACE]: pod.metadata.namespace ?? '',
    [LABEL_POD_UID]: pod.metadata.uid ?? '',
  };
}

export function sandboxConfigFor(pod: Pod, attempt: number, nodeLabels: Readonly<Record<string, string>>): PodSandboxConfig {
  return {
    metadata: {
      name: pod.metadata.name ?? '', namespace: pod.metadata.namespace ?? '', uid: pod.metadata.uid ?? '', attempt,
    },
    hostname: '',
    labels: podLabels(pod, nodeLabels),
    annotations: { ...pod.metadata.annotations },
    linux: { securityContext: { namespaceOptions: POD_NAMESPACES } },
  };
}

/** Env values: literal ones, and `fieldRef`s to what the node knows of the pod. */
function envOf(pod: Pod, c: Container, nodeIp: string): KeyValue[] {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'status.hostIP': nodeIp,
    'status.podIP': nodeIp,
  };
  const out: KeyValue[] = [];
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.fieldRef?.fieldPath;
    const value = e.value ?? (ref === undefined ? undefined : fields[ref] ?? mapFieldValue(pod, ref));
    if (e.valueFrom !== undefined && value === undefined) continue;
    out.push({ key: e.name, value: value ?? '' });
  }
  return out;
}

const MAP_FIELD_REF = /^metadata\.(annotations|labels)\['([^']*)'\]$/;

/**
 * `metadata.annotations['k']` / `metadata.labels['k']` as the kubelet resolves them when it creates the container: the
 * value at that moment, "" when the key is absent (the hot-upgrade version env depends on it).
 */
function mapFieldValue(pod: Pod, ref: string): string | undefined {
  const m = MAP_FIELD_REF.exec(ref);
  if (!m) return undefined;
  const map = m[1] === 'annotations' ? pod.metadata.annotations : pod.metadata.labels;
  return map?.[m[2]!] ?? '';
}

export function containerConfigFor(
  pod: Pod, c: Container, attempt: number, nodeLabels: Readonly<Record<string, string>>, nodeIp: string,
): ContainerConfig {
  return {
    metadata: { name: c.name, attempt },
    image: { image: c.image ?? '' },
    command: c.command ?? [],
    args: c.args ?? [],
    workingDir: c.workingDir ?? '',
    envs: envOf(pod, c, nodeIp),
    labels: { ...podLabels(pod, nodeLabels), [LABEL_CONTAINER_NAME]: c.name },
    annotations: {
      [ANNOTATION_RESTART_COUNT]: String(attempt),
      [ANNOTATION_SPEC_IMAGE]: c.image ?? '',
    },
    linux: { securityContext: { namespaceOptions: POD_NAMESPACES } },
  };
}

const STATES: Record<string, ObservedContainerState> = {
  CONTAINER_CREATED: 'created', CONTAINER_RUNNING: 'running', CONTAINER_EXITED: 'exited', CONTAINER_UNKNOWN: 'unknown',
};

/** The planner's state of a CRI container state (`CONTAINER_RUNNING` → `running`). */
export function observedState(criState: string | undefined): ObservedContainer['state'] {
  return STATES[criState ?? ''] ?? 'unknown';
}

/** The runtime's ContainerStatus as the planner reads it. */
export function observedContainer(s: Decoded<CriContainerStatus>): ObservedContainer {
  const ms = (v: string | undefined) => (v === undefined || v === '' ? 0 : nanosToMs(v));
  return {
    id: s.id ?? '',
    name: s.labels?.[LABEL_CONTAINER_NAME] ?? s.metadata?.name ?? '',
    attempt: s.metadata?.attempt ?? 0,
    state: STATES[s.state ?? ''] ?? 'unknown',
    createdAtMs: ms(s.createdAt),
    startedAtMs: ms(s.startedAt),
    finishedAtMs: ms(s.finishedAt),
    exitCode: s.exitCode ?? 0,
    reason: s.reason ?? '',
    message: s.message ?? '',
    specImage: s.annotations?.[ANNOTATION_SPEC_IMAGE] ?? s.image?.image ?? '',
    imageRef: s.imageRef ?? '',
  };
}

/** `containerd://<id>` for containerd, `kruise-ts://<id>` for the built-in runtime: the scheme of status container ids. */
export function containerIdScheme(runtimeName: string): string {
  if (runtimeName === 'kruise-ts-builtin') return 'kruise-ts';
  return runtimeName === '' ? 'cri' : runtimeName;
}
