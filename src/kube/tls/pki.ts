/**
 * A small in-process PKI: a self-signed CA and serving certificates signed by it, made with @peculiar/x509 over
 * Node's WebCrypto. Container images are slim (no openssl CLI), so nothing here shells out. Used by the sandbox
 * API server (its cluster CA) and by the coordinator's webhook server (a self-signed CA when no --cert-dir).
 *
 * Keys are ECDSA P-256 and exported as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), which node:tls, Go's
 * crypto/tls (kubectl, kube-apiserver) and client-node all accept. Serving certificates carry every name in a
 * SubjectAltName: Go has ignored the Common Name for host verification since 1.15, so a SAN is mandatory.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// Must precede @peculiar/x509: its dependency tsyringe needs Reflect metadata at load time.
import './x509-reflect-shim.js';
import * as x509 from '@peculiar/x509';

// The project compiles without the DOM lib, so WebCrypto types come from node:crypto's `webcrypto` namespace.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm = webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams;

/** Node's WebCrypto, passed explicitly to every @peculiar/x509 call (its global provider stays untouched). */
const crypto = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1];
const subtle = webcrypto.subtle;

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const RSA_SIGNING: webcrypto.RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

/** Certificates start this long before `now`, so a peer whose clock is slightly behind still accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** @default 365 */
const DEFAULT_VALIDITY_DAYS = 365;

/** A CA able to sign: its certificate and PKCS#8 key, both PEM. */
export interface CertificateAuthority {
  caCertPem: string;
  caKeyPem: string;
}

export interface IssueCertificateOptions {
  commonName: string;
  hostnames: string[];
  ipAddresses: string[];
  now: Date;
  /** @default 365 */
  validityDays?: number;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface CreateCertificateAuthorityOptions {
  /** Subject common name of the CA certificate. */
  commonName: string;
  /** Issue time; injected so tests and restarts are reproducible in their validity window. */
  now: Date;
  /** @default 365 */
  validityDays?: number;
}

/** Makes a fresh self-signed CA (ECDSA P-256) able to sign serving certificates. */
export async function createCertificateAuthority(options: CreateCertificateAuthorityOptions): Promise<CertificateAuthority> {
  const validityDays = checkValidityDays(options.validityDays);
  const caKeys = await generateKeyPair();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${escapeRdnValue(options.commonName)}`,
    keys: caKeys,
    ...validity(options.now, validityDays),
    signingAlgorithm: EC_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
    ],
  }, crypto);
  return {
    caCertPem: caCert.toString('pem'),
    caKeyPem: await exportPrivateKeyPem(caKeys.privateKey),
  };
}

/**
 * Issues a serving certificate (extKeyUsage serverAuth) from `ca`, with a fresh P-256 key. The CA key may be
 * ECDSA (P-256/P-384) or RSA; the sandbox API server and the coordinator's webhook server use it.
 */
export async function issueCertificate(ca: CertificateAuthority, options: IssueCertificateOptions): Promise<IssuedCertificate> {
  const validityDays = checkValidityDays(options.validityDays);
  if (options.hostnames.length === 0 && options.ipAddresses.length === 0) {
    throw new TypeError('a serving certificate needs at least one hostname or IP address');
  }
  for (const ip of options.ipAddresses) {
    if (isIP(ip) === 0) throw new TypeError(`not an IP address: ${ip}`);
  }
  const caCert = new x509.X509Certificate(ca.caCertPem);
  const { key: caKey, signingAlgorithm } = await importSigningKey(ca.caKeyPem);
  const keys = await generateKeyPair();
  const names: x509.JsonGeneralName[] = [
    ...options.hostnames.map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
    ...options.ipAddresses.map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${escapeRdnValue(options.commonName)}`,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm,
    ...validity(options.now, validityDays),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
    ],
  }, crypto);
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

function checkValidityDays(days: number | undefined): number {
  const value = days ?? DEFAULT_VALIDITY_DAYS;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`validityDays must be a positive integer, got ${String(days)}`);
  return value;
}

function validity(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

async function generateKeyPair(): Promise<CryptoKeyPair> {
  // Extractable, so the private key can be exported as PKCS#8 for node:tls.
  return await subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/** Imports a PEM private key (PKCS#8 or the traditional EC/RSA forms) as a WebCrypto signing key. */
async function importSigningKey(pem: string): Promise<{ key: CryptoKey; signingAlgorithm: SigningAlgorithm }> {
  const keyObject = createPrivateKey(pem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    const namedCurve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (namedCurve === undefined) {
      throw new TypeError(`unsupported CA key curve ${String(keyObject.asymmetricKeyDetails?.namedCurve)}`);
    }
    const hash = namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256';
    const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, signingAlgorithm: { name: 'ECDSA', hash } };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const key = await subtle.importKey('pkcs8', der, RSA_SIGNING, false, ['sign']);
    return { key, signingAlgorithm: RSA_SIGNING };
  }
  throw new TypeError(`unsupported CA key type ${String(keyObject.asymmetricKeyType)}`);
}

/** RFC 4514 escaping, so a common name with `,` or `=` cannot add attributes to the subject. */
function escapeRdnValue(value: string): string {
  return value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');
}
