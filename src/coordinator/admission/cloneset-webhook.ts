/**
 * CloneSet webhooks (spec §3.1, §2.4, §1.2): `/mutate-apps-kruise-io-v1alpha1-cloneset` applies
 * `defaultCloneSet` on CREATE and UPDATE and answers with the JSON patch; `/validate-apps-kruise-io-v1alpha1-cloneset`
 * validates CREATE and UPDATE (422 with the field errors, as upstream) and enforces deletion protection on DELETE
 * (403; no objectSelector on this webhook, as upstream).
 *
 * `podsToDelete` checks need the Pods newly named there: they are fetched before validation (bounded
 * concurrency, the request's signal), then handed to the pure `validateCloneSet` as a synchronous lookup.
 */
import pLimit from 'p-limit';
import { defaultCloneSet, validateCloneSet, type CloneSet, type Pod } from '../../api/index.js';
import { deletionDecision, deletionProtectionLabelWarnings, specReplicas, workloadDeletionDenial, type DeletionProtectionOptions } from './deletion-protection.js';
import { allowed, fieldErrorsDenied, patched, withDecode } from './responses.js';
import { decodeObject, type AdmissionHandler, type AdmissionRequest, type AdmissionResponse } from './types.js';

/** Pod lookups in flight at once for one request. */
const POD_LOOKUP_CONCURRENCY = 8;

function decodeCloneSet(raw: unknown, what: string): CloneSet {
  return decodeObject<CloneSet>(raw, what, true);
}

export function cloneSetMutatingHandler(): AdmissionHandler {
  return (req) => withDecode(() => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
    return patched(req.object, defaultCloneSet(decodeCloneSet(req.object, 'object')));
  });
}

/** Names newly added to `podsToDelete` (the only ones upstream looks up). */
function addedPodsToDelete(cs: CloneSet, old: CloneSet | undefined): string[] {
  const names = Array.isArray(cs.spec.scaleStrategy?.podsToDelete) ? cs.spec.scaleStrategy.podsToDelete : [];
  const before = new Set(Array.isArray(old?.spec.scaleStrategy?.podsToDelete) ? old.spec.scaleStrategy.podsToDelete : []);
  return [...new Set(names.filter((n) => typeof n === 'string' && !before.has(n)))];
}

async function fetchPods(o: DeletionProtectionOptions, namespace: string, names: readonly string[], signal: AbortSignal): Promise<Map<string, Pod | Error>> {
  const limit = pLimit(POD_LOOKUP_CONCURRENCY);
  const found = new Map<string, Pod | Error>();
  await Promise.all(names.map((name) => limit(async () => {
    try {
      found.set(name, await o.lookups.getPod(namespace, name, signal));
    } catch (e) {
      signal.throwIfAborted();
      found.set(name, e instanceof Error ? e : new Error(String(e)));
    }
  })));
  return found;
}

async function validateCreateUpdate(o: DeletionProtectionOptions, req: AdmissionRequest, signal: AbortSignal): Promise<AdmissionResponse> {
  const cs = decodeCloneSet(req.object, 'object');
  const old = req.operation === 'UPDATE' ? decodeCloneSet(req.oldObject, 'oldObject') : undefined;
  const namespace = cs.metadata.namespace ?? req.namespace ?? '';
  const pods = await fetchPods(o, namespace, addedPodsToDelete(cs, old), signal);
  const errs = validateCloneSet(cs, old, {
    getPod: (_ns, name) => pods.get(name) ?? new Error(`pods "${name}" not found`),
  });
  const warnings = deletionProtectionLabelWarnings('CloneSet', req.object);
  return errs.length > 0 ? fieldErrorsDenied(422, errs, warnings) : allowed(warnings);
}

export function cloneSetValidatingHandler(o: DeletionProtectionOptions): AdmissionHandler {
  return (req, ctx) => withDecode(async () => {
    switch (req.operation) {
      case 'CREATE':
      case 'UPDATE':
        return validateCreateUpdate(o, req, ctx.signal);
      case 'DELETE': {
        if (req.oldObject === undefined || req.oldObject === null) {
          ctx.logger.warn({ namespace: req.namespace, name: req.name }, 'skip CloneSet deletion protection: no oldObject (Kubernetes < 1.16?)');
          return allowed();
        }
        const old = decodeCloneSet(req.oldObject, 'oldObject');
        return deletionDecision(o, req, ctx, old, workloadDeletionDenial(o.gates, old, specReplicas(old)));
      }
      default:
        return allowed();
    }
  });
}
