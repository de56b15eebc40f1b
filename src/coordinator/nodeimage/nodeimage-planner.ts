/**
 * The NodeImage controller's decisions (spec §4.4), pure: from the Node (or its absence), its NodeImage, the
 * ImagePullJobs that own tags and `now`, what to write. One NodeImage per Node, same name, labels an exact copy;
 * per-tag garbage collection; supervision of the agent (60 s response timeout, activeDeadline); requeue at the
 * nearest deadline.
 *
 * The executor applies `gcNodeImageSpec` and `superviseNodeImageStatus` to the object it reads fresh from the API
 * on every conflict retry, so a concurrent writer's entries are kept: these functions only ever remove what the
 * rules say, from whatever they are given.
 */
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import type { ObjectMeta } from '../../api/meta.js';
import type {
  ImageSpec, ImageTagSpec, ImageTagStatus, NodeImage, NodeImageStatus, ReferenceObject,
} from '../../api/nodeimage-types.js';
import type { ObjectReference } from '../../api/object-reference.js';
import { API_VERSION, KIND_NODEIMAGE } from '../../api/group-version.js';
import { FAKE_NODEIMAGE_LABEL, SYSTEM_NAMESPACE } from '../../api/well-known-keys.js';
import { mirroredSecretRefs } from '../imagepulljob/secret-mirror.js';
import { imageTagReference, isImagePullJobRef } from './nodeimage-owners.js';
import { formatTime, parseTime } from './rfc3339.js';

/** Message of a tag the agent never answered for (§4.4). */
export const NOT_RESPONDED_MESSAGE = 'node has not responded for a long time';
/** Message of a tag still pulling past `createdAt + activeDeadlineSeconds + 60 s` (§4.4, §4.6). */
export const PULLING_EXCEEDS_DEADLINE_MESSAGE = 'pulling exceeds the activeDeadlineSeconds';
/** Grace after `activeDeadlineSeconds` before the coordinator fails a tag the agent did not finish. */
export const ACTIVE_DEADLINE_GRACE_MS = 60_000;

/** What the planner needs of a Node. */
export interface NodeLike {
  metadata: Pick<ObjectMeta, 'name' | 'labels' | 'deletionTimestamp'>;
}

/** What the planner needs of an owner job: to tell it still exists (same uid), and which Secrets it mirrors. */
export type OwnerJob = Pick<ImagePullJob, 'metadata' | 'spec'>;

export interface NodeImagePlannerOptions {
  /** A tag without a status of its version this long after `createdAt` fails. @default 60_000 */
  responseTimeoutMs: number;
  /** Shortest requeue. @default 3000 */
  minRequeueMs: number;
  /** Up to this much is added to a requeue, at random (`jitter` × this). @default 2000 */
  requeueJitterMs: number;
}

export const DEFAULT_NODEIMAGE_PLANNER_OPTIONS: Readonly<NodeImagePlannerOptions> = Object.freeze({
  responseTimeoutMs: 60_000, minRequeueMs: 3000, requeueJitterMs: 2000,
});

export interface NodeImagePlanInput {
  nodeName: string;
  node: NodeLike | undefined;
  nodeImage: NodeImage | undefined;
  /** Jobs by `namespace/name` (only those some tag names are needed). */
  jobs: ReadonlyMap<string, OwnerJob>;
  /** Epoch ms. */
  now: number;
  /** In [0, 1): scales the requeue jitter. */
  jitter: number;
  options?: Partial<NodeImagePlannerOptions>;
}

/** A pull that the coordinator failed: one Warning event per owner and one on the NodeImage (§4.4). */
export interface TagFailure {
  imageName: string;
  tag: string;
  message: string;
  owners: ObjectReference[];
}

export type NodeImageAction =
  | { type: 'create'; nodeImage: NodeImage }
  | { type: 'delete'; name: string }
  /** Labels and/or spec changed; the round stops after it (the write's event brings the next one). */
  | { type: 'updateSpec'; labels: Record<string, string>; spec: NodeImage['spec'] }
  | { type: 'updateStatus'; status: NodeImageStatus; failures: TagFailure[] };

export interface NodeImagePlan {
  actions: NodeImageAction[];
  requeueAfterMs?: number;
}

function compile(o: Partial<NodeImagePlannerOptions> | undefined): NodeImagePlannerOptions {
  return { ...DEFAULT_NODEIMAGE_PLANNER_OPTIONS, ...Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) };
}

function sameLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const x = a ?? {};
  const y = b ?? {};
  const kx = Object.keys(x);
  return kx.length === Object.keys(y).length && kx.every((k) => Object.hasOwn(y, k) && y[k] === x[k]);
}

function ownerJobKey(ref: ObjectReference): string {
  return `${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

/** The tag status whose tag matches, if any. */
function tagStatusOf(status: NodeImageStatus | undefined, imageName: string, tag: string): ImageTagStatus | undefined {
  return status?.imageStatuses?.[imageName]?.tags?.find((t) => t.tag === tag);
}

function byTag(a: { tag: string }, b: { tag: string }): number {
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

function sameRef(a: ReferenceObject, b: ReferenceObject): boolean {
  return (a.namespace ?? '') === (b.namespace ?? '') && (a.name ?? '') === (b.name ?? '');
}

export interface SpecGcResult {
  spec: NodeImage['spec'];
  changed: boolean;
}

/**
 * Per-tag garbage collection (§4.4), in order: tags without `createdAt` go; ImagePullJob owner refs whose job is
 * gone or has another uid go (other kinds stay); tags with no owner left go; tags whose `ttlSecondsAfterFinished`
 * has passed since the status `completionTime` of the same version go; images without tags go.
 * Our addition: image `pullSecrets` in the system namespace that are no longer the copy of a remaining owner's
 * Secret go (the copies themselves are deleted with their job); references elsewhere are left alone.
 */
export function gcNodeImageSpec(ni: NodeImage, jobs: ReadonlyMap<string, OwnerJob>, now: number): SpecGcResult {
  const images: Record<string, ImageSpec> = {};
  let changed = false;
  for (const [imageName, image] of Object.entries(ni.spec?.images ?? {})) {
    const tags: ImageTagSpec[] = [];
    for (const tag of image.tags ?? []) {
      if (!tag.createdAt) { changed = true; continue; }
      const owners = (tag.ownerReferences ?? []).filter((ref) => {
        if (!isImagePullJobRef(ref)) return true;
        const job = jobs.get(ownerJobKey(ref));
        return job !== undefined && job.metadata.uid === ref.uid;
      });
      if (owners.length !== (tag.ownerReferences ?? []).length) changed = true;
      if (owners.length === 0) { changed = true; continue; }
      const ttl = tag.pullPolicy?.ttlSecondsAfterFinished;
      const st = tagStatusOf(ni.status, imageName, tag.tag);
      const completedAt = st && (st.version ?? 0) === (tag.version ?? 0) ? parseTime(st.completionTime) : undefined;
      if (ttl !== undefined && ttl !== null && completedAt !== undefined && completedAt + ttl * 1000 <= now) {
        changed = true;
        continue;
      }
      tags.push(owners.length === (tag.ownerReferences ?? []).length ? tag : { ...tag, ownerReferences: owners });
    }
    if (tags.length === 0) { changed = true; continue; }
    const next: ImageSpec = { ...image, tags };
    if (image.pullSecrets !== undefined) {
      const wanted: ReferenceObject[] = [];
      for (const tag of tags) {
        for (const ref of tag.ownerReferences ?? []) {
          const job = isImagePullJobRef(ref) ? jobs.get(ownerJobKey(ref)) : undefined;
          if (job) wanted.push(...mirroredSecretRefs(job));
        }
      }
      const kept = image.pullSecrets.filter((s) => s.namespace !== SYSTEM_NAMESPACE || wanted.some((w) => sameRef(w, s)));
      if (kept.length !== image.pullSecrets.length) {
        changed = true;
        if (kept.length > 0) next.pullSecrets = kept;
        else delete next.pullSecrets;
      }
    }
    images[imageName] = next;
  }
  const spec: NodeImage['spec'] = { ...ni.spec };
  if (Object.keys(images).length > 0) spec.images = images;
  else delete spec.images;
  return { spec, changed };
}

export interface StatusSupervisionResult {
  status: NodeImageStatus;
  changed: boolean;
  failures: TagFailure[];
  /** Epoch ms of the nearest future deadline among unfinished tags (response, activeDeadline, TTL). */
  nextDeadline: number | undefined;
}

function countersOf(status: NodeImageStatus, desired: number): NodeImageStatus {
  let succeeded = 0;
  let failed = 0;
  let pulling = 0;
  for (const image of Object.values(status.imageStatuses ?? {})) {
    for (const t of image.tags ?? []) {
      if (t.phase === 'Succeeded') succeeded++;
      else if (t.phase === 'Failed') failed++;
      else pulling++;
    }
  }
  return { ...status, desired, succeeded, failed, pulling };
}

/**
 * Status supervision (§4.4). Per spec tag: no status of the spec version `responseTimeout` after `createdAt` →
 * Failed `node has not responded for a long time`; no completionTime `activeDeadlineSeconds + 60 s` after
 * `createdAt` → Failed `pulling exceeds the activeDeadlineSeconds`. Status entries of tags not in the spec go;
 * counters are recomputed. Also reports the nearest pending deadline, for the requeue.
 */
export function superviseNodeImageStatus(ni: NodeImage, now: number, responseTimeoutMs: number): StatusSupervisionResult {
  const old = ni.status;
  const imageStatuses: NonNullable<NodeImageStatus['imageStatuses']> = {};
  const failures: TagFailure[] = [];
  let desired = 0;
  let next: number | undefined;
  const deadline = (at: number): void => { if (at > now && (next === undefined || at < next)) next = at; };
  const nowText = formatTime(now);
  for (const [imageName, image] of Object.entries(ni.spec?.images ?? {})) {
    const tags: ImageTagStatus[] = [];
    for (const tag of image.tags ?? []) {
      desired++;
      const version = tag.version ?? 0;
      const created = parseTime(tag.createdAt);
      let st = tagStatusOf(old, imageName, tag.tag);
      const failure = (message: string): void => {
        failures.push({ imageName, tag: tag.tag, message, owners: (tag.ownerReferences ?? []).filter(isImagePullJobRef) });
      };
      if (created !== undefined) {
        if (st === undefined || (st.version ?? 0) !== version) {
          const at = created + responseTimeoutMs;
          if (at <= now) {
            // Nothing of this round came back: a fresh entry, nothing of an older round is kept.
            st = { tag: tag.tag, phase: 'Failed', completionTime: nowText, version, message: NOT_RESPONDED_MESSAGE };
            failure(NOT_RESPONDED_MESSAGE);
          } else {
            deadline(at);
          }
        } else if (!st.completionTime) {
          const ads = tag.pullPolicy?.activeDeadlineSeconds;
          if (ads !== undefined && ads !== null) {
            const at = created + ads * 1000 + ACTIVE_DEADLINE_GRACE_MS;
            if (at <= now) {
              st = { ...st, phase: 'Failed', completionTime: nowText, message: PULLING_EXCEEDS_DEADLINE_MESSAGE };
              failure(PULLING_EXCEEDS_DEADLINE_MESSAGE);
            } else {
              deadline(at);
            }
          }
        }
      }
      if (st !== undefined) {
        tags.push(st);
        const ttl = tag.pullPolicy?.ttlSecondsAfterFinished;
        const done = (st.version ?? 0) === version ? parseTime(st.completionTime) : undefined;
        if (ttl !== undefined && ttl !== null && done !== undefined) deadline(done + ttl * 1000);
      }
    }
    if (tags.length > 0) imageStatuses[imageName] = { tags: tags.sort(byTag) };
  }
  const base: NodeImageStatus = { desired: 0, succeeded: 0, failed: 0, pulling: 0, ...(old ?? {}) };
  if (Object.keys(imageStatuses).length > 0) base.imageStatuses = imageStatuses;
  else delete base.imageStatuses;
  const status = countersOf(base, desired);
  // A new NodeImage with nothing to pull gets no status from us: the agent writes the first one.
  const nothing = old === undefined && desired === 0 && status.imageStatuses === undefined;
  return { status, changed: !nothing && !deepEqualJson(status, old), failures, nextDeadline: next };
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqualJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqualJson(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ka = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const kb = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(bo, k) && deepEqualJson(ao[k], bo[k]));
}

/** An empty NodeImage for `node` (same name, labels copied). */
export function newNodeImage(node: NodeLike): NodeImage {
  return {
    apiVersion: API_VERSION,
    kind: KIND_NODEIMAGE,
    metadata: { name: node.metadata.name ?? '', labels: { ...(node.metadata.labels ?? {}) } },
    spec: {},
  };
}

/** The failure event text (§4.4): `Failed to pull image <img:tag> on node <node> for <message>`. */
export function pullFailedMessage(nodeName: string, f: Pick<TagFailure, 'imageName' | 'tag' | 'message'>): string {
  return `Failed to pull image ${imageTagReference(f.imageName, f.tag)} on node ${nodeName} for ${f.message}`;
}

/** One reconcile of one node name. */
export function planNodeImage(input: NodeImagePlanInput): NodeImagePlan {
  const o = compile(input.options);
  const { node, nodeImage: ni, now } = input;
  const nodeGone = node === undefined || Boolean(node.metadata.deletionTimestamp);
  if (nodeGone) {
    if (ni && !ni.metadata.deletionTimestamp && ni.metadata.labels?.[FAKE_NODEIMAGE_LABEL] === undefined) {
      return { actions: [{ type: 'delete', name: input.nodeName }] };
    }
    // A fake NodeImage (e2e) has no Node but is still supervised.
    if (!ni || ni.metadata.labels?.[FAKE_NODEIMAGE_LABEL] === undefined) return { actions: [] };
  }
  if (!ni) return { actions: [{ type: 'create', nodeImage: newNodeImage(node!) }] };
  if (ni.metadata.deletionTimestamp) return { actions: [] };

  const labels = nodeGone ? { ...(ni.metadata.labels ?? {}) } : { ...(node!.metadata.labels ?? {}) };
  const gc = gcNodeImageSpec(ni, input.jobs, now);
  if (gc.changed || !sameLabels(labels, ni.metadata.labels)) {
    return { actions: [{ type: 'updateSpec', labels, spec: gc.spec }] };
  }
  const sup = superviseNodeImageStatus(ni, now, o.responseTimeoutMs);
  const actions: NodeImageAction[] = sup.changed ? [{ type: 'updateStatus', status: sup.status, failures: sup.failures }] : [];
  if (sup.nextDeadline === undefined) return { actions };
  const wait = Math.max(sup.nextDeadline - now, o.minRequeueMs) + Math.floor(input.jitter * o.requeueJitterMs);
  return { actions, requeueAfterMs: wait };
}
