/**
 * SidecarSet webhooks (spec §7.1): `/mutate-apps-kruise-io-v1alpha1-sidecarset` applies `defaultSidecarSet` on
 * CREATE and UPDATE (and, when given, stamps the hash annotations); `/validate-apps-kruise-io-v1alpha1-sidecarset`
 * validates the set and its conflicts with every other SidecarSet (listed per request), denying with **500** and
 * the aggregated field errors, as upstream does. On UPDATE it also warns about changes existing Pods cannot
 * receive (../sidecarset/update-warnings.ts).
 *
 * The `kruise.io/sidecarset-hash` / `-without-image` annotations come through `SidecarSetWebhookOptions.hashAnnotations`
 * (`startAdmissionServer` passes ../sidecarset's `sidecarSetHashAnnotations`); without it the webhook stamps nothing.
 */
import {
  defaultSidecarSet, validateSidecarSet, validateSidecarSetConflicts, type SidecarSet,
} from '../../api/index.js';
import { sidecarSetUpdateWarnings } from '../sidecarset/update-warnings.js';
import type { AdmissionLookups } from './lookups.js';
import { allowed, fieldErrorsDenied, patched, withDecode } from './responses.js';
import { decodeObject, type AdmissionHandler } from './types.js';

export interface SidecarSetWebhookOptions {
  /** Annotations to stamp on a defaulted SidecarSet (the hash pair of spec §7.1). */
  hashAnnotations?: (set: SidecarSet) => Record<string, string>;
}

export function sidecarSetMutatingHandler(o: SidecarSetWebhookOptions = {}): AdmissionHandler {
  return (req) => withDecode(() => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
    const set = defaultSidecarSet(decodeObject<SidecarSet>(req.object, 'object'));
    if (o.hashAnnotations) set.metadata.annotations = { ...set.metadata.annotations, ...o.hashAnnotations(set) };
    return patched(req.object, set);
  });
}

export function sidecarSetValidatingHandler(lookups: Pick<AdmissionLookups, 'listSidecarSets'>): AdmissionHandler {
  return (req, ctx) => withDecode(async () => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
    const set = decodeObject<SidecarSet>(req.object, 'object');
    const old = req.operation === 'UPDATE' && req.oldObject ? decodeObject<SidecarSet>(req.oldObject, 'oldObject') : undefined;
    const errs = validateSidecarSet(set, old);
    const others = (await lookups.listSidecarSets(ctx.signal)).filter((s) => s.metadata.name !== set.metadata.name);
    errs.push(...validateSidecarSetConflicts(set, others));
    // Changes existing Pods cannot receive are accepted, with a warning (spec README "Hot upgrade", upstream #855).
    const warnings = old ? sidecarSetUpdateWarnings(old, set) : [];
    return errs.length > 0 ? fieldErrorsDenied(500, errs, warnings) : allowed(warnings);
  });
}
