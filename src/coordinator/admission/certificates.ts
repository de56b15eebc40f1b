/**
 * Serving certificates for the webhook server, and getting our CA into the webhook configurations.
 *
 * Two sources, as upstream's webhook controller has: files in `--cert-dir` (`tls.crt`, `tls.key`, optional
 * `ca.crt`; a mounted Secret or cert-manager), or, when none are given, a self-signed CA and serving certificate
 * made at start-up (ECDSA P-256, in-process; see src/kube/tls/pki.ts) whose CA the coordinator patches into
 * `webhooks[*].clientConfig.caBundle` of our configurations. The self-signed CA lives only in memory: a restart
 * makes a new one and patches again.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { KubeObject } from '../../api/index.js';
import { isAlreadyExists, isNotFound, resources, updateWithRetry, type KubeClient, type ResourceRef } from '../../kube/index.js';
import { createCertificateAuthority, issueCertificate } from '../../kube/tls/index.js';
import type { ServiceRef } from './webhook-configurations.js';

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';
export const CA_FILE = 'ca.crt';

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  /** The CA that signed `certPem`, for caBundle; undefined when unknown (cert-dir without ca.crt). */
  caPem: string | undefined;
}

/** The names a Service is reached by from the API server. */
export function serviceHostnames(s: ServiceRef): string[] {
  return [s.name, `${s.name}.${s.namespace}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}.svc.cluster.local`];
}

export interface SelfSignedOptions {
  /** DNS names; `localhost` is always added. */
  hostnames: readonly string[];
  /** IP addresses; 127.0.0.1 is always added. */
  ipAddresses: readonly string[];
  now: Date;
  /** @default 3650: the CA lives as long as the process; a long validity avoids expiry in long-lived pods. */
  validityDays?: number;
}

export async function createSelfSignedServingCertificate(o: SelfSignedOptions): Promise<ServingCertificate> {
  const validityDays = o.validityDays ?? 3650;
  const ca = await createCertificateAuthority({ commonName: 'kruise-ts-webhook-ca', now: o.now, validityDays });
  const hostnames = [...new Set(['localhost', ...o.hostnames])];
  const ipAddresses = [...new Set(['127.0.0.1', ...o.ipAddresses.filter((ip) => isIP(ip) !== 0)])];
  const cert = await issueCertificate(ca, { commonName: 'kruise-ts-webhook', hostnames, ipAddresses, now: o.now, validityDays });
  return { certPem: cert.certPem, keyPem: cert.keyPem, caPem: ca.caCertPem };
}

/** The Secret in which coordinator replicas share one generated webhook certificate. */
export const SHARED_CERT_SECRET = 'kruise-ts-webhook-certs';

/**
 * One self-signed certificate for every coordinator replica: the first replica to start stores it in a Secret
 * in the system namespace, the others read it. (With a certificate per replica, the API server would trust only
 * the last one to patch its CA into our configurations, and calls to the other replicas would fail.)
 */
export async function sharedSelfSignedCertificate(
  client: KubeClient, namespace: string, make: () => Promise<ServingCertificate>,
): Promise<ServingCertificate> {
  const ref = resources.secrets;
  const read = async (): Promise<ServingCertificate | undefined> => {
    try {
      const s = await client.get(ref, namespace, SHARED_CERT_SECRET);
      const data = (s['data'] ?? {}) as Record<string, string>;
      const dec = (k: string): string | undefined => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : undefined);
      const certPem = dec(CERT_FILE), keyPem = dec(KEY_FILE), caPem = dec(CA_FILE);
      return certPem && keyPem ? { certPem, keyPem, caPem } : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const existing = await read();
  if (existing) return existing;
  const made = await make();
  const enc = (v: string): string => Buffer.from(v).toString('base64');
  try {
    await client.create(ref, {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: SHARED_CERT_SECRET, namespace },
      data: { [CERT_FILE]: enc(made.certPem), [KEY_FILE]: enc(made.keyPem), ...(made.caPem ? { [CA_FILE]: enc(made.caPem) } : {}) },
    });
    return made;
  } catch (e) {
    // Another replica stored its certificate first: use that one.
    if (!isAlreadyExists(e)) throw e;
    const winner = await read();
    if (!winner) throw e;
    return winner;
  }
}

/** Reads `tls.crt`, `tls.key` and the optional `ca.crt` from a directory. */
export async function readCertDir(dir: string): Promise<ServingCertificate> {
  const [certPem, keyPem, caPem] = await Promise.all([
    readFile(join(dir, CERT_FILE), 'utf8'),
    readFile(join(dir, KEY_FILE), 'utf8'),
    readFile(join(dir, CA_FILE), 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    }),
  ]);
  return { certPem, keyPem, caPem };
}

export const MUTATING_WEBHOOK_CONFIGURATIONS: ResourceRef = {
  group: 'admissionregistration.k8s.io', version: 'v1', plural: 'mutatingwebhookconfigurations', kind: 'MutatingWebhookConfiguration', namespaced: false,
};
export const VALIDATING_WEBHOOK_CONFIGURATIONS: ResourceRef = {
  group: 'admissionregistration.k8s.io', version: 'v1', plural: 'validatingwebhookconfigurations', kind: 'ValidatingWebhookConfiguration', namespaced: false,
};

export interface CaBundlePatchResult {
  /** Configurations whose webhooks now carry the bundle (including those that already did). */
  patched: string[];
  /** Configurations that do not exist. */
  missing: string[];
}

/**
 * Sets `webhooks[*].clientConfig.caBundle` of our Mutating- and ValidatingWebhookConfiguration to `caPem`
 * (GET, change, PUT, retried on conflict; nothing written when already equal). A missing configuration is
 * reported, not an error: the deployment may not install webhooks.
 */
export async function patchCaBundle(client: KubeClient, configNames: { mutating: string; validating: string }, caPem: string,
  signal?: AbortSignal): Promise<CaBundlePatchResult> {
  const caBundle = Buffer.from(caPem, 'utf8').toString('base64');
  const result: CaBundlePatchResult = { patched: [], missing: [] };
  const targets: [ResourceRef, string][] = [[MUTATING_WEBHOOK_CONFIGURATIONS, configNames.mutating], [VALIDATING_WEBHOOK_CONFIGURATIONS, configNames.validating]];
  for (const [ref, name] of targets) {
    try {
      await updateWithRetry<KubeObject>(client, ref, '', name, (obj) => {
        const webhooks = Array.isArray(obj['webhooks']) ? (obj['webhooks'] as Record<string, unknown>[]) : [];
        let changed = false;
        for (const w of webhooks) {
          const cc = (w['clientConfig'] ??= {}) as Record<string, unknown>;
          if (cc['caBundle'] !== caBundle) {
            cc['caBundle'] = caBundle;
            changed = true;
          }
        }
        return changed ? obj : undefined;
      }, signal ? { signal } : {});
      result.patched.push(name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      result.missing.push(name);
    }
  }
  return result;
}

/**
 * Creates our configurations, or replaces the webhooks of existing ones (the sandbox, where nobody applies
 * deploy/webhooks.yaml). Labels and annotations of existing objects are kept.
 */
export async function applyWebhookConfigurations(client: KubeClient, configurations: readonly KubeObject[], signal?: AbortSignal): Promise<void> {
  for (const desired of configurations) {
    const ref = desired.kind === 'MutatingWebhookConfiguration' ? MUTATING_WEBHOOK_CONFIGURATIONS : VALIDATING_WEBHOOK_CONFIGURATIONS;
    const name = desired.metadata.name ?? '';
    try {
      await updateWithRetry<KubeObject>(client, ref, '', name, (obj) => ({ ...obj, webhooks: structuredClone(desired['webhooks']) }),
        signal ? { signal } : {});
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await client.create(ref, desired, signal);
    }
  }
}
