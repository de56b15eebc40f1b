/**
 * The transport-free handler layer of the coordinator's admission webhooks: an AdmissionReview v1 request in, an
 * AdmissionResponse out. The HTTPS server (webhook-server.ts) owns decoding, uid, time bounds and crash safety;
 * handlers own only the Kruise rules, so they are tested as plain functions with fake lookups.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/index.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind { group: string; version: string; kind: string }
export interface GroupVersionResource { group: string; version: string; resource: string }

/** admission.k8s.io/v1 AdmissionRequest, as the server has checked it (uid, kind, operation present). */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  /** The object after the operation; null for DELETE. Unchecked JSON: handlers decode it. */
  object?: unknown;
  /** The object before the operation (UPDATE, DELETE). Unchecked JSON. */
  oldObject?: unknown;
  dryRun?: boolean;
}

/** metav1.Status as carried in `response.status`. */
export interface ResultStatus {
  code: number;
  message: string;
  reason?: string;
  details?: { causes?: { type?: string; field?: string; message?: string }[] };
}

/** admission.k8s.io/v1 AdmissionResponse without the uid, which the server copies from the request. */
export interface AdmissionResponse {
  allowed: boolean;
  status?: ResultStatus;
  /** A JSON patch (RFC 6902) against the request's object; mutating webhooks only. */
  patch?: readonly JsonPatchOperation[];
  warnings?: string[];
}

export type JsonPatchOperation =
  | { op: 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export interface HandlerContext {
  /** Aborted when the request's time bound passes or the server is closing; pass it to every lookup. */
  signal: AbortSignal;
  logger: Logger;
  /** The wall clock, injected (NodeImage `createdAt` defaults). */
  now(): Date;
}

export type AdmissionHandler = (request: AdmissionRequest, ctx: HandlerContext) => Promise<AdmissionResponse>;

/** Type guard for JSON objects (not arrays, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The minimal decode every handler does before touching an object, standing in for the Go decoder: a JSON object
 * with an object `metadata` (and, when `specRequired`, a `spec` object, defaulted to `{}` when absent, as Go's
 * zero value). Anything else is a DecodeError, answered with 400 like upstream's `admission.Errored(400, err)`.
 */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

export function decodeObject<T extends KubeObject>(raw: unknown, what: string, withSpec = true): T {
  if (!isRecord(raw)) throw new DecodeError(`there is no content to decode in ${what}`);
  if (raw['metadata'] !== undefined && !isRecord(raw['metadata'])) throw new DecodeError(`${what}.metadata must be an object`);
  const copy = structuredClone(raw);
  copy['metadata'] ??= {};
  if (withSpec) {
    if (copy['spec'] === undefined || copy['spec'] === null) copy['spec'] = {};
    else if (!isRecord(copy['spec'])) throw new DecodeError(`${what}.spec must be an object`);
  }
  const meta = copy['metadata'] as Record<string, unknown>;
  if (meta['labels'] !== undefined && !isStringMap(meta['labels'])) throw new DecodeError(`${what}.metadata.labels must be a map of strings`);
  return copy as T;
}

function isStringMap(value: unknown): boolean {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}
