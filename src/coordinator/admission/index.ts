/** The coordinator's admission webhooks: the public surface for cli/ and the sandbox. */
export { startAdmissionServer, type AdmissionServer, type AdmissionServerOptions, type ConfigurationMode } from './admission-server.js';
export { WebhookServer, type WebhookServerOptions } from './webhook-server.js';
export {
  applyWebhookConfigurations, createSelfSignedServingCertificate, patchCaBundle, readCertDir, serviceHostnames,
  SHARED_CERT_SECRET, sharedSelfSignedCertificate,
  type CaBundlePatchResult, type ServingCertificate,
} from './certificates.js';
export {
  buildWebhookConfigurations, renderWebhooksYaml, DEFAULT_WEBHOOK_SERVICE, MUTATING_CONFIGURATION_NAME,
  VALIDATING_CONFIGURATION_NAME, WEBHOOK_CONFIGURATION_NAMES, WEBHOOKS,
  type ClientConfigTarget, type ServiceRef, type WebhookSpec,
} from './webhook-configurations.js';
export { buildRoutes, buildHandlers, type RouteOptions } from './routes.js';
export { kubeClientLookups, type AdmissionLookups, type CustomResourceListTarget } from './lookups.js';
export { AdmissionMetrics, type DeletionDenialRecorder } from './metrics.js';
export { jsonPatchDiff } from './json-patch-diff.js';
export type {
  AdmissionHandler, AdmissionRequest, AdmissionResponse, HandlerContext, JsonPatchOperation,
} from './types.js';
