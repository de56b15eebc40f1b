import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebhookCallError, createHttpsWebhookCaller } from '../../../src/sandbox/apiserver/admission/index.js';
import { type WebhookServer, startWebhookServer } from './webhook-server.js';

const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1' } };

describe('https webhook caller', () => {
  let server: WebhookServer;

  before(async () => {
    server = await startWebhookServer();
    server.on('/allow', { response: { allowed: true, warnings: ['x'.repeat(200)] } });
    server.on('/hang', 'hang');
  });

  after(async () => {
    await server.close();
  });

  it('should resolve with the parsed response body', async () => {
    const body = await createHttpsWebhookCaller()(server.url('/allow'), server.pki.caCertPem, review, 5000, new AbortController().signal);
    assert.deepEqual((body as { response: { uid: string } }).response.uid, 'u1');
  });

  it('should refuse a response larger than the limit', async () => {
    const caller = createHttpsWebhookCaller({ maxResponseBytes: 64 });
    await assert.rejects(caller(server.url('/allow'), server.pki.caCertPem, review, 5000, new AbortController().signal),
      (err: unknown) => WebhookCallError.is(err) && err.failure === 'Transport' && /response body larger than 64 bytes$/.test(err.message));
  });

  it('should refuse plain http', async () => {
    await assert.rejects(createHttpsWebhookCaller()(`http://127.0.0.1:${server.port}/allow`, undefined, review, 5000, new AbortController().signal),
      (err: unknown) => WebhookCallError.is(err) && err.failure === 'Setup' && /unsupported protocol scheme "http"$/.test(err.message));
  });

  it('should stop waiting when the caller aborts, reporting a cancellation rather than a timeout', async () => {
    const ac = new AbortController();
    // Abort once the webhook has the request, so the abort hits an in-flight call.
    const arrived = new Promise<void>((resolve) => server.on('/hang-and-tell', () => {
      resolve();
      return 'hang';
    }));
    const pending = createHttpsWebhookCaller()(server.url('/hang-and-tell'), server.pki.caCertPem, review, 60_000, ac.signal);
    await arrived;
    ac.abort();
    await assert.rejects(pending, (err: unknown) => WebhookCallError.is(err) && err.failure === 'Canceled' && /: context canceled$/.test(err.message));
  });

  it('should time out a webhook that never answers', async () => {
    await assert.rejects(createHttpsWebhookCaller()(server.url('/hang'), server.pki.caCertPem, review, 50, new AbortController().signal),
      (err: unknown) => WebhookCallError.is(err) && err.failure === 'Timeout' && err.message === `Post "${server.url('/hang')}": context deadline exceeded`);
  });
});
