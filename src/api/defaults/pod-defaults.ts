/**
 * The Kubernetes (v1.16-era) defaults Kruise's mutating webhooks apply to pod templates and sidecar containers
 * (upstream `SetDefaultPodSpec`, `setSidecarDefaultContainer`, `setDefaultPodVolumes`). They matter beyond
 * cosmetics: the CloneSet revision hash is computed over the defaulted template (§6.1), so an undefaulted field
 * would give a different revision name than OpenKruise.
 *
 * Functions here mutate the object they are given; the public `defaultX` functions call them on a deep copy.
 * Known gap: volume sources we do not type (iscsi, rbd, azureDisk, scaleIO) get no defaults.
 */
import type { Container, HTTPGetAction, Probe, Volume, PodSpec, Handler, PullPolicy } from '../pod-types.js';

const DEFAULT_MODE = 0o644; // 420, the defaultMode of secret/configMap/downwardAPI/projected volumes

/** kubelet's image-name parsing, reduced to what defaulting needs: the tag, "latest" when none and no digest. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > lastSlash) return withoutDigest.slice(colon + 1);
  return at >= 0 ? '' : 'latest';
}

/** SetDefaults_Container: pull policy from the tag, termination message path and policy. */
export function applyContainerDefaults(c: Container, pullPolicyWhenEmpty?: PullPolicy): void {
  if (!c.imagePullPolicy && pullPolicyWhenEmpty) c.imagePullPolicy = pullPolicyWhenEmpty;
  if (!c.imagePullPolicy) c.imagePullPolicy = c.image && imageTag(c.image) === 'latest' ? 'Always' : 'IfNotPresent';
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const p of c.ports ?? []) if (!p.protocol) p.protocol = 'TCP';
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.fieldRef;
    if (ref && !ref.apiVersion) ref.apiVersion = 'v1';
  }
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (probe) applyProbeDefaults(probe);
  for (const h of [c.lifecycle?.postStart, c.lifecycle?.preStop]) if (h) applyHandlerDefaults(h);
}

function applyHTTPGetDefaults(a: HTTPGetAction): void {
  if (!a.path) a.path = '/';
  if (!a.scheme) a.scheme = 'HTTP';
}

function applyHandlerDefaults(h: Handler): void {
  if (h.httpGet) applyHTTPGetDefaults(h.httpGet);
}

function applyProbeDefaults(p: Probe): void {
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  applyHandlerDefaults(p);
}

const VOLUME_SOURCE_KEYS_IGNORED = new Set(['name']);

/** SetDefaults_Volume and the per-source defaults. */
export function applyVolumeDefaults(volumes: Volume[] | undefined): void {
  for (const v of volumes ?? []) {
    const hasSource = Object.keys(v).some((k) => !VOLUME_SOURCE_KEYS_IGNORED.has(k) && v[k] !== undefined);
    if (!hasSource) v.emptyDir = {};
    if (v.hostPath && v.hostPath.type === undefined) v.hostPath.type = '';
    if (v.secret && v.secret.defaultMode === undefined) v.secret.defaultMode = DEFAULT_MODE;
    if (v.configMap && v.configMap.defaultMode === undefined) v.configMap.defaultMode = DEFAULT_MODE;
    if (v.downwardAPI) {
      if (v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = DEFAULT_MODE;
      for (const item of v.downwardAPI.items ?? []) {
        if (item.fieldRef && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
      }
    }
    if (v.projected) {
      if (v.projected.defaultMode === undefined) v.projected.defaultMode = DEFAULT_MODE;
      for (const source of v.projected.sources ?? []) {
        const token = source['serviceAccountToken'] as { expirationSeconds?: number } | undefined;
        if (token && token.expirationSeconds === undefined) token.expirationSeconds = 3600;
        const downward = source['downwardAPI'] as { items?: { fieldRef?: { apiVersion?: string } }[] } | undefined;
        for (const item of downward?.items ?? []) {
          if (item.fieldRef && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
        }
      }
    }
  }
}

/**
 * Kruise's SetDefaultPodSpec: SetDefaults_PodSpec, volumes, and containers — where app containers with no
 * `imagePullPolicy` get `Always` (so in-place image updates of moving tags pull), unlike plain Kubernetes.
 */
export function applyPodSpecDefaults(spec: PodSpec): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.securityContext === undefined) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  if (spec.hostNetwork) {
    // hostNetwork Pods: hostPort defaults to containerPort (defaultHostNetworkPorts).
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const p of c.ports ?? []) if (p.hostPort === undefined) p.hostPort = p.containerPort;
    }
  }
  applyVolumeDefaults(spec.volumes);
  for (const c of spec.initContainers ?? []) applyContainerDefaults(c);
  for (const c of spec.containers ?? []) applyContainerDefaults(c, 'Always');
}
