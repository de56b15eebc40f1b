/**
 * The Pod mutating webhook `mpod.kb.io` at `/mutate-pod` (spec §7.2): sidecar injection at Pod CREATE. The Kruise
 * rules live in the pure `injectSidecars` (../sidecarset); this handler only decides whether to look at the request,
 * lists the SidecarSets and renders the JSON patch.
 *
 * - `PodWebhook` off (§0.1): upstream does not register the webhook at all. Our webhook table is static, so the
 *   handler answers "allowed, no patch" instead; the effect on Pods is the same.
 * - Only CREATE of the Pod itself: sub-resources (`pods/binding`, `pods/status`, …) and other operations pass
 *   untouched. The update-time injection path of v0.9.0 is unreachable upstream (§7.2), so we do not have one.
 * - Pods in kube-system/kube-public are skipped by `injectSidecars`. Pods in our own system namespace are skipped
 *   here too: upstream keeps them out through the configuration's namespaceSelector (the `control-plane` label of
 *   the Kruise namespace), which a cluster without that label, or the sandbox, does not give us.
 * - SidecarSets are listed from the API for every Pod (a quorum read): a SidecarSet created just before a Pod must
 *   be injected into it, which a lagging cache could miss. Known cost: one extra request per Pod creation.
 * - An unparsable `kruise.io/sidecarset-hash` annotation on the incoming Pod is denied with 400, as upstream's
 *   `admission.Errored(http.StatusBadRequest, err)`.
 */
import { KruiseError } from '../../api/errors.js';
import type { FeatureGates } from '../../api/feature-gates.js';
import type { Pod } from '../../api/pod-types.js';
import { SYSTEM_NAMESPACE } from '../../api/well-known-keys.js';
import { injectSidecars } from '../sidecarset/injection.js';
import type { AdmissionLookups } from './lookups.js';
import { allowed, errored, patched, withDecode } from './responses.js';
import { decodeObject, type AdmissionHandler } from './types.js';

export interface PodWebhookOptions {
  gates: Pick<FeatureGates, 'enabled'>;
  lookups: Pick<AdmissionLookups, 'listSidecarSets'>;
  /** Namespaces never injected besides kube-system/kube-public. @default [SYSTEM_NAMESPACE] */
  skipNamespaces?: readonly string[];
}

export function podMutatingHandler(o: PodWebhookOptions): AdmissionHandler {
  const skip = new Set(o.skipNamespaces ?? [SYSTEM_NAMESPACE]);
  return (req, ctx) => withDecode(async () => {
    if (!o.gates.enabled('PodWebhook')) return allowed();
    if (req.operation !== 'CREATE' || req.subResource) return allowed();
    const pod = decodeObject(req.object, 'object') as unknown as Pod;
    const namespace = pod.metadata.namespace || req.namespace || '';
    if (skip.has(namespace)) return allowed();
    // Go decodes a missing list as nil; injection appends to it.
    pod.spec.containers ??= [];
    const sets = await o.lookups.listSidecarSets(ctx.signal);
    let result;
    try {
      result = injectSidecars(pod, sets, req.namespace ?? '', ctx.now().getTime());
    } catch (e) {
      if (KruiseError.is(e) && e.reason === 'BadRequest') return errored(400, e.message);
      throw e;
    }
    if (result.injected.length === 0) return allowed();
    ctx.logger.debug({ pod: `${namespace}/${pod.metadata.name ?? pod.metadata.generateName ?? ''}`, sidecarSets: result.injected }, 'injected sidecars');
    return patched(req.object, result.pod);
  });
}
