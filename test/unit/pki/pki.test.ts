import assert from 'node:assert/strict';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createSandboxPki, issueCertificate, type SandboxPki } from '../../../src/sandbox/apiserver/pki.js';

const NOW = new Date('2026-01-15T12:00:00Z');

/** GETs `/` on 127.0.0.1:port with the given trust roots and resolves with the body or rejects with the TLS error. */
function get(port: number, ca: string | undefined, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sandbox PKI', () => {
  let pki: SandboxPki;
  let server: https.Server;
  let port: number;

  before(async () => {
    pki = await createSandboxPki({ hostnames: ['localhost', 'kruise-sandbox'], ipAddresses: ['::1'], now: new Date() });
    server = https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (_req, res) => { res.end('ok'); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('should serve TLS that a client trusting only the sandbox CA accepts', async () => {
    assert.equal(await get(port, pki.caCertPem), 'ok');
  });

  it('should be rejected with a certificate error by a client that does not trust the sandbox CA', async () => {
    await assert.rejects(get(port, undefined), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
      return true;
    });
  });

  it('should make a CA certificate that may sign certificates and a serving certificate for every name', () => {
    const ca = new X509Certificate(pki.caCertPem);
    const serving = new X509Certificate(pki.serverCertPem);
    assert.equal(ca.ca, true);
    assert.equal(serving.ca, false);
    assert.equal(serving.checkIssued(ca), true);
    assert.equal(serving.verify(ca.publicKey), true);
    assert.equal(serving.checkHost('kruise-sandbox'), 'kruise-sandbox');
    assert.equal(serving.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(serving.checkIP('::1'), '::1');
    assert.deepEqual(serving.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.match(pki.caKeyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(pki.serverKeyPem, /^-----BEGIN PRIVATE KEY-----/);
  });

  it('should backdate certificates a little and honour validityDays', async () => {
    const short = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: [], now: NOW, validityDays: 2 });
    const cert = new X509Certificate(short.serverCertPem);
    assert.equal(new Date(cert.validFrom).getTime(), NOW.getTime() - 5 * 60 * 1000);
    assert.equal(new Date(cert.validTo).getTime(), NOW.getTime() + 2 * 24 * 60 * 60 * 1000);
  });

  it('should issue further serving certificates from an existing CA', async () => {
    const issued = await issueCertificate(pki, { commonName: 'webhook.kruise-system.svc', hostnames: ['webhook.kruise-system.svc'], ipAddresses: ['127.0.0.1'], now: NOW });
    const cert = new X509Certificate(issued.certPem);
    assert.equal(cert.checkIssued(new X509Certificate(pki.caCertPem)), true);
    assert.equal(cert.checkHost('webhook.kruise-system.svc'), 'webhook.kruise-system.svc');
    assert.match(cert.subject, /CN=webhook\.kruise-system\.svc/);
  });

  it('should refuse an IP address that is not one', async () => {
    await assert.rejects(issueCertificate(pki, { commonName: 'x', hostnames: [], ipAddresses: ['not-an-ip'], now: NOW }), /not an IP address/);
  });
});
