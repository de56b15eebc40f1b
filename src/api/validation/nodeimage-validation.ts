/**
 * NodeImage admission validation (upstream `pkg/webhook/nodeimage/validating`, spec §4.3). Upstream returns the
 * first problem as a plain message; we return all, each on its field with upstream's exact text (including its
 * "createAt" typo). Images are visited in sorted name order (Go's map order is random). Expects a defaulted object.
 */
import type { FieldError } from '../field-errors.js';
import { fieldError } from '../field-errors.js';
import type { NodeImage } from '../nodeimage-types.js';

export const MAX_IMAGES_PER_NODE = 256;

export function validateNodeImage(ni: NodeImage, _old?: NodeImage): FieldError[] {
  const errs: FieldError[] = [];
  const images = ni.spec?.images ?? {};
  const names = Object.keys(images).sort();
  if (names.length > MAX_IMAGES_PER_NODE) {
    errs.push({
      type: 'FieldValueTooMany', field: 'spec.images',
      detail: `spec images length ${names.length} can not be more than ${MAX_IMAGES_PER_NODE}`,
    });
  }
  for (const name of names) {
    const base = `spec.images[${name}]`;
    if (name.length === 0) {
      errs.push(fieldError.required(base, 'image name can not be empty'));
      continue;
    }
    const seen = new Set<string>();
    (images[name]?.tags ?? []).forEach((tag, i) => {
      const p = `${base}.tags[${i}]`;
      if (!tag.tag) {
        errs.push(fieldError.required(`${p}.tag`, `tag for image ${name} can not be empty`));
        return;
      }
      if (seen.has(tag.tag)) {
        errs.push(fieldError.invalid(`${p}.tag`, tag.tag, `duplicated tag ${tag.tag} for image ${name}`));
        return;
      }
      seen.add(tag.tag);
      const fullName = `${name}/${tag.tag}`;
      if (!tag.createdAt) errs.push(fieldError.required(`${p}.createdAt`, `createAt field for ${fullName} can not be empty`));
      if ((tag.version ?? 0) < 0) {
        errs.push(fieldError.invalid(`${p}.version`, tag.version, `version for ${fullName} can not be less than 0`));
      }
      if (!tag.pullPolicy) {
        errs.push(fieldError.required(`${p}.pullPolicy`, `pullPolicy field for ${fullName} must set`));
      } else if (tag.pullPolicy.ttlSecondsAfterFinished === undefined || tag.pullPolicy.ttlSecondsAfterFinished === null) {
        errs.push(fieldError.required(`${p}.pullPolicy.ttlSecondsAfterFinished`,
          `pullPolicy.ttlSecondsAfterFinished for ${fullName} must set`));
      }
    });
  }
  return errs;
}
