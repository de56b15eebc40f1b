/**
 * Sidecar injection at Pod creation (spec §7.2 steps 1-5, §7.5 step 1), as a pure function the Pod mutating
 * webhook calls with the Pod, every SidecarSet, the request namespace and `now`; it returns a new Pod and never
 * touches its input. What stays with the webhook: sub-resource and operation checks, listing SidecarSets, the
 * `PodWebhook` gate, rendering the JSON patch.
 *
 * Deliberate differences from v0.9.0 (spec README: we take the better behaviour):
 * - a SidecarSet with two HotUpgrade containers gets both in the working-container annotation (upstream rebuilt the
 *   map from the original Pod per container, so only the last survived and the first's working side read as `-2`);
 * - a sidecar volumeMount without a same-named `spec.volumes` entry is skipped (upstream dereferenced nil and
 *   panicked; validation rejects such sets anyway);
 * - a selector that does not compile matches nothing instead of failing the request (validation rejects it).
 */
import { KruiseError } from '../../api/errors.js';
import { matchesSelector, selectorFromLabelSelector } from '../../api/label-selector.js';
import type { Container, EnvVar, Pod, Volume, VolumeMount } from '../../api/pod-types.js';
import type { SidecarContainer, SidecarSet } from '../../api/sidecarset-types.js';
import {
  IGNORED_INJECTION_NAMESPACES, SIDECAR_IS_INJECTED_ENV, SIDECARSET_HASH_ANNOTATION,
  SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION, SIDECARSET_INJECTED_LIST_ANNOTATION, SIDECARSET_VERSION_ALT_ENV,
  SIDECARSET_VERSION_ENV, SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION, sidecarSetVersionAltAnnotation,
  sidecarSetVersionAnnotation,
} from '../../api/well-known-keys.js';
import { sidecarSetRevision, sidecarSetRevisionWithoutImage } from './hash.js';
import {
  encodeSidecarSetHashAnnotation, encodeWorkingHotUpgradeAnnotation, formatTime, hotUpgradeContainerNames,
  isHotUpgradeSidecar, parseSidecarSetHashAnnotation, parseWorkingHotUpgradeAnnotation, type SidecarSetHashMap,
} from './pod-annotations.js';

export interface InjectionResult {
  /** A new Pod; the input itself when nothing was injected. */
  pod: Pod;
  /** Names of the SidecarSets injected, in list order; empty when the Pod is untouched. */
  injected: string[];
}

/** `$(VAR)` references in a `subPathExpr` (upstream `SubPathExprEnvReg`). */
const SUB_PATH_EXPR_ENV_RE = /\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g;

/** The Kruise-only fields of a SidecarContainer; the Pod gets the plain corev1.Container. */
const SIDECAR_ONLY_FIELDS = ['podInjectPolicy', 'upgradeStrategy', 'shareVolumePolicy', 'transferEnv'] as const;

function podNamespace(pod: Pick<Pod, 'metadata'>, requestNamespace = ''): string {
  return pod.metadata.namespace || requestNamespace;
}

/** §7.2 step 1: Pods in kube-system/kube-public and Pods being deleted are never injected (nor upgraded). */
export function isPodActiveForSidecarSet(pod: Pick<Pod, 'metadata'>, requestNamespace = ''): boolean {
  return !IGNORED_INJECTION_NAMESPACES.includes(podNamespace(pod, requestNamespace)) && !pod.metadata.deletionTimestamp;
}

/**
 * Upstream `PodMatchedSidecarSet`: `spec.namespace` empty or the Pod's, and a non-empty selector that matches the
 * Pod's labels. A missing, empty or invalid selector matches nothing.
 */
export function podMatchesSidecarSet(pod: Pick<Pod, 'metadata'>, set: Pick<SidecarSet, 'spec'>, requestNamespace = ''): boolean {
  const ns = set.spec.namespace;
  if (ns && ns !== podNamespace(pod, requestNamespace)) return false;
  const sel = set.spec.selector;
  if (!sel) return false;
  try {
    const selector = selectorFromLabelSelector(sel, 'spec.selector');
    if (!selector.matchesNothing && selector.requirements.length === 0) return false;
    return matchesSelector(selector, pod.metadata.labels);
  } catch {
    return false;
  }
}

/** §7.2 step 2: the SidecarSets that match the Pod, in list order. */
export function matchingSidecarSets<T extends Pick<SidecarSet, 'spec'>>(pod: Pick<Pod, 'metadata'>, sets: readonly T[], requestNamespace = ''): T[] {
  return sets.filter((s) => podMatchesSidecarSet(pod, s, requestNamespace));
}

function envValue(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

function isInjectedSidecar(c: Container): boolean {
  return envValue(c, SIDECAR_IS_INJECTED_ENV) === 'true';
}

/** Upstream `MergeEnvVar`: `additional` entries whose name is not yet present are appended. */
export function mergeEnvVars(original: readonly EnvVar[], additional: readonly EnvVar[]): EnvVar[] {
  const names = new Set(original.map((e) => e.name));
  const out = [...original];
  for (const e of additional) {
    if (names.has(e.name)) continue;
    out.push(e);
    names.add(e.name);
  }
  return out;
}

/** Upstream `MergeVolumeMounts`: by `mountPath`, the original ones win. */
export function mergeVolumeMounts(original: readonly VolumeMount[], additional: readonly VolumeMount[]): VolumeMount[] {
  const paths = new Set(original.map((m) => m.mountPath));
  const out = [...original];
  for (const m of additional) {
    if (paths.has(m.mountPath)) continue;
    out.push(m);
    paths.add(m.mountPath);
  }
  return out;
}

/** Upstream `MergeVolumes`: by name, the original (the Pod's) ones win. */
export function mergeVolumes(original: readonly Volume[], additional: readonly Volume[]): Volume[] {
  const names = new Set(original.map((v) => v.name));
  const out = [...original];
  for (const v of additional) {
    if (names.has(v.name)) continue;
    out.push(v);
    names.add(v.name);
  }
  return out;
}

/**
 * Shared mounts (only with `shareVolumePolicy.type: enabled`): every volumeMount of every Pod container that is not
 * itself an injected sidecar, plus the env vars its `subPathExpr` references (upstream
 * `GetInjectedVolumeMountsAndEnvs`).
 */
export function sharedVolumeMountsAndEnvs(sidecar: SidecarContainer, pod: Pick<Pod, 'spec'>): { mounts: VolumeMount[]; envs: EnvVar[] } {
  if (sidecar.shareVolumePolicy?.type !== 'enabled') return { mounts: [], envs: [] };
  const mounts: VolumeMount[] = [];
  const envs: EnvVar[] = [];
  for (const app of pod.spec.containers) {
    if (isInjectedSidecar(app)) continue;
    for (const m of app.volumeMounts ?? []) {
      mounts.push(structuredClone(m));
      for (const match of (m.subPathExpr ?? '').matchAll(SUB_PATH_EXPR_ENV_RE)) {
        const env = app.env?.find((e) => e.name === match[1]);
        if (env) envs.push(structuredClone(env));
      }
    }
  }
  return { mounts, envs };
}

/** transferEnv: `sourceContainerName/envName` copied from the Pod's containers; missing ones are skipped. */
export function transferredEnvs(sidecar: SidecarContainer, pod: Pick<Pod, 'spec'>): EnvVar[] {
  const byKey = new Map<string, EnvVar>();
  for (const c of pod.spec.containers) for (const e of c.env ?? []) byKey.set(`${c.name}/${e.name}`, e);
  const out: EnvVar[] = [];
  for (const t of sidecar.transferEnv ?? []) {
    const env = byKey.get(`${t.sourceContainerName ?? ''}/${t.envName ?? ''}`);
    if (env) out.push(structuredClone(env));
  }
  return out;
}

/** The plain container the Pod gets: a deep copy without the four Kruise fields. */
function toPodContainer(sidecar: SidecarContainer): Container {
  const c = structuredClone(sidecar) as Record<string, unknown>;
  for (const k of SIDECAR_ONLY_FIELDS) delete c[k];
  return c as Container;
}

function versionEnv(name: string, annotationKey: string): EnvVar {
  return { name, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${annotationKey}']` } } };
}

interface BuiltSidecar {
  container: Container;
  policy: 'BeforeAppContainer' | 'AfterAppContainer';
}

/**
 * Inserts the sidecars (upstream `mergeSidecarContainers`): one whose name the Pod already has replaces it in
 * place; the others go before (BeforeAppContainer, the default) or after the Pod's containers, in injection order.
 */
export function mergeSidecarContainers(
  origins: readonly Container[], injected: readonly { container: Container; policy?: string | undefined }[],
): Container[] {
  const out = [...origins];
  const index = new Map(out.map((c, i) => [c.name, i]));
  const before: Container[] = [];
  const after: Container[] = [];
  for (const s of injected) {
    const i = index.get(s.container.name);
    if (i !== undefined) out[i] = s.container;
    else if (s.policy === 'AfterAppContainer') after.push(s.container);
    else before.push(s.container);
  }
  return [...before, ...out, ...after];
}

function parseHashes(pod: Pod, key: string): SidecarSetHashMap {
  const value = pod.metadata.annotations?.[key];
  const parsed = parseSidecarSetHashAnnotation(value);
  if (parsed === undefined) {
    throw new KruiseError(
      `pod(${pod.metadata.namespace ?? ''}.${pod.metadata.name ?? ''}) invalid annotations[${key}] value ${value ?? ''}, unmarshal failed`,
      { reason: 'BadRequest', fieldPath: `metadata.annotations[${key}]` },
    );
  }
  return parsed;
}

/**
 * §7.2: injects every matching SidecarSet of `sets` (list order) into a Pod being created. `requestNamespace`
 * stands in for an empty `metadata.namespace`; `now` (epoch ms) stamps the hash entries. Throws KruiseError
 * (reason `BadRequest`) when the Pod carries an unparsable hash annotation, as upstream fails the request.
 */
export function injectSidecars(pod: Pod, sets: readonly SidecarSet[], requestNamespace: string, now: number): InjectionResult {
  if (!isPodActiveForSidecarSet(pod, requestNamespace)) return { pod, injected: [] };
  const matched = matchingSidecarSets(pod, sets, requestNamespace);
  if (matched.length === 0) return { pod, injected: [] };

  const hashes = parseHashes(pod, SIDECARSET_HASH_ANNOTATION);
  const hashesWithoutImage = parseHashes(pod, SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION);
  const working = parseWorkingHotUpgradeAnnotation(pod);
  const annotations: Record<string, string> = {};
  const names: string[] = [];
  const initContainers: Container[] = [];
  const containers: BuiltSidecar[] = [];
  const volumes: Volume[] = [];
  let hot = false;
  const stamp = formatTime(now);

  for (const set of matched) {
    const setName = set.metadata.name ?? '';
    names.push(setName);
    hashes[setName] = { updateTimestamp: stamp, hash: sidecarSetRevision(set), sidecarSetName: setName };
    hashesWithoutImage[setName] = { updateTimestamp: stamp, hash: sidecarSetRevisionWithoutImage(set), sidecarSetName: setName };
    const setVolumes = new Map((set.spec.volumes ?? []).map((v) => [v.name, v]));

    for (const init of set.spec.initContainers ?? []) {
      const c = toPodContainer(init);
      c.env = [...(c.env ?? []), { name: SIDECAR_IS_INJECTED_ENV, value: 'true' }];
      initContainers.push(c);
    }

    for (const sidecar of set.spec.containers ?? []) {
      const shared = sharedVolumeMountsAndEnvs(sidecar, pod);
      const transfer = mergeEnvVars(transferredEnvs(sidecar, pod), shared.envs);
      for (const m of sidecar.volumeMounts ?? []) {
        const v = setVolumes.get(m.name);
        if (v) volumes.push(structuredClone(v));
      }
      const base = toPodContainer(sidecar);
      base.volumeMounts = mergeVolumeMounts(base.volumeMounts ?? [], shared.mounts);
      base.env = mergeEnvVars([...(base.env ?? []), { name: SIDECAR_IS_INJECTED_ENV, value: 'true' }], transfer);
      if (base.volumeMounts.length === 0) delete base.volumeMounts;
      const policy = sidecar.podInjectPolicy === 'AfterAppContainer' ? 'AfterAppContainer' : 'BeforeAppContainer';

      if (!isHotUpgradeSidecar(sidecar)) {
        containers.push({ container: base, policy });
        continue;
      }
      // §7.5 step 1: X-1 works with the real image, X-2 idles on the empty image; both read their versions.
      hot = true;
      const [name1, name2] = hotUpgradeContainerNames(sidecar.name);
      for (const [name, image, version, alt] of [
        [name1, base.image, '1', '0'],
        [name2, sidecar.upgradeStrategy?.hotUpgradeEmptyImage ?? '', '0', '1'],
      ] as const) {
        const c = structuredClone(base);
        c.name = name;
        c.image = image;
        c.env = [
          ...(c.env ?? []),
          versionEnv(SIDECARSET_VERSION_ENV, sidecarSetVersionAnnotation(name)),
          versionEnv(SIDECARSET_VERSION_ALT_ENV, sidecarSetVersionAltAnnotation(name)),
        ];
        containers.push({ container: c, policy });
        annotations[sidecarSetVersionAnnotation(name)] = version;
        annotations[sidecarSetVersionAltAnnotation(name)] = alt;
      }
      working[sidecar.name] = name1;
    }
  }

  // §7.2 step 5: a Pod with nothing to inject is left exactly as it came (no annotations either).
  if (containers.length === 0 && initContainers.length === 0) return { pod, injected: [] };

  const out = structuredClone(pod);
  const sortedInit = initContainers
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (a.c.name < b.c.name ? -1 : a.c.name > b.c.name ? 1 : a.i - b.i))
    .map((x) => x.c);
  if (sortedInit.length > 0) out.spec.initContainers = [...(out.spec.initContainers ?? []), ...sortedInit];
  out.spec.containers = mergeSidecarContainers(out.spec.containers, containers);
  const mergedVolumes = mergeVolumes(out.spec.volumes ?? [], volumes);
  if (mergedVolumes.length > 0) out.spec.volumes = mergedVolumes;
  if (hot) annotations[SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION] = encodeWorkingHotUpgradeAnnotation(working);
  annotations[SIDECARSET_HASH_ANNOTATION] = encodeSidecarSetHashAnnotation(hashes);
  annotations[SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION] = encodeSidecarSetHashAnnotation(hashesWithoutImage);
  annotations[SIDECARSET_INJECTED_LIST_ANNOTATION] = names.join(',');
  out.metadata.annotations = { ...out.metadata.annotations, ...annotations };
  return { pod: out, injected: names };
}
