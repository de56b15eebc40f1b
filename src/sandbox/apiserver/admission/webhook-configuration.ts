/**
 * Turns Mutating/ValidatingWebhookConfiguration objects into the defaulted, ordered list of webhooks the chain
 * consults. Kubernetes defaults and validates these on write; the sandbox may hold objects that skipped that, so
 * the same defaults are applied here and anything that makes a webhook uncallable becomes a `setupError`, which
 * the chain reports as a call failure under the webhook's failurePolicy, only when the webhook matches a request
 * (as the kube-apiserver does when it cannot build the review or the REST client).
 */
import { X509Certificate } from 'node:crypto';
import type { KubeObject, LabelSelector } from '../../../api/meta.js';
import type { RuleWithOperations, WebhookClientConfig, WebhookEntry } from './types.js';

/** admissionregistration/v1 defaults (SetDefaults_ValidatingWebhook / SetDefaults_MutatingWebhook). */
export const WEBHOOK_DEFAULTS = Object.freeze({
  failurePolicy: 'Fail',
  timeoutSeconds: 10,
  matchPolicy: 'Equivalent',
  reinvocationPolicy: 'Never',
});

/** Kubernetes validation bounds for timeoutSeconds. */
const MIN_TIMEOUT_SECONDS = 1;
const MAX_TIMEOUT_SECONDS = 30;

export type FailurePolicy = 'Fail' | 'Ignore';

export interface CompiledWebhook {
  configurationName: string;
  name: string;
  rules: readonly RuleWithOperations[];
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
  /** Anything but `Ignore` fails closed, as in Kubernetes. */
  failurePolicy: FailurePolicy;
  timeoutSeconds: number;
  sideEffects: string | undefined;
  /** The https URL to POST to, when the client config is usable. */
  url: string | undefined;
  /** PEM decoded from clientConfig.caBundle; undefined means the system trust roots. */
  caBundlePem: string | undefined;
  /** Why this webhook cannot be called, in the words of the kube-apiserver error it replaces. */
  setupError: string | undefined;
}

/**
 * Webhooks of all given configurations, configurations sorted by name and webhooks in declaration order (the
 * order the kube-apiserver calls mutating webhooks in). Objects without a `webhooks` array contribute nothing.
 */
/**
 * Compiled webhooks per stored configuration object. Stored objects are replaced on every write, never changed in
 * place, so an edited configuration is a new key and takes effect at once; parsing CA bundles on every request
 * was a third of the API server's CPU with webhooks on (admission benchmark).
 */
const compiledByConfiguration = new WeakMap<KubeObject, CompiledWebhook[]>();

export function compileWebhookConfigurations(configurations: readonly KubeObject[]): CompiledWebhook[] {
  const sorted = [...configurations].sort((a, b) => compareNames(a.metadata.name ?? '', b.metadata.name ?? ''));
  const out: CompiledWebhook[] = [];
  for (const config of sorted) {
    let compiled = compiledByConfiguration.get(config);
    if (!compiled) {
      compiled = [];
      const entries = Array.isArray(config['webhooks']) ? (config['webhooks'] as unknown[]) : [];
      for (const entry of entries) {
        if (isRecord(entry)) compiled.push(compileWebhook(config.metadata.name ?? '', entry as unknown as WebhookEntry));
      }
      compiledByConfiguration.set(config, compiled);
    }
    out.push(...compiled);
  }
  return out;
}

export function compileWebhook(configurationName: string, entry: WebhookEntry): CompiledWebhook {
  const timeoutSeconds = entry.timeoutSeconds ?? WEBHOOK_DEFAULTS.timeoutSeconds;
  const client = compileClientConfig(isRecord(entry.clientConfig) ? entry.clientConfig : {});
  return {
    configurationName,
    name: String(entry.name ?? ''),
    rules: Array.isArray(entry.rules) ? entry.rules.filter(isRecord) : [],
    namespaceSelector: isRecord(entry.namespaceSelector) ? entry.namespaceSelector : {},
    objectSelector: isRecord(entry.objectSelector) ? entry.objectSelector : {},
    failurePolicy: entry.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
    timeoutSeconds,
    sideEffects: typeof entry.sideEffects === 'string' ? entry.sideEffects : undefined,
    url: client.url,
    caBundlePem: client.caBundlePem,
    // The kube-apiserver fails in this order: building the review objects, then the REST client.
    setupError: reviewSetupError(entry, timeoutSeconds) ?? client.error,
  };
}

function reviewSetupError(entry: WebhookEntry, timeoutSeconds: number): string | undefined {
  if (Array.isArray(entry.matchConditions) && entry.matchConditions.length > 0) {
    // Known gap: matchConditions are CEL; rather than call a webhook on requests it asked to skip, fail per policy.
    return 'matchConditions are not supported by the sandbox API server';
  }
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < MIN_TIMEOUT_SECONDS || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    return `could not create admission objects: timeoutSeconds ${String(timeoutSeconds)} must be between ${MIN_TIMEOUT_SECONDS} and ${MAX_TIMEOUT_SECONDS}`;
  }
  // Kubernetes also speaks v1beta1; the sandbox only v1, so a webhook must list it.
  if (!Array.isArray(entry.admissionReviewVersions) || !entry.admissionReviewVersions.includes('v1')) {
    return 'could not create admission objects: webhook does not accept known AdmissionReview versions (v1)';
  }
  return undefined;
}

interface CompiledClient { url: string | undefined; caBundlePem: string | undefined; error: string | undefined }

function compileClientConfig(cc: WebhookClientConfig): CompiledClient {
  const fail = (why: string): CompiledClient => ({ url: undefined, caBundlePem: undefined, error: `could not get REST client: ${why}` });
  if (cc.url === undefined) {
    if (cc.service !== undefined) {
      return fail('clientConfig.service is not routable from the sandbox API server; use clientConfig.url');
    }
    return fail('clientConfig has neither url nor service');
  }
  let parsed: URL;
  try {
    parsed = new URL(String(cc.url));
  } catch {
    return fail(`invalid clientConfig.url ${JSON.stringify(cc.url)}`);
  }
  if (parsed.protocol !== 'https:') return fail(`clientConfig.url must use the https scheme, got ${JSON.stringify(cc.url)}`);
  if (parsed.username !== '' || parsed.password !== '') return fail('clientConfig.url must not contain user information');
  if (parsed.hash !== '') return fail('clientConfig.url must not contain a fragment');
  let caBundlePem: string | undefined;
  if (cc.caBundle !== undefined && cc.caBundle !== '') {
    const pem = decodeCaBundle(String(cc.caBundle));
    if (pem === undefined) return fail('unable to load root certificates: unable to parse bytes as PEM block');
    caBundlePem = pem;
  }
  return { url: parsed.toString(), caBundlePem, error: undefined };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM text of caBundle when it is base64 of at least one parseable certificate, else undefined. */
export function decodeCaBundle(caBundle: string): string | undefined {
  const compact = caBundle.replace(/\s+/g, '');
  if (!BASE64.test(compact) || compact.length % 4 !== 0) return undefined;
  const text = Buffer.from(compact, 'base64').toString('utf8');
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  const valid = blocks.filter((block) => {
    try {
      new X509Certificate(block);
      return true;
    } catch {
      return false;
    }
  });
  return valid.length === 0 ? undefined : `${valid.join('\n')}\n`;
}

/** Byte-wise, like Go's sort of configuration names (no locale). */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
