/**
 * The admission.k8s.io/v1 AdmissionReview sent to a webhook and the checks on what comes back
 * (webhook/request.CreateV1AdmissionReview and VerifyAdmissionResponse). Error texts are the kube-apiserver's;
 * the chain prefixes them with `received invalid webhook response: `.
 */
import type { KubeObject } from '../../../api/meta.js';
import type { AdmissionAttributes, GroupVersionKind, GroupVersionResource } from './types.js';

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind: GroupVersionKind;
  requestResource: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionAttributes['operation'];
  userInfo: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  options: object | null;
}

export interface AdmissionReviewRequest {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

/**
 * The review as Go's encoder writes it: empty strings and lists omitted (`omitempty`), absent objects as `null`
 * (RawExtension). A DELETE carries `oldObject` and `object: null`. Without matchPolicy Equivalent the request
 * kind/resource equal the matched ones.
 */
export function buildAdmissionReview(uid: string, attrs: AdmissionAttributes): AdmissionReviewRequest {
  const userInfo: AdmissionRequest['userInfo'] = {};
  if (attrs.userInfo.username !== '') userInfo.username = attrs.userInfo.username;
  if (attrs.userInfo.uid) userInfo.uid = attrs.userInfo.uid;
  if (attrs.userInfo.groups.length > 0) userInfo.groups = [...attrs.userInfo.groups];
  if (attrs.userInfo.extra && Object.keys(attrs.userInfo.extra).length > 0) userInfo.extra = structuredClone(attrs.userInfo.extra);
  const request: AdmissionRequest = {
    uid,
    kind: { ...attrs.kind },
    resource: { ...attrs.resource },
    requestKind: { ...attrs.kind },
    requestResource: { ...attrs.resource },
    operation: attrs.operation,
    userInfo,
    object: attrs.object === undefined ? null : structuredClone(attrs.object),
    oldObject: attrs.oldObject === undefined ? null : structuredClone(attrs.oldObject),
    dryRun: attrs.dryRun,
    options: attrs.options === undefined ? null : structuredClone(attrs.options),
  };
  if (attrs.subResource !== '') {
    request.subResource = attrs.subResource;
    request.requestSubResource = attrs.subResource;
  }
  if (attrs.name !== '') request.name = attrs.name;
  if (attrs.namespace !== '') request.namespace = attrs.namespace;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/** A webhook's `response.status` (metav1.Status), unchecked. */
export interface ResultStatus {
  code?: unknown;
  message?: unknown;
  reason?: unknown;
  details?: unknown;
  status?: unknown;
}

export interface VerifiedResponse {
  allowed: boolean;
  result: ResultStatus | undefined;
  /** Decoded bytes of `response.patch`, or undefined when there is none. */
  patch: Buffer | undefined;
  patchType: string | undefined;
  warnings: string[];
  auditAnnotations: Record<string, string>;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go's GroupVersionKind.String() for an apiVersion/kind pair: `group/version, Kind=kind`. */
function gvkString(apiVersion: unknown, kind: unknown): string {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = av.indexOf('/');
  const group = slash < 0 ? '' : av.slice(0, slash);
  const version = slash < 0 ? av : av.slice(slash + 1);
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
}

/** Throws an Error with the kube-apiserver's text when the review is not a valid answer to `uid`. */
export function verifyAdmissionResponse(uid: string, mutating: boolean, review: unknown): VerifiedResponse {
  const response = isRecord(review) ? review['response'] : undefined;
  if (!isRecord(response)) throw new Error('webhook response was absent');
  const gotUid = typeof response['uid'] === 'string' ? response['uid'] : '';
  if (gotUid !== uid) throw new Error(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(gotUid)}`);
  const r = review as Record<string, unknown>;
  if (r['apiVersion'] !== 'admission.k8s.io/v1' || r['kind'] !== 'AdmissionReview') {
    throw new Error(`expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${gvkString(r['apiVersion'], r['kind'])}`);
  }
  const rawPatch = response['patch'];
  const rawPatchType = response['patchType'];
  const hasPatch = typeof rawPatch === 'string' && rawPatch !== '';
  const hasPatchType = rawPatchType !== undefined && rawPatchType !== null;
  if (rawPatch !== undefined && rawPatch !== null && typeof rawPatch !== 'string') throw new Error('response.patch must be a base64 string');
  let patch: Buffer | undefined;
  let patchType: string | undefined;
  if (mutating) {
    if (hasPatch && !hasPatchType) throw new Error('webhook returned response.patch but not response.patchType');
    if (!hasPatch && hasPatchType) throw new Error('webhook returned response.patchType but not response.patch');
    if (hasPatchType) {
      if (typeof rawPatchType !== 'string' || rawPatchType === '') {
        throw new Error(`webhook returned invalid response.patchType of ${JSON.stringify(typeof rawPatchType === 'string' ? rawPatchType : '')}`);
      }
      patchType = rawPatchType;
    }
    if (hasPatch) {
      const compact = rawPatch.replace(/\s+/g, '');
      if (!BASE64.test(compact) || compact.length % 4 !== 0) throw new Error('illegal base64 data in response.patch');
      patch = Buffer.from(compact, 'base64');
    }
  } else {
    if (hasPatch) throw new Error('validating webhook may not return response.patch');
    if (hasPatchType) throw new Error('validating webhook may not return response.patchType');
  }
  const warnings = Array.isArray(response['warnings'])
    ? response['warnings'].filter((w): w is string => typeof w === 'string')
    : [];
  const auditAnnotations: Record<string, string> = {};
  if (isRecord(response['auditAnnotations'])) {
    for (const [k, v] of Object.entries(response['auditAnnotations'])) if (typeof v === 'string') auditAnnotations[k] = v;
  }
  return {
    allowed: response['allowed'] === true,
    result: isRecord(response['status']) ? response['status'] : undefined,
    patch,
    patchType,
    warnings,
    auditAnnotations,
  };
}
