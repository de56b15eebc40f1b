/** The sandbox API server's admission-webhook client. */
export { AdmissionChain } from './admission-chain.js';
export type { AdmissionChainOptions, MutateResult, ValidateResult } from './admission-chain.js';
export {
  AdmissionError, WebhookCallError, dryRunUnsupported, requestTimedOut, webhookCallFailure, webhookDenial,
} from './admission-errors.js';
export type { WebhookCallFailureKind } from './admission-errors.js';
export {
  isExemptAdmissionConfigurationResource, matchNamespaceSelector, matchObjectSelector, matchesAnyRule, matchesRule,
  shouldCallWebhook,
} from './matching.js';
export type { MatchableWebhook, NamespaceLabelLookup, SelectorVerdict } from './matching.js';
export { buildAdmissionReview, verifyAdmissionResponse } from './review.js';
export type { AdmissionRequest, AdmissionReviewRequest, VerifiedResponse } from './review.js';
export type {
  AdmissionAttributes, AdmissionOperation, AdmissionUserInfo, GroupVersionKind, GroupVersionResource, RuleWithOperations,
  WebhookClientConfig, WebhookEntry,
} from './types.js';
export { createHttpsWebhookCaller } from './webhook-caller.js';
export type { HttpsWebhookCallerOptions, WebhookCaller } from './webhook-caller.js';
export { WEBHOOK_DEFAULTS, compileWebhookConfigurations } from './webhook-configuration.js';
export type { CompiledWebhook, FailurePolicy } from './webhook-configuration.js';
