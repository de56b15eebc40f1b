/**
 * The part of Kubernetes' Pod validation (`ValidatePodTemplateSpec`, `validateContainers`, `ValidateVolumes`) that
 * CloneSet templates and SidecarSet containers go through upstream, with the same paths and messages.
 *
 * Known gap: this is a subset. It checks container/volume names (required, DNS-1123 label, unique across init and
 * app containers), image required, imagePullPolicy and terminationMessagePolicy values, volumeMount names and
 * paths, port numbers and template labels. The rest of Pod validation (resources, probes, security context, …)
 * is left to the API server that eventually creates the Pods.
 */
import { fieldError, type FieldError } from '../field-errors.js';
import type { Container, PodTemplateSpec, Volume } from '../pod-types.js';
import { isDNS1123Label, validateLabels } from './k8s-validation.js';

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];

/** ValidateVolumes (names only): returns the errors and the set of volume names for mount checks. */
export function validateVolumes(volumes: readonly Volume[] | undefined, path: string): { errors: FieldError[]; names: Set<string> } {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  (volumes ?? []).forEach((v, i) => {
    const p = `${path}[${i}].name`;
    if (!v.name) errors.push(fieldError.required(p, ''));
    else for (const m of isDNS1123Label(v.name)) errors.push(fieldError.invalid(p, v.name, m));
    if (v.name && names.has(v.name)) errors.push(fieldError.duplicate(p, v.name));
    if (v.name) names.add(v.name);
  });
  return { errors, names };
}

function validateContainerList(
  containers: readonly Container[], path: string, volumeNames: ReadonlySet<string>, allNames: Set<string>,
): FieldError[] {
  const errs: FieldError[] = [];
  containers.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c.name) {
      errs.push(fieldError.required(`${p}.name`, ''));
    } else {
      for (const m of isDNS1123Label(c.name)) errs.push(fieldError.invalid(`${p}.name`, c.name, m));
      if (allNames.has(c.name)) errs.push(fieldError.duplicate(`${p}.name`, c.name));
      allNames.add(c.name);
    }
    if (!c.image) errs.push(fieldError.required(`${p}.image`, ''));
    if (!c.imagePullPolicy) errs.push(fieldError.required(`${p}.imagePullPolicy`, ''));
    else if (!PULL_POLICIES.includes(c.imagePullPolicy)) {
      errs.push(fieldError.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
    }
    if (c.terminationMessagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
      errs.push(fieldError.notSupported(`${p}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));
    }
    (c.ports ?? []).forEach((port, j) => {
      const n = port.containerPort;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
        errs.push(fieldError.invalid(`${p}.ports[${j}].containerPort`, n, 'must be between 1 and 65535, inclusive'));
      }
    });
    const mountPaths = new Set<string>();
    (c.volumeMounts ?? []).forEach((m, j) => {
      const mp = `${p}.volumeMounts[${j}]`;
      if (!m.name) errs.push(fieldError.required(`${mp}.name`, ''));
      else if (!volumeNames.has(m.name)) errs.push(fieldError.notFound(`${mp}.name`, m.name));
      if (!m.mountPath) errs.push(fieldError.required(`${mp}.mountPath`, ''));
      else if (mountPaths.has(m.mountPath)) errs.push(fieldError.invalid(`${mp}.mountPath`, m.mountPath, 'must be unique'));
      if (m.mountPath) mountPaths.add(m.mountPath);
    });
  });
  return errs;
}

/**
 * validateInitContainers + validateContainers over one Pod: names must be unique across both lists; app
 * containers must not be empty (`Required value` on `<path>.containers`).
 */
export function validateContainers(
  initContainers: readonly Container[] | undefined, containers: readonly Container[] | undefined,
  volumeNames: ReadonlySet<string>, specPath: string,
): FieldError[] {
  const allNames = new Set<string>();
  const errs = validateContainerList(initContainers ?? [], `${specPath}.initContainers`, volumeNames, allNames);
  if (!containers || containers.length === 0) errs.push(fieldError.required(`${specPath}.containers`, ''));
  else errs.push(...validateContainerList(containers, `${specPath}.containers`, volumeNames, allNames));
  return errs;
}

/** ValidatePodTemplateSpec (subset). `extraVolumeNames` are volumes that exist implicitly (CloneSet PVC templates). */
export function validatePodTemplate(
  template: PodTemplateSpec | undefined, path: string, extraVolumeNames: readonly string[] = [],
): FieldError[] {
  if (!template?.spec) return [fieldError.required(`${path}.spec`, '')];
  const errs = validateLabels(template.metadata?.labels, `${path}.metadata.labels`);
  const implicit: Volume[] = extraVolumeNames.map((name) => ({ name }));
  const { errors, names } = validateVolumes([...(template.spec.volumes ?? []), ...implicit], `${path}.spec.volumes`);
  errs.push(...errors);
  errs.push(...validateContainers(template.spec.initContainers, template.spec.containers, names, `${path}.spec`));
  return errs;
}
