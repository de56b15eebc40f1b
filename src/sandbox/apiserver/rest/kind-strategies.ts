/**
 * Per-kind rules the generic REST code applies on create and update, as Kubernetes' registry strategies do:
 * what status a new object starts with, whether the body may set status, and which fields are immutable.
 */
import type { FieldError } from '../../../api/field-errors.js';
import { fieldError } from '../../../api/field-errors.js';
import type { KubeObject } from '../../../api/meta.js';
import { isDeepStrictEqual } from 'node:util';
import type { ResourceType } from '../resource-type.js';

/** The status a created object gets when the kind has a status subresource (the body's status is ignored). */
export function initialStatus(t: ResourceType, body: KubeObject): unknown {
  if (!t.builtin) return undefined;
  switch (t.kind) {
    case 'Pod': return { phase: 'Pending' };
    case 'Namespace': return { phase: 'Active' };
    case 'PersistentVolumeClaim': return { phase: 'Pending' };
    case 'Service': return { loadBalancer: {} };
    // Nodes may set status on create (kubelet registers itself with it), as in Kubernetes.
    case 'Node': return body.status;
    case 'CustomResourceDefinition': return undefined;
    default: return {};
  }
}

/** Spec fields of a Pod that may change after creation (Kubernetes' pod update rule). */
export function validatePodUpdate(oldPod: KubeObject, newPod: KubeObject): FieldError[] {
  const strip = (p: KubeObject): unknown => {
    const spec = structuredClone((p.spec ?? {}) as Record<string, unknown>);
    for (const list of ['containers', 'initContainers'] as const) {
      const cs = spec[list];
      if (Array.isArray(cs)) for (const c of cs) if (c && typeof c === 'object') delete (c as Record<string, unknown>).image;
    }
    delete spec.activeDeadlineSeconds;
    delete spec.tolerations;
    delete spec.terminationGracePeriodSeconds;
    // nodeName may be set once, by a binding.
    if (!(oldPod.spec as Record<string, unknown> | undefined)?.nodeName) delete spec.nodeName;
    return spec;
  };
  if (isDeepStrictEqual(strip(oldPod), strip(newPod))) return [];
  return [fieldError.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)')];
}

export function validateBuiltinUpdate(t: ResourceType, oldObj: KubeObject, newObj: KubeObject): FieldError[] {
  if (!t.builtin) return [];
  if (t.kind === 'Pod') return validatePodUpdate(oldObj, newObj);
  if ((t.kind === 'Deployment' || t.kind === 'ReplicaSet' || t.kind === 'StatefulSet' || t.kind === 'DaemonSet') &&
      !isDeepStrictEqual((oldObj.spec as Record<string, unknown> | undefined)?.selector, (newObj.spec as Record<string, unknown> | undefined)?.selector)) {
    return [fieldError.invalid('spec.selector', (newObj.spec as Record<string, unknown> | undefined)?.selector ?? null, 'field is immutable')];
  }
  if (t.kind === 'CustomResourceDefinition') {
    const og = (oldObj.spec as Record<string, unknown> | undefined)?.group;
    const ng = (newObj.spec as Record<string, unknown> | undefined)?.group;
    if (og !== ng) return [fieldError.invalid('spec.group', ng, 'field is immutable')];
  }
  return [];
}

/** Minimal shape checks for built-in kinds that users write by hand. */
export function validateBuiltinCreate(t: ResourceType, obj: KubeObject): FieldError[] {
  if (!t.builtin) return [];
  const errs: FieldError[] = [];
  if (t.kind === 'Pod') {
    const spec = obj.spec as Record<string, unknown> | undefined;
    const containers = spec?.containers;
    if (!Array.isArray(containers) || containers.length === 0) errs.push(fieldError.required('spec.containers'));
    else containers.forEach((c: unknown, i) => {
      const cc = c as Record<string, unknown> | null;
      if (!cc || typeof cc.name !== 'string' || cc.name === '') errs.push(fieldError.required(`spec.containers[${i}].name`));
      if (!cc || typeof cc.image !== 'string' || cc.image === '') errs.push(fieldError.required(`spec.containers[${i}].image`));
    });
  }
  if (t.kind === 'Secret' && obj.data !== undefined) {
    const data = obj.data as Record<string, unknown>;
    for (const [k, v] of Object.entries(data ?? {})) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
        errs.push(fieldError.invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded'));
      }
    }
  }
  return errs;
}
