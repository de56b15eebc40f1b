/**
 * SidecarSet admission validation (upstream `pkg/webhook/sidecarset/validating`, spec §7.1), messages exact.
 * Paths: upstream reports update-strategy errors under `spec.strategy` and container-policy errors under
 * `spec.container`; we use the real paths (`spec.updateStrategy…`, `spec.containers[i]…`) with the same details.
 *
 * Our additions: HotUpgrade containers must set `upgradeStrategy.hotUpgradeEmptyImage` (upstream #855), and
 * `upgradeType` / `updateStrategy.type` must be known values.
 *
 * Cross-set rules (container names unique and same-named volumes identical among SidecarSets that can select the
 * same Pods) need the other SidecarSets: `validateSidecarSetConflicts(set, others)`; the webhook passes the list.
 */
import { fieldError, type FieldError } from '../field-errors.js';
import type { SidecarContainer, SidecarSet } from '../sidecarset-types.js';
import {
  POD_INJECT_POLICY_TYPES, SHARE_VOLUME_POLICY_TYPES, SIDECAR_CONTAINER_UPGRADE_TYPES,
  SIDECARSET_UPDATE_STRATEGY_TYPES,
} from '../sidecarset-types.js';
import type { LabelSelector } from '../meta.js';
import { maxLenError, regexError, semanticDeepEqual, validateObjectName } from './k8s-validation.js';
import { isEmptySelector, selectorsOverlap, validateLabelSelector } from './label-selector-validation.js';
import { validateContainers, validateVolumes } from './pod-validation.js';
import { validatePositiveIntOrPercent, validateScatterStrategy } from './update-strategy-validation.js';

const NAME_MAX_LEN = 63;
const NAME_FMT = '^[a-zA-Z0-9\\-]+$';
const NAME_RE = /^[a-zA-Z0-9-]+$/;
const NAME_MSG = "sidecarset name must consist of alphanumeric characters or '-'";

/** Upstream `validateSidecarSetName`. */
export function sidecarSetNameProblems(name: string): string[] {
  const errs: string[] = [];
  if (!NAME_RE.test(name)) errs.push(regexError(NAME_MSG, NAME_FMT, 'example-com'));
  if (name.length > NAME_MAX_LEN) errs.push(maxLenError(NAME_MAX_LEN));
  return errs;
}

function validateSelector(sel: LabelSelector, path: string): FieldError[] {
  const errs = validateLabelSelector(sel, path);
  if (isEmptySelector(sel)) errs.push(fieldError.invalid(path, sel, 'empty selector is not valid for sidecarset.'));
  return errs;
}

export function validateSidecarSet(set: SidecarSet, old?: SidecarSet): FieldError[] {
  const errs = validateObjectName(set.metadata, 'metadata', sidecarSetNameProblems);
  if (set.metadata?.namespace) errs.push(fieldError.forbidden('metadata.namespace', 'not allowed on this type'));
  const spec = set.spec ?? {};
  if (!spec.selector) errs.push(fieldError.required('spec.selector', 'no selector defined for SidecarSet'));
  else errs.push(...validateSelector(spec.selector, 'spec.selector'));

  const strategy = spec.updateStrategy ?? {};
  const type = strategy.type ?? 'RollingUpdate';
  if (!SIDECARSET_UPDATE_STRATEGY_TYPES.includes(type)) {
    errs.push(fieldError.notSupported('spec.updateStrategy.type', type, SIDECARSET_UPDATE_STRATEGY_TYPES));
  }
  if (type === 'RollingUpdate') {
    if (strategy.selector) errs.push(...validateSelector(strategy.selector, 'spec.updateStrategy.selector'));
    if (strategy.partition != null) {
      errs.push(...validatePositiveIntOrPercent(strategy.partition, 'spec.updateStrategy.partition'));
    }
    if (strategy.maxUnavailable != null) {
      errs.push(...validatePositiveIntOrPercent(strategy.maxUnavailable, 'spec.updateStrategy.maxUnavailable'));
    }
    errs.push(...validateScatterStrategy(strategy.scatterStrategy, 'spec.updateStrategy.scatterStrategy'));
  }

  const { errors: volumeErrs, names: volumeNames } = validateVolumes(spec.volumes, 'spec.volumes');
  errs.push(...volumeErrs);
  const initContainers = spec.initContainers ?? [];
  const containers = spec.containers ?? [];
  if (initContainers.length === 0 && containers.length === 0) {
    errs.push(fieldError.required('spec', 'no initContainer or container defined for SidecarSet'));
  } else {
    containers.forEach((c, i) => errs.push(...validateSidecarContainerPolicies(c, `spec.containers[${i}]`)));
    // Upstream validates a fake Pod, which must have an app container: with only initContainers it adds one.
    const appContainers = containers.length > 0 ? containers : [{ name: 'test', image: 'busybox', imagePullPolicy: 'IfNotPresent' as const }];
    errs.push(...validateContainers(initContainers, appContainers, volumeNames, 'spec'));
  }
  if (old) errs.push(...validateUpgradeTypeImmutable(containers, old.spec?.containers ?? []));
  return errs;
}

function validateSidecarContainerPolicies(c: SidecarContainer, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!POD_INJECT_POLICY_TYPES.includes(c.podInjectPolicy as never)) {
    errs.push(fieldError.invalid(`${path}.podInjectPolicy`, c.podInjectPolicy ?? '', 'unsupported pod inject policy'));
  }
  if (!SHARE_VOLUME_POLICY_TYPES.includes(c.shareVolumePolicy?.type as never)) {
    errs.push(fieldError.invalid(`${path}.shareVolumePolicy`, c.shareVolumePolicy ?? {}, 'unsupported share volume policy'));
  }
  const upgradeType = c.upgradeStrategy?.upgradeType;
  if (upgradeType !== undefined && !SIDECAR_CONTAINER_UPGRADE_TYPES.includes(upgradeType)) {
    errs.push(fieldError.notSupported(`${path}.upgradeStrategy.upgradeType`, upgradeType, SIDECAR_CONTAINER_UPGRADE_TYPES));
  }
  if (upgradeType === 'HotUpgrade' && !c.upgradeStrategy?.hotUpgradeEmptyImage) {
    errs.push(fieldError.required(`${path}.upgradeStrategy.hotUpgradeEmptyImage`,
      'hotUpgradeEmptyImage is required for HotUpgrade containers'));
  }
  return errs;
}

/** Upstream `validateSidecarContainerConflict`: only enforced when the old value is non-empty. */
function validateUpgradeTypeImmutable(containers: readonly SidecarContainer[], oldContainers: readonly SidecarContainer[]): FieldError[] {
  const oldTypes = new Map(oldContainers.map((c) => [c.name, c.upgradeStrategy?.upgradeType ?? '']));
  const errs: FieldError[] = [];
  containers.forEach((c, i) => {
    const before = oldTypes.get(c.name);
    if (before && (c.upgradeStrategy?.upgradeType ?? '') !== before) {
      errs.push(fieldError.invalid(`spec.containers[${i}].upgradeStrategy.upgradeType`, c.name,
        `container ${c.name} upgradeType is immutable`));
    }
  });
  return errs;
}

/** Upstream `isSidecarSetNamespaceDiff`: scopes cannot overlap only when both are set and differ. */
function namespacesDiffer(a: SidecarSet, b: SidecarSet): boolean {
  const x = a.spec?.namespace ?? '';
  const y = b.spec?.namespace ?? '';
  return x !== '' && y !== '' && x !== y;
}

/**
 * Upstream `validateSidecarConflict` against the other SidecarSets of the cluster (any with the same name as `set`
 * is skipped). For each name the first conflicting set in `others` order is reported.
 */
export function validateSidecarSetConflicts(set: SidecarSet, others: readonly SidecarSet[]): FieldError[] {
  const errs: FieldError[] = [];
  const candidates = others.filter((o) => o.metadata.name !== set.metadata.name && !namespacesDiffer(set, o) &&
    set.spec?.selector && o.spec?.selector && selectorsOverlap(set.spec.selector, o.spec.selector));
  const conflictFor = (pick: (o: SidecarSet) => readonly { name: string }[] | undefined, name: string) =>
    candidates.find((o) => (pick(o) ?? []).some((c) => c.name === name));
  for (const c of set.spec?.initContainers ?? []) {
    const other = conflictFor((o) => o.spec?.initContainers, c.name);
    if (other) errs.push(fieldError.invalid('spec.containers', c.name, `container ${c.name} already exist in ${other.metadata.name}`));
  }
  for (const c of set.spec?.containers ?? []) {
    const other = conflictFor((o) => o.spec?.containers, c.name);
    if (other) errs.push(fieldError.invalid('spec.containers', c.name, `container ${c.name} already exist in ${other.metadata.name}`));
  }
  for (const v of set.spec?.volumes ?? []) {
    const other = candidates.find((o) => (o.spec?.volumes ?? []).some((ov) => ov.name === v.name && !semanticDeepEqual(ov, v)));
    if (other) errs.push(fieldError.invalid('spec.volumes', v.name, `volume ${v.name} is in conflict with sidecarset ${other.metadata.name}`));
  }
  return errs;
}
