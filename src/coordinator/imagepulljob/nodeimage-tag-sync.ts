/**
 * What an ImagePullJob writes into one NodeImage (spec §4.5 step 7), as pure functions of the NodeImage they are
 * given. The controller applies them to the object it has just read from the API, and again to a fresh read after
 * every 409, so entries another writer added meanwhile (other jobs' tags, the agent's status) are always kept: a
 * function returns `undefined` when the NodeImage already says what the job wants.
 */
import { API_VERSION, KIND_IMAGEPULLJOB } from '../../api/group-version.js';
import type { ImagePullJob, ImagePullJobImagePullPolicy } from '../../api/imagepulljob-types.js';
import type {
  ImageSpec, ImageTagPullPolicy, ImageTagSpec, NodeImage, ReferenceObject,
} from '../../api/nodeimage-types.js';
import type { ObjectReference } from '../../api/object-reference.js';
import { DEFAULT_IMAGE_PULL_BACKOFF_LIMIT, DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS } from '../../api/defaults/imagepulljob-defaults.js';
import { formatTime } from '../nodeimage/rfc3339.js';

/** Always jobs: the tag outlives the job by 300 s plus up to 300 s at random (§4.5 step 7). */
export const ALWAYS_TTL_EXTRA_SECONDS = 300;
export const ALWAYS_TTL_JITTER_SECONDS = 300;
/** Never jobs: tags expire after 24 h ± 10 min, so nodes re-pull about daily (§4.5). */
export const NEVER_TTL_SECONDS = 86_400;
export const NEVER_TTL_JITTER_SECONDS = 600;
/** Never jobs: each pull round may run this long. */
export const NEVER_ACTIVE_DEADLINE_SECONDS = 1800;

/** The image key of a job: familiar repository name and tag (a digest such as `sha256:…` is the tag). */
export interface JobImage {
  name: string;
  tag: string;
}

/** Everything a job contributes to a NodeImage, derived once per reconcile. */
export interface DesiredJobTag {
  image: JobImage;
  owner: ObjectReference;
  /** The job's Secret copies in the system namespace. */
  pullSecrets: ReferenceObject[];
  timeoutSeconds: number;
  backoffLimit: number;
  completionType: 'Always' | 'Never';
  activeDeadlineSeconds: number | undefined;
  ttlSecondsAfterFinished: number | undefined;
  imagePullPolicy: ImagePullJobImagePullPolicy;
}

export function jobOwnerReference(job: Pick<ImagePullJob, 'metadata'>): ObjectReference {
  return {
    apiVersion: API_VERSION, kind: KIND_IMAGEPULLJOB,
    name: job.metadata.name ?? '', namespace: job.metadata.namespace ?? '', uid: job.metadata.uid ?? '',
  };
}

/** Reads the job with the webhook's defaults (timeout 600, backoff 3, Always), in case it was not admitted by it. */
export function desiredJobTag(job: Pick<ImagePullJob, 'metadata' | 'spec'>, image: JobImage, pullSecrets: readonly ReferenceObject[]): DesiredJobTag {
  const c = job.spec.completionPolicy;
  const never = c?.type === 'Never';
  return {
    image,
    owner: jobOwnerReference(job),
    pullSecrets: [...pullSecrets],
    timeoutSeconds: job.spec.pullPolicy?.timeoutSeconds ?? DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS,
    backoffLimit: job.spec.pullPolicy?.backoffLimit ?? DEFAULT_IMAGE_PULL_BACKOFF_LIMIT,
    completionType: never ? 'Never' : 'Always',
    activeDeadlineSeconds: never ? undefined : c?.activeDeadlineSeconds ?? undefined,
    ttlSecondsAfterFinished: never ? undefined : c?.ttlSecondsAfterFinished ?? undefined,
    imagePullPolicy: job.spec.imagePullPolicy === 'Always' ? 'Always' : 'IfNotPresent',
  };
}

/** The base of an Always tag's TTL: job TTL, else job activeDeadline, else timeout × backoff (§4.5 step 7). */
function alwaysTtlBase(d: DesiredJobTag): number {
  return d.ttlSecondsAfterFinished ?? d.activeDeadlineSeconds ?? d.timeoutSeconds * d.backoffLimit;
}

/** The range [min, max] the tag's TTL is drawn from. */
export function ttlRange(d: DesiredJobTag): [number, number] {
  if (d.completionType === 'Never') return [NEVER_TTL_SECONDS - NEVER_TTL_JITTER_SECONDS, NEVER_TTL_SECONDS + NEVER_TTL_JITTER_SECONDS - 1];
  const base = alwaysTtlBase(d) + ALWAYS_TTL_EXTRA_SECONDS;
  return [base, base + ALWAYS_TTL_JITTER_SECONDS - 1];
}

/** The tag pull policy for a new pull round; `random` in [0, 1) picks the TTL within `ttlRange`. */
export function tagPullPolicy(d: DesiredJobTag, random: () => number): ImageTagPullPolicy {
  const [min, max] = ttlRange(d);
  const ttl = min + Math.floor(random() * (max - min + 1));
  const policy: ImageTagPullPolicy = { timeoutSeconds: d.timeoutSeconds, backoffLimit: d.backoffLimit, ttlSecondsAfterFinished: ttl };
  const ads = d.completionType === 'Never' ? NEVER_ACTIVE_DEADLINE_SECONDS : d.activeDeadlineSeconds;
  if (ads !== undefined) policy.activeDeadlineSeconds = ads;
  return policy;
}

function samePolicy(p: ImageTagPullPolicy | undefined, d: DesiredJobTag): boolean {
  const [min, max] = ttlRange(d);
  const ttl = p?.ttlSecondsAfterFinished;
  const ads = d.completionType === 'Never' ? NEVER_ACTIVE_DEADLINE_SECONDS : d.activeDeadlineSeconds;
  return p !== undefined && p.timeoutSeconds === d.timeoutSeconds && p.backoffLimit === d.backoffLimit
    && (p.activeDeadlineSeconds ?? undefined) === ads && ttl !== undefined && ttl >= min && ttl <= max;
}

function byTag(a: { tag: string }, b: { tag: string }): number {
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

/** Merges `add` into `have` (by namespace and name); returns undefined when nothing is new. */
function mergeSecrets(have: readonly ReferenceObject[] | undefined, add: readonly ReferenceObject[]): ReferenceObject[] | undefined {
  const out = [...(have ?? [])];
  let changed = false;
  for (const s of add) {
    if (!out.some((h) => (h.namespace ?? '') === (s.namespace ?? '') && (h.name ?? '') === (s.name ?? ''))) {
      out.push({ namespace: s.namespace ?? '', name: s.name ?? '' });
      changed = true;
    }
  }
  return changed ? out : undefined;
}

/** True when the tag is owned by the job's uid. */
export function ownsTag(tag: ImageTagSpec, uid: string): boolean {
  return (tag.ownerReferences ?? []).some((r) => r.uid === uid);
}

/** Whether the current round of `tag` (status of the same version with a completionTime) has finished. */
function roundFinished(ni: NodeImage, imageName: string, tag: ImageTagSpec): boolean {
  const st = ni.status?.imageStatuses?.[imageName]?.tags?.find((t) => t.tag === tag.tag);
  return st !== undefined && (st.version ?? 0) === (tag.version ?? 0) && Boolean(st.completionTime);
}

function withImage(ni: NodeImage, imageName: string, image: ImageSpec): NodeImage {
  return { ...ni, spec: { ...ni.spec, images: { ...(ni.spec?.images ?? {}), [imageName]: image } } };
}

/**
 * Adds the job to the NodeImage (§4.5 step 7): merges its Secret copies into the image's `pullSecrets`; if the tag
 * exists and the job owns it, nothing more; if it exists without the job, `version + 1`, the job appended to its
 * owners and `createdAt = now` (its pullPolicy is left as it is), so both jobs see the new round complete; else a
 * new tag with version (status version of that tag, or −1) + 1. Tags stay sorted by tag.
 * `imagePullPolicy` (our addition): an Always job marks the round Always; an IfNotPresent job joining clears the
 * mark only when the Always round it would replace has finished, so it never downgrades a re-pull in flight.
 */
export function addJobToNodeImage(ni: NodeImage, d: DesiredJobTag, now: number, random: () => number): NodeImage | undefined {
  const imageName = d.image.name;
  const current: ImageSpec | undefined = ni.spec?.images?.[imageName];
  const secrets = mergeSecrets(current?.pullSecrets, d.pullSecrets);
  const tags = [...(current?.tags ?? [])];
  const i = tags.findIndex((t) => t.tag === d.image.tag);
  const uid = d.owner.uid ?? '';
  if (i >= 0 && ownsTag(tags[i]!, uid)) {
    if (!secrets) return undefined;
    return withImage(ni, imageName, { ...current!, pullSecrets: secrets });
  }
  if (i >= 0) {
    const old = tags[i]!;
    const next: ImageTagSpec = {
      ...old,
      version: (old.version ?? 0) + 1,
      ownerReferences: [...(old.ownerReferences ?? []), { ...d.owner }],
      createdAt: formatTime(now),
    };
    if (d.imagePullPolicy === 'Always') next.imagePullPolicy = 'Always';
    else if (roundFinished(ni, imageName, old)) delete next.imagePullPolicy;
    tags[i] = next;
  } else {
    const st = ni.status?.imageStatuses?.[imageName]?.tags?.find((t) => t.tag === d.image.tag);
    const tag: ImageTagSpec = {
      tag: d.image.tag,
      version: (st?.version ?? -1) + 1,
      createdAt: formatTime(now),
      ownerReferences: [{ ...d.owner }],
      pullPolicy: tagPullPolicy(d, random),
    };
    if (d.imagePullPolicy === 'Always') tag.imagePullPolicy = 'Always';
    tags.push(tag);
  }
  tags.sort(byTag);
  const image: ImageSpec = { ...(current ?? {}), tags };
  if (secrets) image.pullSecrets = secrets;
  return withImage(ni, imageName, image);
}

/**
 * Brings a tag the job already owns in line with an edited job ("edits reach in-flight tasks"): new Secret copies
 * are merged always; while the job is the tag's only owner and its round is unfinished, timeout, backoff,
 * activeDeadline, TTL (redrawn only when out of the range the job now implies) and imagePullPolicy follow the job,
 * without a version bump. A tag shared with other jobs keeps its policy (whose edit would win is not ours to say).
 */
export function refreshJobTag(ni: NodeImage, d: DesiredJobTag, random: () => number): NodeImage | undefined {
  const imageName = d.image.name;
  const current = ni.spec?.images?.[imageName];
  if (!current) return undefined;
  const i = (current.tags ?? []).findIndex((t) => t.tag === d.image.tag);
  const uid = d.owner.uid ?? '';
  if (i < 0 || !ownsTag(current.tags[i]!, uid)) return undefined;
  const secrets = mergeSecrets(current.pullSecrets, d.pullSecrets);
  let tags = current.tags;
  const old = current.tags[i]!;
  const soleOwner = (old.ownerReferences ?? []).length === 1;
  if (soleOwner && !roundFinished(ni, imageName, old)) {
    const policyOk = samePolicy(old.pullPolicy, d);
    const wantAlways = d.imagePullPolicy === 'Always';
    const pullOk = (old.imagePullPolicy === 'Always') === wantAlways;
    if (!policyOk || !pullOk) {
      const next: ImageTagSpec = { ...old };
      if (!policyOk) {
        const fresh = tagPullPolicy(d, random);
        const [min, max] = ttlRange(d);
        const ttl = old.pullPolicy?.ttlSecondsAfterFinished;
        if (ttl !== undefined && ttl >= min && ttl <= max) fresh.ttlSecondsAfterFinished = ttl;
        next.pullPolicy = fresh;
      }
      if (wantAlways) next.imagePullPolicy = 'Always';
      else delete next.imagePullPolicy;
      tags = [...current.tags];
      tags[i] = next;
    }
  }
  if (!secrets && tags === current.tags) return undefined;
  return withImage(ni, imageName, { ...current, tags, ...(secrets ? { pullSecrets: secrets } : {}) });
}

/** True when the job owns a tag of `ni` other than its current image (its image was edited). */
export function ownsOtherTags(ni: NodeImage, uid: string, keep: JobImage): boolean {
  for (const [name, image] of Object.entries(ni.spec?.images ?? {})) {
    for (const tag of image.tags ?? []) {
      if (ownsTag(tag, uid) && !(name === keep.name && tag.tag === keep.tag)) return true;
    }
  }
  return false;
}

/**
 * Removes the job from tags other than its current image (after an edit of `spec.image`); tags and images left
 * without owners go, as the NodeImage controller's garbage collection would remove them.
 */
export function releaseJobFromOtherTags(ni: NodeImage, uid: string, keep: JobImage): NodeImage | undefined {
  if (!ownsOtherTags(ni, uid, keep)) return undefined;
  const images: Record<string, ImageSpec> = {};
  for (const [name, image] of Object.entries(ni.spec?.images ?? {})) {
    const tags: ImageTagSpec[] = [];
    for (const tag of image.tags ?? []) {
      if (!ownsTag(tag, uid) || (name === keep.name && tag.tag === keep.tag)) { tags.push(tag); continue; }
      const owners = (tag.ownerReferences ?? []).filter((r) => r.uid !== uid);
      if (owners.length > 0) tags.push({ ...tag, ownerReferences: owners });
    }
    if (tags.length > 0) images[name] = { ...image, tags };
  }
  const spec = { ...ni.spec };
  if (Object.keys(images).length > 0) spec.images = images;
  else delete spec.images;
  return { ...ni, spec };
}
