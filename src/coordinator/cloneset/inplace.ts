/**
 * In-place update mechanics (spec §4.7): whether a revision change can be applied in place (only container images
 * replaced under the template's spec; metadata changes allowed), the state annotation written when an in-place
 * update starts, and the completion check.
 */
import type { Pod } from '../../api/pod-types.js';
import {
  INPLACE_UPDATE_GRACE_ANNOTATION, INPLACE_UPDATE_STATE_ANNOTATION, INPLACE_UPDATE_STATE_ANNOTATION_OLD,
} from '../../api/well-known-keys.js';
import type { InPlaceUpdateContainerStatus, InPlaceUpdateState } from '../../api/workload-common-types.js';
import type { JsonValue } from './go-json.js';
import { formatTimeMs } from './pod-state.js';

type JsonObject = { [key: string]: JsonValue };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One difference between two JSON documents, as an RFC 6902 operation (path relative to the document root). */
interface Change {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: JsonValue;
}

function deepEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function escapeToken(t: string): string {
  return t.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Changes from `a` to `b`: objects key by key, equal-length arrays element by element, arrays whose length
 * changed as one `replace` (which is never an image replace, so the decision equals upstream's per-index patch).
 */
function diff(a: JsonValue | undefined, b: JsonValue | undefined, path: string, out: Change[]): void {
  if (isObject(a) && isObject(b)) {
    for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) out.push({ op: 'remove', path: `${path}/${escapeToken(k)}` });
    for (const k of Object.keys(b)) {
      const p = `${path}/${escapeToken(k)}`;
      if (!Object.hasOwn(a, k)) out.push({ op: 'add', path: p, value: b[k]! });
      else diff(a[k], b[k], p, out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) diff(a[i], b[i], `${path}/${i}`, out);
    return;
  }
  if (!deepEqual(a, b)) out.push({ op: 'replace', path, value: b ?? null });
}

function asData(data: JsonValue | string | undefined): JsonValue | undefined {
  return typeof data === 'string' ? (JSON.parse(data) as JsonValue) : data;
}

function templateOf(data: JsonValue | undefined): JsonObject {
  const spec = isObject(data) ? data['spec'] : undefined;
  const template = isObject(spec) ? spec['template'] : undefined;
  return isObject(template) ? template : {};
}

const IMAGE_PATH = /^\/spec\/containers\/([0-9]+)\/image$/;

/** What an in-place update changes: new images by container name, and whether template metadata changed. */
export interface InPlaceUpdateSpec {
  containerImages: Record<string, string>;
  metadataChanged: boolean;
  /** The new template's labels and annotations, to merge into the Pod when `metadataChanged`. */
  newLabels: Record<string, string>;
  newAnnotations: Record<string, string>;
}

/**
 * §4.7: the in-place update from one revision's data to another's, or undefined when it cannot be done in place
 * (any change under the template's `spec` other than a `replace` of `/spec/containers/<i>/image`). Accepts the
 * revisions' `data` (parsed or as JSON text).
 */
export function calculateInPlaceUpdateSpec(
  oldRevisionData: JsonValue | string | undefined, newRevisionData: JsonValue | string | undefined,
): InPlaceUpdateSpec | undefined {
  const oldT = templateOf(asData(oldRevisionData));
  const newT = templateOf(asData(newRevisionData));
  const changes: Change[] = [];
  diff(oldT, newT, '', changes);
  const oldContainers = isObject(oldT['spec']) && Array.isArray(oldT['spec']['containers']) ? oldT['spec']['containers'] : [];
  const spec: InPlaceUpdateSpec = { containerImages: {}, metadataChanged: false, newLabels: {}, newAnnotations: {} };
  for (const ch of changes) {
    if (!ch.path.startsWith('/spec/')) {
      spec.metadataChanged = true;
      continue;
    }
    const m = IMAGE_PATH.exec(ch.path);
    if (ch.op !== 'replace' || !m || typeof ch.value !== 'string') return undefined;
    const container = oldContainers[Number(m[1])];
    if (!isObject(container) || typeof container['name'] !== 'string') return undefined;
    spec.containerImages[container['name']] = ch.value;
  }
  if (spec.metadataChanged) {
    const meta = isObject(newT['metadata']) ? newT['metadata'] : {};
    if (isObject(meta['labels'])) spec.newLabels = { ...meta['labels'] } as Record<string, string>;
    if (isObject(meta['annotations'])) spec.newAnnotations = { ...meta['annotations'] } as Record<string, string>;
  }
  return spec;
}

/** §4.7: true iff the change between the two revisions is image-only under the template's spec. */
export function canUpdateInPlace(
  oldRevisionData: JsonValue | string | undefined, newRevisionData: JsonValue | string | undefined,
): boolean {
  return calculateInPlaceUpdateSpec(oldRevisionData, newRevisionData) !== undefined;
}

/**
 * The value of `apps.kruise.io/inplace-update-state` written when an in-place update to `revision` starts:
 * `{revision, updateTimestamp, lastContainerStatuses}` in Go's field order, with the current imageID of every
 * container whose image changes. `now` is epoch ms.
 */
export function inPlaceUpdateStateValue(pod: Pod, revision: string, containerImages: Readonly<Record<string, string>>, now: number): string {
  const last: Record<string, InPlaceUpdateContainerStatus> = {};
  const statuses = [...(pod.status?.containerStatuses ?? [])]
    .filter((s) => Object.hasOwn(containerImages, s.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // Go writes map keys sorted
  for (const s of statuses) last[s.name] = s.imageID ? { imageID: s.imageID } : {}; // omitempty
  const state: InPlaceUpdateState = { revision, updateTimestamp: formatTimeMs(now), lastContainerStatuses: last };
  return JSON.stringify(state);
}

/** Parses the state annotation (or its legacy name); undefined when absent, an error text when unparsable. */
export function readInPlaceUpdateState(pod: Pod): InPlaceUpdateState | { error: string } | undefined {
  const a = pod.metadata.annotations ?? {};
  const raw = a[INPLACE_UPDATE_STATE_ANNOTATION] ?? a[INPLACE_UPDATE_STATE_ANNOTATION_OLD];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as InPlaceUpdateState;
    if (!isObject(v as unknown as JsonValue)) return { error: 'state is not an object' };
    return v;
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export type InPlaceCompletion = { completed: true } | { completed: false; reason: string };

/**
 * §4.7 completion check. No state annotation → completed. Otherwise every recorded container needs a status;
 * one whose imageID is unchanged is not done while its status image differs from the spec image (`:latest`
 * appended to a spec image without `:`); nothing is done while the grace annotation is present.
 */
export function inPlaceUpdateCompleted(pod: Pod): InPlaceCompletion {
  const state = readInPlaceUpdateState(pod);
  if (state === undefined) return { completed: true };
  if ('error' in state) return { completed: false, reason: `invalid in-place update state: ${state.error}` };
  const grace = pod.metadata.annotations?.[INPLACE_UPDATE_GRACE_ANNOTATION];
  if (grace !== undefined && grace !== '') return { completed: false, reason: 'in-place update grace period not finished' };
  const specImages = new Map<string, string>();
  for (const c of pod.spec.containers ?? []) {
    const image = c.image ?? '';
    specImages.set(c.name, image.includes(':') ? image : `${image}:latest`);
  }
  const pending = new Set(Object.keys(state.lastContainerStatuses ?? {}));
  for (const s of pod.status?.containerStatuses ?? []) {
    const recorded = state.lastContainerStatuses?.[s.name];
    if (recorded === undefined) continue;
    if ((recorded.imageID ?? '') === s.imageID && specImages.get(s.name) !== s.image) {
      return { completed: false, reason: `container ${s.name} imageID not changed` };
    }
    pending.delete(s.name);
  }
  if (pending.size > 0) return { completed: false, reason: `not found statuses of containers ${[...pending].sort().join(',')}` };
  return { completed: true };
}

/**
 * The value of `apps.kruise.io/inplace-update-grace` while `inPlaceUpdateStrategy.gracePeriodSeconds` runs
 * (§4.7): the images still to patch, for which revision, and when the update started. `startedAt` has
 * milliseconds because the state annotation's `updateTimestamp` has whole seconds, which would end the grace up
 * to a second early. (Upstream stores its whole update spec here and times the grace from `updateTimestamp`.)
 */
export interface InPlaceUpdateGrace {
  revision: string;
  containerImages: Record<string, string>;
  startedAt: string;
}

export function inPlaceUpdateGraceValue(revision: string, containerImages: Readonly<Record<string, string>>, now: number): string {
  const grace: InPlaceUpdateGrace = { revision, containerImages: { ...containerImages }, startedAt: new Date(now).toISOString() };
  return JSON.stringify(grace);
}

/** Parses the grace annotation; undefined when absent or empty, an error text when unusable. */
export function readInPlaceUpdateGrace(pod: Pod): InPlaceUpdateGrace | { error: string } | undefined {
  const raw = pod.metadata.annotations?.[INPLACE_UPDATE_GRACE_ANNOTATION];
  if (raw === undefined || raw === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (!isObject(v as JsonValue)) return { error: 'grace is not an object' };
  const o = v as JsonObject;
  const images = o['containerImages'];
  if (typeof o['revision'] !== 'string' || !isObject(images) || !Object.values(images).every((x) => typeof x === 'string')) {
    return { error: 'grace needs a revision and containerImages' };
  }
  return { revision: o['revision'], containerImages: images as Record<string, string>, startedAt: typeof o['startedAt'] === 'string' ? o['startedAt'] : '' };
}

/**
 * Epoch ms at which the grace ends: start + the CloneSet's current `gracePeriodSeconds` (as upstream, a changed
 * value applies to Pods already waiting). Without a usable `startedAt`, `fallbackStartMs` (the state annotation's
 * updateTimestamp) plus one second, so that the whole-second timestamp never shortens the grace.
 */
export function inPlaceUpdateGraceDeadlineMs(grace: InPlaceUpdateGrace, gracePeriodSeconds: number, fallbackStartMs?: number): number {
  const started = Date.parse(grace.startedAt);
  const start = Number.isNaN(started) ? (fallbackStartMs ?? 0) + 1000 : started;
  return start + Math.max(gracePeriodSeconds, 0) * 1000;
}
