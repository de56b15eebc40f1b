/**
 * The sandbox cluster's PKI: one self-signed CA and an API-server serving certificate signed by it. The generic
 * CA and certificate code lives in src/kube/tls/pki.ts (the coordinator's webhook server uses it too); this module
 * keeps the sandbox's names and re-exports the rest.
 */
import {
  createCertificateAuthority, issueCertificate,
} from '../../kube/tls/pki.js';

export {
  createCertificateAuthority, issueCertificate,
  type CertificateAuthority, type CreateCertificateAuthorityOptions, type IssueCertificateOptions, type IssuedCertificate,
} from '../../kube/tls/pki.js';

export interface SandboxPkiOptions {
  /** DNS names the API server answers on (`localhost`, `kruise-sandbox`). */
  hostnames: string[];
  /** IP addresses the API server answers on; 127.0.0.1 is always added. */
  ipAddresses: string[];
  /** Issue time; injected so tests and restarts are reproducible in their validity window. */
  now: Date;
  /** Validity of both certificates. @default 365 */
  validityDays?: number;
}

export interface SandboxPki {
  caCertPem: string;
  caKeyPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/** Makes a fresh CA and an API-server serving certificate signed by it. */
export async function createSandboxPki(options: SandboxPkiOptions): Promise<SandboxPki> {
  const ca = await createCertificateAuthority({
    commonName: 'kruise-ts-sandbox-ca', now: options.now,
    ...(options.validityDays === undefined ? {} : { validityDays: options.validityDays }),
  });
  const ipAddresses = options.ipAddresses.includes('127.0.0.1') ? options.ipAddresses : [...options.ipAddresses, '127.0.0.1'];
  const server = await issueCertificate(ca, {
    commonName: 'kruise-ts-sandbox-apiserver',
    hostnames: options.hostnames,
    ipAddresses,
    now: options.now,
    ...(options.validityDays === undefined ? {} : { validityDays: options.validityDays }),
  });
  return { ...ca, serverCertPem: server.certPem, serverKeyPem: server.keyPem };
}
