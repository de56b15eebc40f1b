/**
 * ImagePullJob admission validation (upstream `pkg/webhook/imagepulljob/validating`, spec §4.2). Upstream stops at
 * the first problem and returns a plain message; we return every independent problem, in upstream's order, each
 * as a field error whose detail is upstream's exact text (so the first one is what OpenKruise would say). Our
 * additions: negative numbers (`must be >= 0`) and `imagePullPolicy` values. Expects a defaulted object.
 */
import { fieldError, type FieldError } from '../field-errors.js';
import type { ImagePullJob } from '../imagepulljob-types.js';
import { IMAGE_PULL_JOB_IMAGE_PULL_POLICIES } from '../imagepulljob-types.js';
import { intValue } from '../int-or-string.js';
import { imageReferenceError } from './image-reference-validation.js';
import { labelSelectorError } from './label-selector-validation.js';
import { validateNotNegative } from './k8s-validation.js';

export function validateImagePullJob(job: ImagePullJob, _old?: ImagePullJob): FieldError[] {
  const spec = job.spec;
  const errs: FieldError[] = [];
  const sel = spec.selector;
  if (sel) {
    const hasLabelSelector = sel.matchLabels !== undefined || sel.matchExpressions !== undefined;
    if (hasLabelSelector && sel.names !== undefined) {
      errs.push(fieldError.forbidden('spec.selector', 'can not set both names and labelSelector in this spec.selector'));
    } else if (hasLabelSelector) {
      const err = labelSelectorError({
        ...(sel.matchLabels ? { matchLabels: sel.matchLabels } : {}),
        ...(sel.matchExpressions ? { matchExpressions: sel.matchExpressions } : {}),
      }, 'spec.selector');
      if (err) errs.push(fieldError.invalid('spec.selector', sel, `invalid selector: ${err}`));
    }
    if (sel.names !== undefined && new Set(sel.names).size !== sel.names.length) {
      errs.push(fieldError.invalid('spec.selector.names', sel.names, 'duplicated name in selector names'));
    }
  }
  if (spec.podSelector) {
    if (sel) {
      errs.push(fieldError.forbidden('spec.podSelector', 'can not set both selector and podSelector'));
    } else {
      const err = labelSelectorError(spec.podSelector, 'spec.podSelector');
      if (err) errs.push(fieldError.invalid('spec.podSelector', spec.podSelector, `invalid podSelector: ${err}`));
    }
  }
  if (!spec.image) {
    errs.push(fieldError.required('spec.image', 'image can not be empty'));
  } else {
    const err = imageReferenceError(spec.image);
    if (err) errs.push(fieldError.invalid('spec.image', spec.image, `invalid image ${spec.image}: ${err}`));
  }
  const completion = spec.completionPolicy ?? {};
  const type = completion.type ?? '';
  if (type === 'Never') {
    if (completion.activeDeadlineSeconds != null || completion.ttlSecondsAfterFinished != null) {
      errs.push(fieldError.forbidden('spec.completionPolicy',
        'activeDeadlineSeconds and ttlSecondsAfterFinished can only work with Always CompletionPolicyType'));
    }
  } else if (type !== 'Always') {
    errs.push(fieldError.invalid('spec.completionPolicy.type', type, `unknown type of completionPolicy: ${type}`));
  }
  // Our additions (upstream accepts these values and then misbehaves).
  if (spec.parallelism !== undefined && spec.parallelism !== null && intValue(spec.parallelism) < 0) {
    errs.push(fieldError.invalid('spec.parallelism', spec.parallelism, 'must be >= 0'));
  }
  errs.push(...validateNotNegative(spec.pullPolicy?.timeoutSeconds, 'spec.pullPolicy.timeoutSeconds'));
  errs.push(...validateNotNegative(spec.pullPolicy?.backoffLimit, 'spec.pullPolicy.backoffLimit'));
  errs.push(...validateNotNegative(completion.activeDeadlineSeconds, 'spec.completionPolicy.activeDeadlineSeconds'));
  errs.push(...validateNotNegative(completion.ttlSecondsAfterFinished, 'spec.completionPolicy.ttlSecondsAfterFinished'));
  if (spec.imagePullPolicy !== undefined && !IMAGE_PULL_JOB_IMAGE_PULL_POLICIES.includes(spec.imagePullPolicy)) {
    errs.push(fieldError.notSupported('spec.imagePullPolicy', spec.imagePullPolicy, IMAGE_PULL_JOB_IMAGE_PULL_POLICIES));
  }
  return errs;
}
