/**
 * Pod sandbox and container configs shaped like the ones kubelet sends (pkg/kubelet/kuberuntime
 * `generatePodSandboxConfig`, `generateContainerConfig`) for a small Deployment pod: kubelet's labels and
 * annotations, DNS, a log directory, resources, env and the usual mounts. Deterministic per index, so memory
 * readings do not depend on a seed. The container runs the image's own program (no command), which the built-in
 * runtime keeps running until it is stopped, with no timer: the steady state of a node.
 */
import type { ContainerConfig, PodSandboxConfig } from '../src/cri/index.js';

const NAMESPACE = 'bench';

function uid(i: number): string {
  return `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

export function benchSandboxConfig(i: number): PodSandboxConfig {
  const name = `web-7d9f8b6c5d-${i.toString(36).padStart(5, '0')}`;
  const podUid = uid(i);
  return {
    metadata: { name, uid: podUid, namespace: NAMESPACE, attempt: 0 },
    hostname: name,
    logDirectory: `/var/log/pods/${NAMESPACE}_${name}_${podUid}`,
    dnsConfig: {
      servers: ['10.96.0.10'],
      searches: [`${NAMESPACE}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'],
      options: ['ndots:5'],
    },
    portMappings: [{ protocol: 'TCP', containerPort: 8080 }],
    labels: {
      app: 'web', 'pod-template-hash': '7d9f8b6c5d',
      'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': NAMESPACE, 'io.kubernetes.pod.uid': podUid,
    },
    annotations: { 'kubernetes.io/config.seen': '2026-01-01T00:00:00.000000000Z', 'kubernetes.io/config.source': 'api' },
    linux: {
      cgroupParent: `/kubepods/burstable/pod${podUid}`,
      securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}

export function benchContainerConfig(i: number, imageId: string, sandbox: PodSandboxConfig): ContainerConfig {
  const m = sandbox.metadata!;
  return {
    metadata: { name: 'web', attempt: 0 },
    image: { image: imageId },
    envs: [
      { key: 'PORT', value: '8080' },
      { key: 'KUBERNETES_SERVICE_HOST', value: '10.96.0.1' },
      { key: 'KUBERNETES_SERVICE_PORT', value: '443' },
      { key: 'POD_NAME', value: m.name! },
    ],
    mounts: [
      { containerPath: '/var/run/secrets/kubernetes.io/serviceaccount', hostPath: `/var/lib/kubelet/pods/${m.uid!}/volumes/kubernetes.io~projected/kube-api-access-${(i % 46656).toString(36).padStart(3, '0')}`, readonly: true },
      { containerPath: '/etc/hosts', hostPath: `/var/lib/kubelet/pods/${m.uid!}/etc-hosts` },
      { containerPath: '/dev/termination-log', hostPath: `/var/lib/kubelet/pods/${m.uid!}/containers/web/0a1b2c3d` },
    ],
    labels: {
      'io.kubernetes.container.name': 'web', 'io.kubernetes.pod.name': m.name!,
      'io.kubernetes.pod.namespace': m.namespace!, 'io.kubernetes.pod.uid': m.uid!,
    },
    annotations: {
      'io.kubernetes.container.hash': '5c8b1f2a', 'io.kubernetes.container.restartCount': '0',
      'io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
      'io.kubernetes.container.terminationMessagePolicy': 'File', 'io.kubernetes.pod.terminationGracePeriod': '30',
    },
    logPath: 'web/0.log',
    linux: {
      resources: { cpuPeriod: '100000', cpuQuota: '50000', cpuShares: '102', memoryLimitInBytes: '134217728', oomScoreAdj: '999' },
      securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
    },
  };
}
