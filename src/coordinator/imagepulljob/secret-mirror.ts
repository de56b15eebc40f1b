/**
 * Pull-secret mirroring (spec README, "Pull secrets"; upstream #1793, #2235; since upstream #1482 the manager copies
 * job secrets into one namespace too). The agent may read Secrets only in the system namespace, so the coordinator
 * copies each Secret a job names into `kruise-system` and NodeImages reference the copies.
 *
 * Ownership: Kubernetes refuses cross-namespace ownerReferences (the garbage collector would treat the owner as
 * absent and delete the copy at once), so a copy carries labels and annotations naming its job instead, and the
 * ImagePullJob controller deletes copies whose job is gone: when the reconcile of `ns/name` finds no job, or a job
 * with another uid. The copies' informer enqueues the job of every copy it lists, so copies left while the
 * coordinator was down are collected at start. No finalizer on the job: a finalizer would block `kubectl delete`
 * (and our own TTL deletion) whenever the coordinator is down.
 *
 * Pure: names, labels, desired objects and the create/update/delete plan. The controller does the API calls.
 */
import { createHash } from 'node:crypto';
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import type { ObjectMeta } from '../../api/meta.js';
import type { ReferenceObject } from '../../api/nodeimage-types.js';
import { SYSTEM_NAMESPACE } from '../../api/well-known-keys.js';

/** Label on every copy: the uid of the job it belongs to (the copies' informer selects on its presence). */
export const MIRROR_JOB_UID_LABEL = 'imagepulljob.kruise-ts.io/job-uid';
/** Label on every copy: the job's namespace (label values are ≤ 63 characters, so the name is an annotation). */
export const MIRROR_JOB_NAMESPACE_LABEL = 'imagepulljob.kruise-ts.io/job-namespace';
/** Annotation: `namespace/name` of the job. The copies' cache is indexed by it. */
export const MIRROR_JOB_ANNOTATION = 'imagepulljob.kruise-ts.io/job';
/** Annotation: `namespace/name` of the Secret copied. */
export const MIRROR_SOURCE_ANNOTATION = 'imagepulljob.kruise-ts.io/source-secret';
/** Annotation: resourceVersion of the source when it was copied; a different one means the copy is refreshed. */
export const MIRROR_SOURCE_RESOURCE_VERSION_ANNOTATION = 'imagepulljob.kruise-ts.io/source-resource-version';

/** DNS subdomain limit of a Secret name. */
const MAX_NAME = 253;
const HASH_LENGTH = 10;

/**
 * `<job-namespace>.<job-name>.<secret-name>`, cut to fit, then `-` and 10 hex of SHA-256 over the three names. The
 * readable part is for people; the hash keeps names unique, because job and Secret names may themselves contain
 * dots (`a`/`b.c`/`d` and `a`/`b`/`c.d` would otherwise collide) or be too long to fit whole.
 */
export function mirrorSecretName(jobNamespace: string, jobName: string, secretName: string): string {
  const hash = createHash('sha256').update(`${jobNamespace}/${jobName}/${secretName}`).digest('hex').slice(0, HASH_LENGTH);
  let readable = `${jobNamespace}.${jobName}.${secretName}`.slice(0, MAX_NAME - HASH_LENGTH - 1);
  // A subdomain's labels end in an alphanumeric character; the cut may have left '.' or '-' at the end.
  readable = readable.replace(/[^a-z0-9]+$/, '');
  return `${readable}-${hash}`;
}

/** The Secret names a job asks for, de-duplicated, in spec order. */
export function jobPullSecretNames(job: Pick<ImagePullJob, 'spec'>): string[] {
  return [...new Set((job.spec.pullSecrets ?? []).filter((s) => s !== ''))];
}

/** What a NodeImage's image-level `pullSecrets` holds for this job: its copies in the system namespace. */
export function mirroredSecretRefs(job: Pick<ImagePullJob, 'spec' | 'metadata'>): ReferenceObject[] {
  const ns = job.metadata.namespace ?? '';
  const name = job.metadata.name ?? '';
  return jobPullSecretNames(job).map((s) => ({ namespace: SYSTEM_NAMESPACE, name: mirrorSecretName(ns, name, s) }));
}

/** A Secret as far as mirroring reads it. */
export interface SecretObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
  immutable?: boolean;
  [field: string]: unknown;
}

/** The copy of `source` for `job`. */
export function desiredMirror(job: Pick<ImagePullJob, 'metadata'>, source: SecretObject): SecretObject {
  const ns = job.metadata.namespace ?? '';
  const name = job.metadata.name ?? '';
  const sourceName = source.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: mirrorSecretName(ns, name, sourceName),
      namespace: SYSTEM_NAMESPACE,
      labels: { [MIRROR_JOB_UID_LABEL]: job.metadata.uid ?? '', [MIRROR_JOB_NAMESPACE_LABEL]: ns },
      annotations: {
        [MIRROR_JOB_ANNOTATION]: `${ns}/${name}`,
        [MIRROR_SOURCE_ANNOTATION]: `${source.metadata.namespace ?? ns}/${sourceName}`,
        [MIRROR_SOURCE_RESOURCE_VERSION_ANNOTATION]: source.metadata.resourceVersion ?? '',
      },
    },
    ...(source.type !== undefined ? { type: source.type } : {}),
    data: { ...(source.data ?? {}) },
  };
}

/** A source Secret as fetched this round: the object, or `null` when it does not exist. */
export type FetchedSource = SecretObject | null;

export interface MirrorPlan {
  create: SecretObject[];
  /** Copies whose source changed (new resourceVersion): written whole. */
  update: SecretObject[];
  /** Names (in the system namespace) of copies to delete. */
  delete: string[];
  /** Sources the job names that do not exist (logged; the agent pulls without them, as upstream). */
  missing: string[];
}

/**
 * Compares the copies that exist for the job key with what the job wants.
 * - `job` undefined (gone): every copy goes. A copy with another job uid (the job was re-created) goes too.
 * - `sources`: only Secrets fetched this round; a wanted copy whose source was not fetched is left as it is.
 */
export function planMirrors(
  job: Pick<ImagePullJob, 'metadata' | 'spec'> | undefined,
  existing: readonly SecretObject[],
  sources: ReadonlyMap<string, FetchedSource>,
): MirrorPlan {
  const plan: MirrorPlan = { create: [], update: [], delete: [], missing: [] };
  const wanted = new Map<string, string>();
  if (job) {
    for (const s of jobPullSecretNames(job)) wanted.set(mirrorSecretName(job.metadata.namespace ?? '', job.metadata.name ?? '', s), s);
  }
  const byName = new Map<string, SecretObject>();
  for (const m of existing) {
    const name = m.metadata.name ?? '';
    const sameJob = job !== undefined && m.metadata.labels?.[MIRROR_JOB_UID_LABEL] === job.metadata.uid;
    if (!sameJob || !wanted.has(name)) plan.delete.push(name);
    else byName.set(name, m);
  }
  if (!job) return plan;
  for (const [mirrorName, sourceName] of wanted) {
    if (!sources.has(sourceName)) continue;
    const source = sources.get(sourceName) ?? null;
    const current = byName.get(mirrorName);
    if (source === null) {
      plan.missing.push(sourceName);
      // The source is gone: so is the right to pull with it.
      if (current) plan.delete.push(mirrorName);
      continue;
    }
    const desired = desiredMirror(job, { ...source, metadata: { ...source.metadata, namespace: source.metadata.namespace ?? job.metadata.namespace ?? '' } });
    if (!current) plan.create.push(desired);
    else if (current.metadata.annotations?.[MIRROR_SOURCE_RESOURCE_VERSION_ANNOTATION] !== source.metadata.resourceVersion) {
      plan.update.push({ ...desired, metadata: { ...desired.metadata, resourceVersion: current.metadata.resourceVersion ?? '' } });
    }
  }
  return plan;
}
