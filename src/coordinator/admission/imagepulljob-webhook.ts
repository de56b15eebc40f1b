/**
 * ImagePullJob webhooks (spec §4.2): `/mutate-apps-kruise-io-v1alpha1-imagepulljob` applies the defaults on CREATE
 * and UPDATE; `/validate-apps-kruise-io-v1alpha1-imagepulljob` validates them and denies with 400 and the field
 * errors, as upstream. With the KruiseDaemon gate off both reject every request with 403
 * `feature-gate KruiseDaemon is not enabled` (spec §0.1).
 */
import { defaultImagePullJob, validateImagePullJob, type FeatureGates, type ImagePullJob } from '../../api/index.js';
import { allowed, errored, fieldErrorsDenied, patched, withDecode } from './responses.js';
import { decodeObject, type AdmissionHandler, type AdmissionResponse } from './types.js';

export const KRUISE_DAEMON_DISABLED = 'feature-gate KruiseDaemon is not enabled';

/** The KruiseDaemon check; decode errors come first (400), as upstream orders them. */
export function daemonCheck(gates: FeatureGates): AdmissionResponse | undefined {
  return gates.enabled('KruiseDaemon') ? undefined : errored(403, KRUISE_DAEMON_DISABLED);
}

export function imagePullJobMutatingHandler(gates: FeatureGates): AdmissionHandler {
  return (req) => withDecode(() => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
    const job = decodeObject<ImagePullJob>(req.object, 'object');
    return daemonCheck(gates) ?? patched(req.object, defaultImagePullJob(job));
  });
}

export function imagePullJobValidatingHandler(gates: FeatureGates): AdmissionHandler {
  return (req) => withDecode(() => {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allowed();
    const job = decodeObject<ImagePullJob>(req.object, 'object');
    const old = req.operation === 'UPDATE' && req.oldObject ? decodeObject<ImagePullJob>(req.oldObject, 'oldObject') : undefined;
    const denied = daemonCheck(gates);
    if (denied) return denied;
    const errs = validateImagePullJob(job, old);
    return errs.length > 0 ? fieldErrorsDenied(400, errs) : allowed();
  });
}
