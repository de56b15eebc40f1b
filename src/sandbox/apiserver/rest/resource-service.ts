/**
 * Kubernetes REST semantics over Storage, free of HTTP: create, get, list, update, patch, delete and their
 * status/scale variants, with admission, schema checks, generation, finalizers and optimistic concurrency.
 * The HTTP layer parses requests into calls here and renders results or ApiErrors.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { FieldError } from '../../../api/field-errors.js';
import { fieldError } from '../../../api/field-errors.js';
import type { KubeObject, ObjectMeta } from '../../../api/meta.js';
import { ApiError, apiErrors } from '../api-error.js';
import { KINDS_WITH_GENERATION } from '../builtin-resources.js';
import type { ResourceRegistry } from '../resource-registry.js';
import type { ResourceType } from '../resource-type.js';
import { apiVersionOf, resourceKey } from '../resource-type.js';
import type { Storage, StoredEntry } from '../storage/storage.js';
import { initialStatus, validateBuiltinCreate, validateBuiltinUpdate } from './kind-strategies.js';
import { nameRuleFor, validateObjectMeta } from './object-meta-validation.js';
import type { AdmissionPort, AdmissionRequestAttributes, Operation, PatchPort, PatchType, SchemaPort } from './ports.js';
import type { RequestContext } from './request-context.js';

export interface Clock { now(): Date }

export interface ResourceServiceDeps {
  storage: Storage;
  registry: ResourceRegistry;
  admission: AdmissionPort;
  schemas: SchemaPort;
  patches: PatchPort;
  clock: Clock;
  /** Defaulting and validation of built-in kinds that need more than shape checks (CustomResourceDefinition). */
  kindHooks?: KindHooks;
}

export interface KindHooks {
  default?(t: ResourceType, obj: KubeObject): KubeObject;
  validate?(t: ResourceType, obj: KubeObject, old?: KubeObject): FieldError[];
}

export type Subresource = '' | 'status';

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
}

export interface DeleteResult {
  /** The object as it now is (terminating) or as it was when removed. */
  object: KubeObject;
  /** True when the object is gone from storage; false when it waits for finalizers or a grace period. */
  removed: boolean;
}

const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_ATTEMPTS = 8;
const PATCH_CONFLICT_RETRIES = 5;

export const FINALIZER_FOREGROUND = 'foregroundDeletion';
export const FINALIZER_ORPHAN = 'orphan';

export function formatTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function qualifiedKind(t: ResourceType): string {
  return t.group === '' ? t.kind : `${t.kind}.${t.group}`;
}

export class ResourceService {
  constructor(private readonly deps: ResourceServiceDeps) {}

  get storage(): Storage { return this.deps.storage; }
  get registry(): ResourceRegistry { return this.deps.registry; }
  now(): Date { return this.deps.clock.now(); }

  /** The stored object rendered in the version `t` asks for (CRD versions convert with strategy None). */
  present(t: ResourceType, obj: KubeObject): KubeObject {
    const apiVersion = apiVersionOf(t);
    return obj.apiVersion === apiVersion ? obj : { ...obj, apiVersion };
  }

  presentJson(t: ResourceType, entry: StoredEntry): string {
    return entry.object.apiVersion === apiVersionOf(t) ? entry.json : JSON.stringify(this.present(t, entry.object));
  }

  private storageApiVersion(t: ResourceType): string {
    const v = this.deps.registry.storageVersionOf(resourceKey(t)) ?? t.version;
    return t.group === '' ? v : `${t.group}/${v}`;
  }

  getEntry(t: ResourceType, namespace: string, name: string): StoredEntry {
    const e = this.deps.storage.get(resourceKey(t), t.namespaced ? namespace : '', name);
    if (!e) throw apiErrors.notFound({ group: t.group, resource: t.plural }, name);
    return e;
  }

  get(t: ResourceType, namespace: string, name: string): KubeObject {
    return this.present(t, this.getEntry(t, namespace, name).object);
  }

  // ---------------------------------------------------------------- create

  async create(t: ResourceType, namespace: string, body: unknown, ctx: RequestContext, subresource: Subresource = ''): Promise<KubeObject> {
    if (subresource !== '') throw apiErrors.methodNotAllowed(`the server does not allow this method on the requested resource`);
    let obj = this.decode(t, body, ctx.bodyOwned === true);
    const meta = obj.metadata;
    if (t.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw apiErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace || meta.namespace || '';
      if (!meta.namespace) throw apiErrors.badRequest('the namespace of the provided object must be set');
      this.checkNamespaceAcceptsContent(meta.namespace);
    } else if (meta.namespace) {
      delete meta.namespace;
    }
    if (meta.resourceVersion) throw apiErrors.badRequest('resourceVersion should not be set on objects to be created');
    for (const sysField of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink'] as const) {
      delete (meta as Record<string, unknown>)[sysField];
    }
    delete meta.managedFields;
    if (t.subresources.status) {
      const status = initialStatus(t, obj);
      if (status === undefined) delete obj.status; else obj.status = status;
    }
    obj = this.applySchema(t, obj, ctx);
    obj = this.deps.kindHooks?.default?.(t, obj) ?? obj;

    const mutated = await this.deps.admission.mutate(this.attributes(t, 'CREATE', '', obj, undefined, ctx));
    ctx.warnings.push(...mutated.warnings);
    if (mutated.object && mutated.object !== obj) obj = this.applySchema(t, this.decode(t, mutated.object), { ...ctx, fieldValidation: 'Ignore' });

    const now = this.now();
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = formatTime(now);
    if (this.tracksGeneration(t)) obj.metadata.generation = 1;
    obj.apiVersion = this.storageApiVersion(t);

    const errs = [
      ...validateObjectMeta(obj.metadata, { namespaced: t.namespaced, nameRule: nameRuleFor(t.kind) }),
      ...validateBuiltinCreate(t, obj),
      ...this.validateSchema(t, obj),
      ...(this.deps.kindHooks?.validate?.(t, obj) ?? []),
    ];
    if (errs.length > 0) throw apiErrors.invalid(t.group, t.kind, obj.metadata.name || obj.metadata.generateName || '', errs);

    const generate = !obj.metadata.name;
    for (let attempt = 0; ; attempt++) {
      if (generate) obj.metadata.name = `${obj.metadata.generateName ?? ''}${randomSuffix()}`;
      const validated = await this.deps.admission.validate(this.attributes(t, 'CREATE', '', obj, undefined, ctx));
      ctx.warnings.push(...validated.warnings);
      if (ctx.dryRun) {
        if (this.deps.storage.get(resourceKey(t), obj.metadata.namespace ?? '', obj.metadata.name!)) {
          throw apiErrors.alreadyExists({ group: t.group, resource: t.plural }, obj.metadata.name!);
        }
        return this.present(t, obj);
      }
      if (t.namespaced) this.checkNamespaceAcceptsContent(obj.metadata.namespace!);
      const entry = this.deps.storage.create(resourceKey(t), obj);
      if (entry) return this.present(t, entry.object);
      if (!generate || attempt + 1 >= GENERATE_NAME_ATTEMPTS) {
        throw apiErrors.alreadyExists({ group: t.group, resource: t.plural }, obj.metadata.name!);
      }
    }
  }

  // ---------------------------------------------------------------- update

  async update(t: ResourceType, namespace: string, name: string, body: unknown, ctx: RequestContext, subresource: Subresource = ''): Promise<KubeObject> {
    const incoming = this.decode(t, body, ctx.bodyOwned === true);
    if (incoming.metadata.name && incoming.metadata.name !== name) {
      throw apiErrors.badRequest(`the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (t.namespaced && incoming.metadata.namespace && incoming.metadata.namespace !== namespace) {
      throw apiErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const current = this.getEntry(t, namespace, name);
    const rvText = incoming.metadata.resourceVersion;
    let expected: number | undefined;
    if (rvText !== undefined && rvText !== '') {
      expected = parseResourceVersion(rvText, 'metadata.resourceVersion');
      if (expected !== current.resourceVersion) throw this.conflict(t, name);
    } else if (!t.builtin) {
      throw apiErrors.invalid(t.group, t.kind, name, [fieldError.invalid('metadata.resourceVersion', '0x0', 'must be specified for an update')]);
    }
    return this.commitUpdate(t, current, incoming, ctx, subresource, expected ?? current.resourceVersion);
  }

  /**
   * Applies a patch to the current object and commits it. Without a resourceVersion in the patch, a conflict with
   * a concurrent writer is retried against the new state, as the API server does.
   */
  async patch(t: ResourceType, namespace: string, name: string, type: PatchType, patch: unknown, ctx: RequestContext, subresource: Subresource = ''): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const current = this.getEntry(t, namespace, name);
      const original = this.present(t, current.object);
      const patched = this.deps.patches.apply(type, original, patch, t);
      const rvText = patched.metadata?.resourceVersion;
      const userPinned = rvText !== undefined && rvText !== current.object.metadata.resourceVersion;
      let expected = current.resourceVersion;
      if (userPinned) {
        expected = parseResourceVersion(rvText, 'metadata.resourceVersion');
        if (expected !== current.resourceVersion) throw this.conflict(t, name);
      }
      try {
        // Patch engines return new documents: ours to change.
        return await this.commitUpdate(t, current, this.decode(t, patched, true), ctx, subresource, expected);
      } catch (e) {
        const uidMismatch = patched.metadata?.uid !== undefined && patched.metadata.uid !== current.object.metadata.uid;
        if (!userPinned && !uidMismatch && ApiError.is(e) && e.reason === 'Conflict' && attempt < PATCH_CONFLICT_RETRIES) continue;
        throw e;
      }
    }
  }

  private async commitUpdate(t: ResourceType, current: StoredEntry, incoming: KubeObject, ctx: RequestContext, subresource: Subresource, expected: number): Promise<KubeObject> {
    const old = current.object;
    // A uid in the body is a precondition, as Kubernetes' storage makes it: a write meant for an object that was
    // deleted and recreated under the same name must not land on the new one.
    const uid = incoming.metadata?.uid;
    if (uid && uid !== old.metadata.uid) {
      throw apiErrors.conflict({ group: t.group, resource: t.plural }, old.metadata.name ?? '',
        `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${old.metadata.uid ?? ''}`);
    }
    let obj = this.mergeForUpdate(t, old, incoming, subresource);
    obj = subresource === '' ? this.applySchema(t, obj, ctx) : obj;
    if (subresource === '') obj = this.deps.kindHooks?.default?.(t, obj) ?? obj;

    const mutated = await this.deps.admission.mutate(this.attributes(t, 'UPDATE', subresource, obj, old, ctx));
    ctx.warnings.push(...mutated.warnings);
    if (mutated.object && mutated.object !== obj) obj = this.mergeForUpdate(t, old, this.applySchema(t, this.decode(t, mutated.object), { ...ctx, fieldValidation: 'Ignore' }), subresource);

    if (this.tracksGeneration(t) && specChanged(t, old, obj)) obj.metadata.generation = (old.metadata.generation ?? 0) + 1;

    const errs: FieldError[] = [
      ...validateObjectMeta(obj.metadata, { namespaced: t.namespaced, nameRule: nameRuleFor(t.kind) }),
      ...validateBuiltinUpdate(t, old, obj),
      ...this.validateSchema(t, obj),
      ...(subresource === '' ? this.deps.kindHooks?.validate?.(t, obj, old) ?? [] : []),
    ];
    if (old.metadata.deletionTimestamp) {
      const added = (obj.metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        errs.push(fieldError.forbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`));
      }
    }
    if (errs.length > 0) throw apiErrors.invalid(t.group, t.kind, old.metadata.name ?? '', errs);

    // A write that changes nothing is not a write: no new resourceVersion, no watch event.
    if (isDeepStrictEqual(withoutRv(obj), withoutRv(old))) return this.present(t, old);

    const validated = await this.deps.admission.validate(this.attributes(t, 'UPDATE', subresource, obj, old, ctx));
    ctx.warnings.push(...validated.warnings);
    if (ctx.dryRun) return this.present(t, obj);

    const key = resourceKey(t);
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0 && !waitsForGrace(t, obj, this.now()) &&
        !hasContentToClean(t)) {
      // The last finalizer is gone: finish the deletion that was requested earlier.
      const removed = this.deps.storage.remove(key, old.metadata.namespace ?? '', old.metadata.name ?? '', expected);
      if (removed === 'conflict') throw this.conflict(t, old.metadata.name ?? '');
      if (removed === 'notfound') throw apiErrors.notFound({ group: t.group, resource: t.plural }, old.metadata.name ?? '');
      return this.present(t, removed.object);
    }
    const result = this.deps.storage.update(key, obj, expected);
    if (result === 'conflict') throw this.conflict(t, old.metadata.name ?? '');
    if (result === 'notfound') throw apiErrors.notFound({ group: t.group, resource: t.plural }, old.metadata.name ?? '');
    return this.present(t, result.object);
  }

  /** What an update may change: the main resource never changes status (when it has a subresource) or system metadata; `/status` changes only status. */
  private mergeForUpdate(t: ResourceType, old: KubeObject, incoming: KubeObject, subresource: Subresource): KubeObject {
    if (subresource === 'status') {
      const next: KubeObject = structuredClone(old);
      if (incoming.status === undefined) delete next.status; else next.status = incoming.status;
      return next;
    }
    const next: KubeObject = { ...incoming, metadata: { ...incoming.metadata } };
    next.apiVersion = old.apiVersion;
    next.kind = old.kind;
    const m = next.metadata;
    const om = old.metadata;
    m.name = om.name;
    if (t.namespaced) m.namespace = om.namespace; else delete m.namespace;
    m.uid = om.uid;
    m.creationTimestamp = om.creationTimestamp;
    setOrDelete(m, 'deletionTimestamp', om.deletionTimestamp);
    setOrDelete(m, 'deletionGracePeriodSeconds', om.deletionGracePeriodSeconds);
    setOrDelete(m, 'generation', om.generation);
    delete m.managedFields;
    delete (m as Record<string, unknown>).selfLink;
    m.resourceVersion = om.resourceVersion;
    if (t.subresources.status) {
      if (old.status === undefined) delete next.status; else next.status = old.status;
    }
    if (t.kind === 'Namespace' && t.builtin) next.spec = old.spec;
    return next;
  }

  // ---------------------------------------------------------------- delete

  async delete(t: ResourceType, namespace: string, name: string, options: DeleteOptions, ctx: RequestContext): Promise<DeleteResult> {
    const key = resourceKey(t);
    const current = this.getEntry(t, namespace, name);
    const old = current.object;
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw apiErrors.conflict({ group: t.group, resource: t.plural }, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw apiErrors.conflict({ group: t.group, resource: t.plural }, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${old.metadata.resourceVersion}`);
    }
    const validated = await this.deps.admission.validate(this.attributes(t, 'DELETE', '', undefined, old, ctx, options));
    ctx.warnings.push(...validated.warnings);
    if (ctx.dryRun) return { object: this.present(t, old), removed: true };

    const propagation = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : undefined);
    const finalizers = [...(old.metadata.finalizers ?? [])];
    if (propagation === 'Foreground' && !finalizers.includes(FINALIZER_FOREGROUND)) finalizers.push(FINALIZER_FOREGROUND);
    if (propagation === 'Orphan' && !finalizers.includes(FINALIZER_ORPHAN)) finalizers.push(FINALIZER_ORPHAN);

    const graceSeconds = this.gracePeriod(t, old, options);
    const namespaceWithContent = t.builtin && t.kind === 'Namespace';
    if (finalizers.length === 0 && graceSeconds === 0 && !hasContentToClean(t)) {
      const removed = this.deps.storage.remove(key, old.metadata.namespace ?? '', name, current.resourceVersion);
      if (removed === 'conflict') throw this.conflict(t, name);
      if (removed === 'notfound') throw apiErrors.notFound({ group: t.group, resource: t.plural }, name);
      return { object: this.present(t, removed.object), removed: true };
    }
    if (old.metadata.deletionTimestamp && isDeepStrictEqual(finalizers, old.metadata.finalizers ?? [])) {
      return { object: this.present(t, old), removed: false };
    }
    const next: KubeObject = structuredClone(old);
    const now = this.now();
    if (!next.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = formatTime(new Date(now.getTime() + graceSeconds * 1000));
      next.metadata.deletionGracePeriodSeconds = graceSeconds;
    }
    next.metadata.finalizers = finalizers;
    if (finalizers.length === 0) delete next.metadata.finalizers;
    if (namespaceWithContent) next.status = { ...(next.status as object | undefined), phase: 'Terminating' };
    const result = this.deps.storage.update(key, next, current.resourceVersion);
    if (result === 'conflict') throw this.conflict(t, name);
    if (result === 'notfound') throw apiErrors.notFound({ group: t.group, resource: t.plural }, name);
    return { object: this.present(t, result.object), removed: false };
  }

  /** Pods on a node get their grace period (the node confirms the stop); everything else goes at once. */
  private gracePeriod(t: ResourceType, obj: KubeObject, options: DeleteOptions): number {
    if (!(t.builtin && t.kind === 'Pod')) return 0;
    const spec = obj.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    if (!spec?.nodeName) return 0;
    const status = obj.status as { phase?: string } | undefined;
    if (status?.phase === 'Succeeded' || status?.phase === 'Failed') return 0;
    const requested = options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, requested);
  }

  /** Removes an object whose deletion is complete (finalizers empty, grace over). Used by the sandbox's controllers. */
  finalizeRemoval(t: ResourceType, entry: StoredEntry): boolean {
    const r = this.deps.storage.remove(resourceKey(t), entry.object.metadata.namespace ?? '', entry.object.metadata.name ?? '', entry.resourceVersion);
    return typeof r === 'object';
  }

  // ---------------------------------------------------------------- helpers

  private decode(t: ResourceType, body: unknown, owned = false): KubeObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw apiErrors.badRequest('the body of the request must be a JSON or YAML object');
    }
    const obj = (owned ? body : structuredClone(body)) as KubeObject;
    const expectedVersion = apiVersionOf(t);
    // Like the API server, the endpoint supplies a missing kind or apiVersion; only a different one is an error.
    if (obj.kind === undefined || obj.kind === '') obj.kind = t.kind;
    if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = expectedVersion;
    if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') {
      throw apiErrors.badRequest(`kind and apiVersion must be strings in '${truncate(JSON.stringify(body))}'`);
    }
    if (obj.kind !== t.kind) {
      throw apiErrors.badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${t.kind})`);
    }
    if (obj.apiVersion !== expectedVersion && obj.apiVersion !== this.storageApiVersion(t)) {
      throw apiErrors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expectedVersion})`);
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
      throw apiErrors.invalid(t.group, t.kind, '', [fieldError.invalid('metadata', obj.metadata, 'must be an object')]);
    }
    const metaErrs = metadataTypeErrors(obj.metadata);
    if (metaErrs.length > 0) throw apiErrors.invalid(t.group, t.kind, typeof obj.metadata.name === 'string' ? obj.metadata.name : '', metaErrs);
    return obj;
  }

  /** Prunes, reports unknown fields per fieldValidation, and defaults a custom resource by its CRD schema. */
  private applySchema(t: ResourceType, obj: KubeObject, ctx: RequestContext): KubeObject {
    const schema = this.deps.schemas.forType(t);
    if (!schema) return obj;
    const { object, unknownFields } = schema.prune(obj);
    if (unknownFields.length > 0) {
      if (ctx.fieldValidation === 'Strict') {
        throw apiErrors.badRequest(`strict decoding error: ${unknownFields.map((f) => `unknown field "${f.replace(/^\./, '')}"`).join(', ')}`);
      }
      if (ctx.fieldValidation === 'Warn') ctx.warnings.push(...unknownFields.map((f) => `unknown field "${f.replace(/^\./, '')}"`));
    }
    return schema.applyDefaults(object);
  }

  private validateSchema(t: ResourceType, obj: KubeObject): FieldError[] {
    const schema = this.deps.schemas.forType(t);
    return schema ? schema.validate(obj) : [];
  }

  private tracksGeneration(t: ResourceType): boolean {
    return !t.builtin || KINDS_WITH_GENERATION.has(t.kind);
  }

  private checkNamespaceAcceptsContent(namespace: string): void {
    const ns = this.deps.storage.get('/namespaces', '', namespace);
    if (!ns) throw apiErrors.notFound({ group: '', resource: 'namespaces' }, namespace);
    if (ns.object.metadata.deletionTimestamp) {
      throw new ApiError(403, 'Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`, {
        name: namespace, kind: 'namespaces', causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }

  private conflict(t: ResourceType, name: string): ApiError {
    return apiErrors.conflict({ group: t.group, resource: t.plural }, name, 'the object has been modified; please apply your changes to the latest version and try again');
  }

  private attributes(t: ResourceType, operation: Operation, subResource: string, object: KubeObject | undefined, oldObject: KubeObject | undefined, ctx: RequestContext, options?: object): AdmissionRequestAttributes {
    const src = object ?? oldObject;
    return {
      operation,
      kind: { group: t.group, version: t.version, kind: t.kind },
      resource: { group: t.group, version: t.version, resource: t.plural },
      subResource,
      name: src?.metadata.name ?? '',
      namespace: t.namespaced ? src?.metadata.namespace ?? '' : '',
      ...(object ? { object: this.present(t, object) } : {}),
      ...(oldObject ? { oldObject: this.present(t, oldObject) } : {}),
      dryRun: ctx.dryRun,
      userInfo: ctx.user,
      ...(options ? { options } : {}),
    };
  }

  /** Kind label used in messages (`clonesets.apps.kruise.io`). */
  static qualifiedKind = qualifiedKind;
}

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_SUFFIX_ALPHABET[randomInt(NAME_SUFFIX_ALPHABET.length)];
  return s;
}

export function parseResourceVersion(text: string, field: string): number {
  if (!/^\d+$/.test(text)) {
    throw apiErrors.badRequest(`${field}: Invalid value: ${JSON.stringify(text)}: must be a decimal resource version`);
  }
  return Number(text);
}

function withoutRv(o: KubeObject): KubeObject {
  return { ...o, metadata: { ...o.metadata, resourceVersion: '' } };
}

function setOrDelete<K extends keyof ObjectMeta>(m: ObjectMeta, k: K, v: ObjectMeta[K] | undefined): void {
  if (v === undefined) delete m[k]; else m[k] = v;
}

/** Namespaces and CRDs are removed by their controllers once their content is gone, never by an update. */
function hasContentToClean(t: ResourceType): boolean {
  return t.builtin && (t.kind === 'Namespace' || t.kind === 'CustomResourceDefinition');
}

function waitsForGrace(t: ResourceType, obj: KubeObject, now: Date): boolean {
  if (!(t.builtin && t.kind === 'Pod')) return false;
  const ts = obj.metadata.deletionTimestamp;
  return ts !== undefined && (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0 && Date.parse(ts) > now.getTime();
}

/** Everything but metadata and status counts as spec for generation purposes, as for custom resources. */
function specChanged(t: ResourceType, old: KubeObject, next: KubeObject): boolean {
  const strip = (o: KubeObject): Record<string, unknown> => {
    const { metadata: _m, status, ...rest } = o;
    return t.subresources.status ? rest : { ...rest, status };
  };
  return !isDeepStrictEqual(strip(old), strip(next));
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/** Type errors in metadata that would otherwise corrupt the store (a number as a label, a string as finalizers). */
function metadataTypeErrors(meta: ObjectMeta): FieldError[] {
  const errs: FieldError[] = [];
  const m = meta as Record<string, unknown>;
  for (const f of ['name', 'generateName', 'namespace', 'resourceVersion'] as const) {
    if (m[f] !== undefined && typeof m[f] !== 'string') errs.push(fieldError.typeInvalid(`metadata.${f}`, m[f], 'must be a string'));
  }
  for (const f of ['labels', 'annotations'] as const) {
    const v = m[f];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) errs.push(fieldError.typeInvalid(`metadata.${f}`, v, 'must be a map of strings'));
    if (v === null) delete m[f];
  }
  for (const f of ['finalizers', 'ownerReferences'] as const) {
    const v = m[f];
    if (v !== undefined && v !== null && !Array.isArray(v)) errs.push(fieldError.typeInvalid(`metadata.${f}`, v, 'must be a list'));
    if (v === null) delete m[f];
  }
  return errs;
}
