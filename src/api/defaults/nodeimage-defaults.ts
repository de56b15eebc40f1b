/**
 * NodeImage defaults of the mutating webhook (upstream `SetDefaultsNodeImage` + tag sorting, spec §4.3): every tag
 * gets `createdAt = now` when missing and pull-policy defaults (timeout 600, backoff 3); tags are sorted by tag
 * string in spec and status. `now` is passed in (RFC 3339), never read from a clock. Pure: returns a copy.
 */
import type { NodeImage } from '../nodeimage-types.js';
import { DEFAULT_IMAGE_PULL_BACKOFF_LIMIT, DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS } from './imagepulljob-defaults.js';

/** Go's sort.Slice by `tag <` compares bytes; JS `<` on strings compares UTF-16 units, equal for ASCII tags. */
function byTag(a: { tag: string }, b: { tag: string }): number {
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

export function defaultNodeImage(input: NodeImage, now: string): NodeImage {
  const ni = structuredClone(input);
  for (const image of Object.values(ni.spec?.images ?? {})) {
    for (const tag of image.tags ?? []) {
      tag.createdAt ??= now;
      const policy = (tag.pullPolicy ??= {});
      policy.timeoutSeconds ??= DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS;
      policy.backoffLimit ??= DEFAULT_IMAGE_PULL_BACKOFF_LIMIT;
    }
    image.tags?.sort(byTag);
  }
  for (const status of Object.values(ni.status?.imageStatuses ?? {})) status.tags?.sort(byTag);
  return ni;
}
