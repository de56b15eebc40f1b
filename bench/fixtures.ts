/**
 * Realistic objects for the API server benchmark: nodes, ReplicaSets (real owners, so the sandbox's garbage
 * collector keeps their pods), pods of about 1.5 KB and the kubelet-style status patch the watch phase sends.
 * Everything is drawn from one seeded PRNG, so a run can be repeated with `--seed`.
 */

/** mulberry32: small, fast, good enough to pick names and nodes; not for anything secret. */
export class Rng {
  private state: number;

  constructor(seed: number) { this.state = seed >>> 0; }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number { return Math.floor(this.next() * n); }

  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }

  /** Lower-case letters and digits, as Kubernetes name suffixes use. */
  suffix(len: number, alphabet = 'bcdfghjklmnpqrstvwxz2456789'): string {
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  hex(len: number): string { return this.suffix(len, '0123456789abcdef'); }
}

export interface PodRef { namespace: string; name: string; nodeName: string }

export interface OwnerRef { namespace: string; name: string; uid: string; app: string; hash: string; team: string }

export function nodeName(i: number): string {
  return `node-${String(i).padStart(4, '0')}`;
}

export function namespaceName(i: number): string {
  return `bench-${String(i).padStart(2, '0')}`;
}

export function namespaceObject(name: string): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, purpose: 'bench' } } };
}

export function nodeObject(i: number): object {
  const name = nodeName(i);
  const zone = `zone-${String.fromCharCode(97 + (i % 3))}`;
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'm5.2xlarge', 'topology.kubernetes.io/zone': zone,
      },
    },
    spec: { podCIDR: `10.${244 + (i >> 8)}.${i & 255}.0/24`, providerID: `aws:///${zone}/i-0${i.toString(16).padStart(16, '0')}` },
    status: {
      capacity: { cpu: '8', memory: '32386544Ki', pods: '110', 'ephemeral-storage': '104845292Ki' },
      allocatable: { cpu: '7910m', memory: '31235568Ki', pods: '110', 'ephemeral-storage': '96625420948' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      addresses: [{ type: 'InternalIP', address: `10.0.${i >> 8}.${i & 255}` }, { type: 'Hostname', address: name }],
      nodeInfo: { kubeletVersion: 'v1.30.2', containerRuntimeVersion: 'containerd://1.7.18', osImage: 'Ubuntu 22.04.4 LTS', architecture: 'amd64', operatingSystem: 'linux' },
    },
  };
}

export function replicaSetObject(namespace: string, app: string, hash: string, team: string): object {
  const labels = { app, 'pod-template-hash': hash, tier: 'backend', team };
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: `${app}-${hash}`, namespace, labels },
    spec: {
      replicas: 100,
      selector: { matchLabels: { app, 'pod-template-hash': hash } },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: `registry.example.com/${team}/${app}:v1.4.2` }] } },
    },
  };
}

/** A pod as a ReplicaSet controller would create it, already bound to `node` (about 1.5 KB of JSON). */
export function podObject(owner: OwnerRef, name: string, node: string): object {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: owner.namespace,
      labels: { app: owner.app, 'pod-template-hash': owner.hash, tier: 'backend', team: owner.team },
      annotations: { 'kubectl.kubernetes.io/default-container': 'app' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      nodeName: node,
      containers: [{
        name: 'app',
        image: `registry.example.com/${owner.team}/${owner.app}:v1.4.2`,
        imagePullPolicy: 'IfNotPresent',
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'GOMAXPROCS', value: '2' },
        ],
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics', containerPort: 9090, protocol: 'TCP' }],
        resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      schedulerName: 'default-scheduler',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
    // The API server resets status on create (as Kubernetes does); it is sent because real creates carry it.
    status: { phase: 'Pending', qosClass: 'Burstable' },
  };
}

/**
 * The status a kubelet reports for a running pod, as a merge patch for `/status`. `seq` goes into
 * `restartCount` so each write is a real change and the watcher can tell which write an event belongs to.
 */
export function runningStatusPatch(pod: PodRef, nodeIndex: number, seq: number, image: string, containerId: string): object {
  const t = '2026-01-01T00:00:00Z';
  return {
    status: {
      phase: 'Running',
      conditions: [
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        { type: 'ContainersReady', status: 'True', lastProbeTime: null, lastTransitionTime: t },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: t },
      ],
      hostIP: `10.0.${nodeIndex >> 8}.${nodeIndex & 255}`,
      podIP: `10.${244 + (nodeIndex >> 8)}.${nodeIndex & 255}.${(seq % 250) + 2}`,
      startTime: t,
      containerStatuses: [{
        name: 'app', ready: true, started: true, restartCount: seq, image, imageID: `${image.split(':')[0]}@sha256:${containerId}`,
        containerID: `containerd://${containerId}`, state: { running: { startedAt: t } },
      }],
      qosClass: 'Burstable',
    },
  };
}
