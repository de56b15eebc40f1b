/**
 * Image pre-download before in-place updates (spec §4.1): whether this reconcile should create ImagePullJobs for
 * the new images, skip the revision for good, wait, or clean the jobs up; and the jobs themselves. Pure: the
 * executor creates the jobs, patches the revision label and emits the events (`CreatedImagePullJob`,
 * `FailedCreateImagePullJob`).
 *
 * Our addition (spec/README.md, main): the optional CloneSet annotation
 * `apps.kruise.io/image-predownload-min-updated-ready-pods` (int-or-percent of replicas, rounded up) delays the
 * jobs until that many Pods of the update revision are ready, so a bad image is not warmed everywhere.
 */
import type { CloneSet } from '../../api/cloneset-types.js';
import type { FeatureGates } from '../../api/feature-gates.js';
import { API_VERSION, KIND_IMAGEPULLJOB } from '../../api/group-version.js';
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import { goAtoi, tryScaledValue } from '../../api/int-or-string.js';
import type { LabelSelector } from '../../api/meta.js';
import {
  CONTROLLER_REVISION_HASH_LABEL, CONTROLLER_REVISION_HASH_ONLY_LABEL, IMAGE_PREDOWNLOAD_CREATED_LABEL,
  IMAGE_PREDOWNLOAD_IGNORED_LABEL, IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS_ANNOTATION,
  IMAGE_PREDOWNLOAD_PARALLELISM_ANNOTATION, IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS_ANNOTATION,
} from '../../api/well-known-keys.js';
import { maxUnavailableReplicas, partitionReplicas } from './diffs.js';
import type { JsonValue } from './go-json.js';
import { canUpdateInPlace } from './inplace.js';
import { cloneSetOwnerReference, shortHash, type ControllerRevision } from './revision.js';

/** Upstream `minimumReplicasToPreDownloadImage`: only CloneSets with more replicas pre-download. */
export const MINIMUM_REPLICAS_TO_PREDOWNLOAD = 3;
export const DEFAULT_PREDOWNLOAD_PARALLELISM = 1;
export const DEFAULT_PREDOWNLOAD_TIMEOUT_SECONDS = 300;
export const PREDOWNLOAD_BACKOFF_LIMIT = 1;
export const PREDOWNLOAD_TTL_SECONDS_AFTER_FINISHED = 600;

/** Why a revision is marked `apps.kruise.io/image-predownload-ignored`. */
export type PreDownloadIgnoreReason = 'ReCreate' | 'TooFewReplicas' | 'AllInOneBatch' | 'NotInPlace';

export type PreDownloadDecision =
  /** The feature is off for the process (gate, KruiseDaemon, or the ImagePullJob kind is not served). */
  | { action: 'disabled' }
  /** Revisions converged: delete the ImagePullJobs whose controller is this CloneSet. */
  | { action: 'cleanup' }
  /** The update revision already carries the created or ignored label. */
  | { action: 'none'; reason: 'AlreadyCreated' | 'AlreadyIgnored' }
  /** Not yet (main's min-updated-ready-pods), or the annotation is invalid (`message` says why). */
  | { action: 'wait'; reason: 'MinUpdatedReadyPods' | 'InvalidMinUpdatedReadyPods'; message: string }
  /** Patch `revisionLabels` onto the update revision; no jobs for it, ever. */
  | { action: 'ignore'; reason: PreDownloadIgnoreReason; revisionLabels: Record<string, string> }
  /** Create `jobs` (AlreadyExists is fine), then patch `revisionLabels` onto the update revision. */
  | { action: 'create'; jobs: ImagePullJob[]; revisionLabels: Record<string, string> };

export interface PreDownloadOptions {
  /** The ImagePullJob kind is discoverable on the API server (checked once at start-up). Default true. */
  imagePullJobKindServed?: boolean;
}

interface ContainerLike {
  name?: unknown;
  image?: unknown;
}

function containersOf(data: JsonValue | undefined): ContainerLike[] {
  const spec = (data as { spec?: { template?: { spec?: { containers?: unknown } } } } | null)?.spec;
  const containers = spec?.template?.spec?.containers;
  return Array.isArray(containers) ? (containers as ContainerLike[]) : [];
}

/**
 * Containers whose image differs between the two revisions' templates, matched by name; a container absent from
 * the current template counts as changed. Only `spec.containers` (not init containers). Update-template order.
 */
export function changedContainerImages(currentRev: ControllerRevision, updateRev: ControllerRevision): { name: string; image: string }[] {
  const old = new Map<string, unknown>();
  for (const c of containersOf(currentRev.data)) if (typeof c.name === 'string') old.set(c.name, c.image);
  const out: { name: string; image: string }[] = [];
  for (const c of containersOf(updateRev.data)) {
    if (typeof c.name !== 'string' || typeof c.image !== 'string') continue;
    if (old.get(c.name) !== c.image) out.push({ name: c.name, image: c.image });
  }
  return out;
}

function annotationInt(cs: CloneSet, key: string, fallback: number): number {
  const raw = cs.metadata.annotations?.[key];
  if (raw === undefined) return fallback;
  const parsed = goAtoi(raw);
  return 'error' in parsed ? fallback : parsed.value;
}

/** The ImagePullJob for one changed container (§4.1 table). */
export function preDownloadJob(cs: CloneSet, updateRev: ControllerRevision, container: { name: string; image: string }): ImagePullJob {
  const revName = updateRev.metadata.name ?? '';
  const hash = updateRev.metadata.labels?.[CONTROLLER_REVISION_HASH_ONLY_LABEL] ?? shortHash(revName);
  const selector: LabelSelector = structuredClone(cs.spec.selector ?? {});
  selector.matchExpressions = [
    ...(selector.matchExpressions ?? []),
    { key: CONTROLLER_REVISION_HASH_LABEL, operator: 'NotIn', values: [revName, hash] },
  ];
  const pullSecrets = (cs.spec.template.spec.imagePullSecrets ?? [])
    .map((s) => s.name ?? '').filter((n) => n !== '');
  const job: ImagePullJob = {
    apiVersion: API_VERSION,
    kind: KIND_IMAGEPULLJOB,
    metadata: {
      name: `${revName}-${container.name}`,
      labels: { ...(cs.spec.template.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_ONLY_LABEL]: hash },
      ownerReferences: [cloneSetOwnerReference(cs)],
    },
    spec: {
      image: container.image,
      podSelector: selector,
      parallelism: annotationInt(cs, IMAGE_PREDOWNLOAD_PARALLELISM_ANNOTATION, DEFAULT_PREDOWNLOAD_PARALLELISM),
      pullPolicy: {
        backoffLimit: PREDOWNLOAD_BACKOFF_LIMIT,
        timeoutSeconds: annotationInt(cs, IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS_ANNOTATION, DEFAULT_PREDOWNLOAD_TIMEOUT_SECONDS),
      },
      completionPolicy: { type: 'Always', ttlSecondsAfterFinished: PREDOWNLOAD_TTL_SECONDS_AFTER_FINISHED },
    },
  };
  if (cs.metadata.namespace !== undefined) job.metadata.namespace = cs.metadata.namespace;
  if (pullSecrets.length > 0) job.spec.pullSecrets = pullSecrets;
  return job;
}

/**
 * §4.1 for one reconcile, after revisions are resolved. Order of the checks: process enablement; converged
 * revisions → cleanup; labels already on the revision; ReCreate; replicas ≤ 3; everything in one batch
 * (partition 0 and maxUnavailable rounded down ≥ replicas); not image-only; then main's min-updated-ready-pods.
 */
export function decidePreDownload(
  cs: CloneSet, currentRev: ControllerRevision, updateRev: ControllerRevision,
  gates: Pick<FeatureGates, 'enabled'>, options: PreDownloadOptions = {},
): PreDownloadDecision {
  if (!gates.enabled('PreDownloadImageForInPlaceUpdate') || !gates.enabled('KruiseDaemon')
    || options.imagePullJobKindServed === false) {
    return { action: 'disabled' };
  }
  if (currentRev.metadata.name === updateRev.metadata.name) return { action: 'cleanup' };
  const labels = updateRev.metadata.labels ?? {};
  if (Object.hasOwn(labels, IMAGE_PREDOWNLOAD_CREATED_LABEL)) return { action: 'none', reason: 'AlreadyCreated' };
  if (Object.hasOwn(labels, IMAGE_PREDOWNLOAD_IGNORED_LABEL)) return { action: 'none', reason: 'AlreadyIgnored' };

  const ignore = (reason: PreDownloadIgnoreReason): PreDownloadDecision =>
    ({ action: 'ignore', reason, revisionLabels: { [IMAGE_PREDOWNLOAD_IGNORED_LABEL]: 'true' } });
  const replicas = cs.spec.replicas ?? 1;
  if ((cs.spec.updateStrategy?.type ?? 'ReCreate') === 'ReCreate') return ignore('ReCreate');
  if (replicas <= MINIMUM_REPLICAS_TO_PREDOWNLOAD) return ignore('TooFewReplicas');
  const partition = partitionReplicas(cs.spec.updateStrategy?.partition, replicas);
  // maxUnavailable rounded down here (upstream), whatever maxSurge says.
  const maxUnavailable = maxUnavailableReplicas(cs, replicas, 1);
  if (partition === 0 && maxUnavailable >= replicas) return ignore('AllInOneBatch');
  if (!canUpdateInPlace(currentRev.data, updateRev.data)) return ignore('NotInPlace');

  const minRaw = cs.metadata.annotations?.[IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS_ANNOTATION];
  if (minRaw !== undefined) {
    const asInt = /^[0-9]+$/.test(minRaw) ? Number(minRaw) : undefined;
    const scaled = asInt !== undefined ? { value: asInt } : tryScaledValue(minRaw, replicas, true);
    if ('error' in scaled) {
      return { action: 'wait', reason: 'InvalidMinUpdatedReadyPods', message: scaled.error };
    }
    // updatedReadyReplicas counts for the update revision only once the status names it.
    const updatedReady = cs.status?.updateRevision === updateRev.metadata.name ? cs.status?.updatedReadyReplicas ?? 0 : 0;
    if (updatedReady < scaled.value) {
      return {
        action: 'wait', reason: 'MinUpdatedReadyPods',
        message: `waiting for ${scaled.value} updated ready pods before pre-downloading, have ${updatedReady}`,
      };
    }
  }

  const jobs = changedContainerImages(currentRev, updateRev).map((c) => preDownloadJob(cs, updateRev, c));
  return { action: 'create', jobs, revisionLabels: { [IMAGE_PREDOWNLOAD_CREATED_LABEL]: 'true' } };
}
