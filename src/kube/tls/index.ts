/** TLS helpers for talking to (and being called by) an API server: an in-process CA and serving certificates. */
export {
  createCertificateAuthority, issueCertificate,
  type CertificateAuthority, type CreateCertificateAuthorityOptions, type IssueCertificateOptions, type IssuedCertificate,
} from './pki.js';
