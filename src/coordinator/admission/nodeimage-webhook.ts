/**
 * NodeImage webhooks (spec §4.3): `/mutate-apps-kruise-io-v1alpha1-nodeimage` fills `createdAt` (the handler
 * context's clock) and pull-policy defaults and sorts tags; `/validate-apps-kruise-io-v1alpha1-nodeimage` denies
 * with 400 and the field errors, as upstream. Both reject with 403 when KruiseDaemon is off.
 */
import { defaultNodeImage, validateNodeImage, type FeatureGates, type NodeImage } from '../../api/index.js';
import { daemonCheck } from './imagepulljob-webhook.js';
import { allowed, fieldErrorsDenied, patched, withDecode } from './responses.js';
import { decodeObject, type AdmissionHandler } from './types.js';

/** RFC 3339 at second precision, as metav1.Time marshals. */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function nodeImageMutatingHandler(gates: FeatureGates): AdmissionHandler {
  return (req, ctx) => withDecode(() => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
    const ni = decodeObject<NodeImage>(req.object, 'object');
    return daemonCheck(gates) ?? patched(req.object, defaultNodeImage(ni, rfc3339(ctx.now())));
  });
}

export function nodeImageValidatingHandler(gates: FeatureGates): AdmissionHandler {
  return (req) => withDecode(() => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
    const ni = decodeObject<NodeImage>(req.object, 'object');
    const denied = daemonCheck(gates);
    if (denied) return denied;
    const errs = validateNodeImage(ni);
    return errs.length > 0 ? fieldErrorsDenied(400, errs) : allowed();
  });
}
