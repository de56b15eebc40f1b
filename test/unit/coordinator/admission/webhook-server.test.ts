/**
 * The HTTPS webhook server on port 0: reviews routed by path and answered in kind; malformed reviews get a 4xx
 * with a reason; a throwing handler gets a denial and the server stays up; every review is bounded in time;
 * certificates in certDir are reloaded when they change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  AdmissionMetrics, createSelfSignedServingCertificate, WebhookServer, type AdmissionHandler, type ServingCertificate,
} from '../../../../src/coordinator/admission/index.js';

interface Reply { status: number; json: Record<string, unknown> & { response?: Record<string, unknown> }; cert: X509Certificate | undefined }

function post(port: number, ca: string, path: string, body: string, headers: Record<string, string> = {}, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method, ca, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const peer = (res.socket as TLSSocket).getPeerX509Certificate();
        let json: Reply['json'] = {};
        try { json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reply['json']; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, json, cert: peer });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function reviewBody(uid = 'u-1', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: { uid, kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' },
      operation: 'DELETE', name: 'x', object: null, oldObject: { metadata: { name: 'x' } }, ...extra } });
}

describe('webhook server', () => {
  let cert: ServingCertificate;
  let server: WebhookServer;
  let registry: Registry;
  let releaseHang: (() => void) | undefined;
  let hangSignal: AbortSignal | undefined;

  const routes = new Map<string, AdmissionHandler>([
    ['/allow', () => Promise.resolve({ allowed: true, warnings: ['careful'] })],
    ['/patch', () => Promise.resolve({ allowed: true, patch: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }] })],
    ['/throw', () => Promise.reject(new Error('handler exploded'))],
    ['/throw-sync', () => { throw new TypeError('sync boom'); }],
    ['/garbage', () => Promise.resolve('nonsense' as never)],
    ['/hang', (_req, ctx) => new Promise((resolve) => {
      hangSignal = ctx.signal;
      releaseHang = () => resolve({ allowed: true });
    })],
  ]);

  before(async () => {
    cert = await createSelfSignedServingCertificate({ hostnames: [], ipAddresses: [], now: new Date() });
    registry = new Registry();
    server = await WebhookServer.start({ host: '127.0.0.1', port: 0, certPem: cert.certPem, keyPem: cert.keyPem, routes,
      logger: pino({ level: 'silent' }), metrics: new AdmissionMetrics(registry), requestTimeoutMs: 200, maxBodyBytes: 64 * 1024 });
  });
  after(() => server.close(0));

  it('answers a review with the request uid, in the review version it came in', async () => {
    const r = await post(server.port, cert.caPem!, '/allow', reviewBody('abc'));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'abc', allowed: true, warnings: ['careful'] } });
    const beta = await post(server.port, cert.caPem!, '/allow', reviewBody('b').replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'));
    assert.equal(beta.json['apiVersion'], 'admission.k8s.io/v1beta1');
  });

  it('encodes a patch as base64 JSONPatch', async () => {
    const r = await post(server.port, cert.caPem!, '/patch', reviewBody());
    assert.equal(r.json.response?.['patchType'], 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(String(r.json.response?.['patch']), 'base64').toString('utf8')),
      [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }]);
  });

  const malformed: [string, string, number, RegExp][] = [
    ['a body that is not JSON', '{nope', 400, /couldn't decode the request body as JSON/],
    ['a JSON array', '[]', 400, /not a JSON object/],
    ['a review of another kind', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), 400, /expected an admission.k8s.io\/v1 AdmissionReview/],
    ['a review without request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, /has no request/],
    ['a request without uid', reviewBody(''), 400, /request.uid/],
    ['a request with an unknown operation', reviewBody('u', { operation: 'PATCH' }), 400, /request.operation/],
    ['a request without kind', reviewBody('u', { kind: 'Namespace' }), 400, /request.kind/],
  ];
  for (const [name, body, code, reason] of malformed) {
    it(`answers ${name} with ${code} and a reason`, async () => {
      const r = await post(server.port, cert.caPem!, '/allow', body);
      assert.equal(r.status, code);
      assert.equal(r.json['kind'], 'Status');
      assert.match(String(r.json['message']), reason);
    });
  }

  it('answers an oversized body with 413, a wrong media type with 415, GET with 405, an unknown path with 404', async () => {
    assert.equal((await post(server.port, cert.caPem!, '/allow', 'x'.repeat(70 * 1024))).status, 413);
    assert.equal((await post(server.port, cert.caPem!, '/allow', reviewBody(), { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post(server.port, cert.caPem!, '/allow', '', {}, 'GET')).status, 405);
    assert.equal((await post(server.port, cert.caPem!, '/nowhere', reviewBody())).status, 404);
    assert.equal((await post(server.port, cert.caPem!, '/healthz', '', {}, 'GET')).status, 200);
  });

  it('denies with the error message when a handler throws, and keeps serving', async () => {
    for (const [path, message] of [['/throw', 'handler exploded'], ['/throw-sync', 'sync boom'], ['/garbage', 'admission handler returned no response']]) {
      const r = await post(server.port, cert.caPem!, path!, reviewBody('t'));
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.response, { uid: 't', allowed: false, status: { code: 500, message, reason: 'InternalError', status: 'Failure' } });
    }
    assert.equal((await post(server.port, cert.caPem!, '/allow', reviewBody())).json.response?.['allowed'], true);
  });

  it('bounds a review in time: past it the handler signal aborts and the review is denied with 504', async () => {
    const r = await post(server.port, cert.caPem!, '/hang', reviewBody('slow'));
    assert.equal(r.json.response?.['allowed'], false);
    assert.equal((r.json.response?.['status'] as { code: number }).code, 504);
    assert.equal(hangSignal?.aborted, true);
    releaseHang?.();
  });

  it('takes the tighter of its own bound and the API server deadline in ?timeout=', async () => {
    const started = performance.now();
    const r = await post(server.port, cert.caPem!, '/hang?timeout=0.05s', reviewBody('fast'));
    assert.equal((r.json.response?.['status'] as { code: number }).code, 504);
    assert.ok(performance.now() - started < 190, 'answered before its own 200 ms bound');
    releaseHang?.();
  });

  it('counts reviews by path and result', async () => {
    const text = await registry.metrics();
    assert.match(text, /kruise_admission_requests_total\{path="\/allow",result="allowed"\} \d+/);
    assert.match(text, /kruise_admission_requests_total\{path="\/throw",result="denied"\} 1/);
    assert.match(text, /kruise_admission_requests_total\{path="unknown",result="bad_request"\} 1/);
  });
});

describe('webhook server certificate reload', () => {
  let dir: string;
  let server: WebhookServer;
  let first: ServingCertificate;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-certs-'));
    first = await createSelfSignedServingCertificate({ hostnames: [], ipAddresses: [], now: new Date() });
    await writeFile(join(dir, 'tls.crt'), first.certPem);
    await writeFile(join(dir, 'tls.key'), first.keyPem);
    server = await WebhookServer.start({ host: '127.0.0.1', port: 0, certPem: first.certPem, keyPem: first.keyPem, certDir: dir,
      routes: new Map([['/allow', () => Promise.resolve({ allowed: true })]]), logger: pino({ level: 'silent' }) });
  });
  after(async () => {
    await server.close(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the new certificate after the files change on disk', async () => {
    const before = await post(server.port, first.caPem!, '/allow', reviewBody());
    assert.equal(before.cert?.serialNumber, new X509Certificate(first.certPem).serialNumber);
    const next = await createSelfSignedServingCertificate({ hostnames: [], ipAddresses: [], now: new Date() });
    const reloaded = once(server, 'reload');
    // Key first, then certificate: the half-written state in between fails to load and is retried on the next event.
    await writeFile(join(dir, 'tls.key'), next.keyPem);
    await writeFile(join(dir, 'tls.crt'), next.certPem);
    await Promise.race([reloaded, server.reloadCertificates().then(async (swapped) => { if (!swapped) await reloaded; })]);
    const after = await post(server.port, next.caPem!, '/allow', reviewBody());
    assert.equal(after.cert?.serialNumber, new X509Certificate(next.certPem).serialNumber);
    assert.equal(server.certificatePem, next.certPem);
  });

  it('keeps the current certificate when the new pair does not load', async () => {
    const current = server.certificatePem;
    const failed = once(server, 'reload-error');
    await writeFile(join(dir, 'tls.key'), 'not a key');
    void server.reloadCertificates();
    await failed;
    assert.equal(server.certificatePem, current);
  });
});
