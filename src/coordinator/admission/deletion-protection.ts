/**
 * ResourcesDeletionProtection (spec §1): validating handlers for DELETE of Namespace, CustomResourceDefinition,
 * Deployment / ReplicaSet / StatefulSet, Service and Ingress, the decision shared with CloneSet's validator, and
 * the create/update warning for label values that protect nothing.
 *
 * Our choices (spec README, "Deletion protection"): v0.9.0 kinds and messages, plus main's Namespace rule for
 * Bound PVCs and `Always` for Service and Ingress; Cascading on a CRD needs no extra gate (v0.9.0); a label value
 * other than `Always`/`Cascading` is allowed but warned about on create and update (upstream silently ignores a
 * typo like `always`); every denial is counted.
 */
import {
  DELETION_PROTECTION_ALWAYS, DELETION_PROTECTION_CASCADING, DELETION_PROTECTION_LABEL,
  type FeatureGates, type KubeObject, type Pod,
} from '../../api/index.js';
import type { AdmissionLookups, CustomResourceListTarget } from './lookups.js';
import type { DeletionDenialRecorder } from './metrics.js';
import { allowed, errored } from './responses.js';
import {
  decodeObject, DecodeError, isRecord,
  type AdmissionHandler, type AdmissionRequest, type AdmissionResponse, type HandlerContext,
} from './types.js';

export interface DeletionProtectionOptions {
  gates: FeatureGates;
  lookups: AdmissionLookups;
  metrics?: DeletionDenialRecorder;
}

const PREFIX = 'forbidden by ResourcesProtectionDeletion for';
const FORBIDDEN = 403;

function labelOf(obj: KubeObject): string | undefined {
  return obj.metadata.labels?.[DELETION_PROTECTION_LABEL];
}

function alwaysMessage(): string {
  return `${PREFIX} ${DELETION_PROTECTION_LABEL}=${DELETION_PROTECTION_ALWAYS}`;
}

function cascadingMessage(what: string, count: number): string {
  return `${PREFIX} ${DELETION_PROTECTION_LABEL}=${DELETION_PROTECTION_CASCADING} and ${what} ${count}>0`;
}

/**
 * The workload rule (upstream `ValidateWorkloadDeletion`): the denial message, or undefined to allow. Only the
 * desired `spec.replicas` counts; nil replicas under Cascading allow.
 */
export function workloadDeletionDenial(gates: FeatureGates, obj: KubeObject, replicas: number | undefined): string | undefined {
  if (!gates.enabled('ResourcesDeletionProtection') || obj.metadata.deletionTimestamp) return undefined;
  const value = labelOf(obj);
  if (value === DELETION_PROTECTION_ALWAYS) return alwaysMessage();
  if (value === DELETION_PROTECTION_CASCADING && replicas !== undefined && replicas > 0) return cascadingMessage('replicas', replicas);
  return undefined;
}

/** Service and Ingress: only `Always` protects (main, v1.6.0+). */
export function alwaysOnlyDeletionDenial(gates: FeatureGates, obj: KubeObject): string | undefined {
  if (!gates.enabled('ResourcesDeletionProtection') || obj.metadata.deletionTimestamp) return undefined;
  return labelOf(obj) === DELETION_PROTECTION_ALWAYS ? alwaysMessage() : undefined;
}

/** Spec §0.3 "active": not Succeeded/Failed and not terminating. */
function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** Upstream `ValidateNamespaceDeletion` (main: with the Bound-PVC rule). */
export async function namespaceDeletionDenial(o: DeletionProtectionOptions, ns: KubeObject, signal: AbortSignal): Promise<string | undefined> {
  if (!o.gates.enabled('ResourcesDeletionProtection') || ns.metadata.deletionTimestamp) return undefined;
  const value = labelOf(ns);
  if (value === DELETION_PROTECTION_ALWAYS) return alwaysMessage();
  if (value !== DELETION_PROTECTION_CASCADING) return undefined;
  const name = ns.metadata.name ?? '';
  let pods: Pod[];
  try {
    pods = await o.lookups.listPods(name, signal);
  } catch (e) {
    signal.throwIfAborted();
    return `${PREFIX} list pods error: ${errorText(e)}`;
  }
  const active = pods.filter(isPodActive).length;
  if (active > 0) return cascadingMessage('active pods', active);
  let pvcs;
  try {
    pvcs = await o.lookups.listPersistentVolumeClaims(name, signal);
  } catch (e) {
    signal.throwIfAborted();
    return `${PREFIX} list pvc error: ${errorText(e)}`;
  }
  const bound = pvcs.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Bound').length;
  if (bound > 0) return cascadingMessage('"Bound" status pvc', bound);
  return undefined;
}

/** The CRD's storage version and names (v1 `spec.versions[].storage`, v1beta1 `spec.version` as a fallback). */
export function crdListTarget(crd: KubeObject): CustomResourceListTarget | Error {
  const spec = isRecord(crd['spec']) ? crd['spec'] : {};
  const names = isRecord(spec['names']) ? spec['names'] : {};
  const group = typeof spec['group'] === 'string' ? spec['group'] : '';
  const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isRecord) : [];
  const storage = versions.find((v) => v['storage'] === true)?.['name'] ?? spec['version'];
  const kind = typeof names['kind'] === 'string' ? names['kind'] : '';
  const listKind = typeof names['listKind'] === 'string' && names['listKind'] !== '' ? names['listKind'] : `${kind}List`;
  const plural = typeof names['plural'] === 'string' ? names['plural'] : '';
  if (typeof storage !== 'string' || storage === '' || plural === '' || group === '') {
    return new Error(`no storage version or names in CustomResourceDefinition ${crd.metadata.name ?? ''}`);
  }
  return { group, version: storage, plural, kind, listKind, namespaced: spec['scope'] !== 'Cluster' };
}

/** Go's GroupVersionKind.String(). */
function gvkText(t: { group: string; version: string; listKind: string }): string {
  return `${t.group}/${t.version}, Kind=${t.listKind}`;
}

/** Upstream `ValidateCRDDeletion` (v0.9.0: Cascading needs no extra gate). Listing failures fail closed. */
export async function crdDeletionDenial(o: DeletionProtectionOptions, crd: KubeObject, signal: AbortSignal): Promise<string | undefined> {
  if (!o.gates.enabled('ResourcesDeletionProtection') || crd.metadata.deletionTimestamp) return undefined;
  const value = labelOf(crd);
  if (value === DELETION_PROTECTION_ALWAYS) return alwaysMessage();
  if (value !== DELETION_PROTECTION_CASCADING) return undefined;
  const target = crdListTarget(crd);
  if (target instanceof Error) return `failed to list CRs of ${crd.metadata.name ?? ''}: ${target.message}`;
  let items: KubeObject[];
  try {
    items = await o.lookups.listCustomResources(target, signal);
  } catch (e) {
    signal.throwIfAborted();
    return `failed to list CRs of ${gvkText(target)}: ${errorText(e)}`;
  }
  const active = items.filter((i) => !i.metadata?.deletionTimestamp).length;
  return active > 0 ? cascadingMessage('active CRs', active) : undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The DELETE preamble every deletion handler shares (spec §1.3 steps 1–3): not a DELETE or a subresource →
 * allow; no oldObject (Kubernetes < 1.16) → allow with a log line; an undecodable oldObject → 400.
 */
function oldObjectForDelete(req: AdmissionRequest, ctx: HandlerContext, withSpec: boolean): KubeObject | AdmissionResponse {
  if (req.operation !== 'DELETE' || (req.subResource ?? '') !== '') return allowed();
  if (req.oldObject === undefined || req.oldObject === null) {
    ctx.logger.warn({ kind: req.kind.kind, namespace: req.namespace, name: req.name },
      'skip deletion protection: no oldObject in the review (Kubernetes < 1.16?)');
    return allowed();
  }
  try {
    return decodeObject<KubeObject>(req.oldObject, 'oldObject', withSpec);
  } catch (e) {
    if (e instanceof DecodeError) return errored(400, e.message);
    throw e;
  }
}

function isResponse(v: KubeObject | AdmissionResponse): v is AdmissionResponse {
  return typeof (v as AdmissionResponse).allowed === 'boolean';
}

/** Turns a decision into the response, counting and logging a denial. */
export function deletionDecision(o: { metrics?: DeletionDenialRecorder }, req: AdmissionRequest, ctx: HandlerContext, obj: KubeObject,
  denial: string | undefined): AdmissionResponse {
  if (denial === undefined) return allowed();
  const namespace = obj.metadata.namespace ?? '';
  const name = obj.metadata.name ?? '';
  o.metrics?.deletionDenied(req.kind.kind, namespace, name);
  ctx.logger.info({ kind: req.kind.kind, namespace, name, user: req.userInfo?.username, message: denial }, 'deletion denied by protection label');
  return errored(FORBIDDEN, denial);
}

/** `/validate-namespace`. */
export function namespaceDeletionHandler(o: DeletionProtectionOptions): AdmissionHandler {
  return async (req, ctx) => {
    const ns = oldObjectForDelete(req, ctx, false);
    if (isResponse(ns)) return ns;
    return deletionDecision(o, req, ctx, ns, await namespaceDeletionDenial(o, ns, ctx.signal));
  };
}

/** `/validate-customresourcedefinition`. */
export function crdDeletionHandler(o: DeletionProtectionOptions): AdmissionHandler {
  return async (req, ctx) => {
    const crd = oldObjectForDelete(req, ctx, true);
    if (isResponse(crd)) return crd;
    return deletionDecision(o, req, ctx, crd, await crdDeletionDenial(o, crd, ctx.signal));
  };
}

const WORKLOAD_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet']);

/** `spec.replicas` of a decoded object: undefined when absent or null; a DecodeError when not an integer. */
export function specReplicas(obj: KubeObject): number | undefined {
  const spec = isRecord(obj['spec']) ? obj['spec'] : {};
  const r = spec['replicas'];
  if (r === undefined || r === null) return undefined;
  if (typeof r !== 'number' || !Number.isInteger(r)) throw new DecodeError('spec.replicas must be an integer');
  return r;
}

/** `/validate-apps-deployment`, `/validate-apps-replicaset`, `/validate-apps-statefulset`. */
export function workloadDeletionHandler(o: DeletionProtectionOptions): AdmissionHandler {
  return (req, ctx) => {
    const obj = oldObjectForDelete(req, ctx, true);
    if (isResponse(obj)) return Promise.resolve(obj);
    if (!WORKLOAD_KINDS.has(req.kind.kind)) {
      ctx.logger.warn({ kind: req.kind.kind }, 'deletion protection: unsupported kind reached the workload handler, allowing');
      return Promise.resolve(allowed());
    }
    let replicas: number | undefined;
    try {
      replicas = specReplicas(obj);
    } catch (e) {
      if (e instanceof DecodeError) return Promise.resolve(errored(400, e.message));
      throw e;
    }
    return Promise.resolve(deletionDecision(o, req, ctx, obj, workloadDeletionDenial(o.gates, obj, replicas)));
  };
}

/** `/validate-service`, `/validate-ingress`: `Always` only. */
export function alwaysOnlyDeletionHandler(o: DeletionProtectionOptions): AdmissionHandler {
  return (req, ctx) => {
    const obj = oldObjectForDelete(req, ctx, false);
    if (isResponse(obj)) return Promise.resolve(obj);
    return Promise.resolve(deletionDecision(o, req, ctx, obj, alwaysOnlyDeletionDenial(o.gates, obj)));
  };
}

/** Kinds on which only `Always` protects. */
const ALWAYS_ONLY_KINDS = new Set(['Service', 'Ingress']);

/**
 * The warnings for an object about to be created or updated with a label value that protects nothing (our
 * addition: upstream accepts `always`, `true`, `""` silently). Empty when the label is absent or valid.
 */
export function deletionProtectionLabelWarnings(kind: string, obj: unknown): string[] {
  if (!isRecord(obj) || !isRecord(obj['metadata']) || !isRecord(obj['metadata']['labels'])) return [];
  const value = obj['metadata']['labels'][DELETION_PROTECTION_LABEL];
  if (value === undefined) return [];
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (ALWAYS_ONLY_KINDS.has(kind)) {
    if (value === DELETION_PROTECTION_ALWAYS) return [];
    const a = kind === 'Ingress' ? 'an' : 'a';
    return [`label ${DELETION_PROTECTION_LABEL}=${JSON.stringify(text)} gives ${a} ${kind} no deletion protection: ` +
      `the only valid value for ${a} ${kind} is "${DELETION_PROTECTION_ALWAYS}"`];
  }
  if (value === DELETION_PROTECTION_ALWAYS || value === DELETION_PROTECTION_CASCADING) return [];
  return [`label ${DELETION_PROTECTION_LABEL}=${JSON.stringify(text)} gives no deletion protection: ` +
    `valid values are "${DELETION_PROTECTION_ALWAYS}" and "${DELETION_PROTECTION_CASCADING}"`];
}

/**
 * `/warn-deletion-protection-label`: always allows; on CREATE and UPDATE returns the warnings above. Its webhook
 * selects only objects whose label value is neither valid value and is failurePolicy Ignore, so it can never
 * block a write.
 */
export function deletionProtectionLabelWarningHandler(): AdmissionHandler {
  return (req) => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return Promise.resolve(allowed());
    return Promise.resolve(allowed(deletionProtectionLabelWarnings(req.kind.kind, req.object)));
  };
}
