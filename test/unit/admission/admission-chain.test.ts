import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { ApiError } from '../../../src/sandbox/apiserver/api-error.js';
import {
  AdmissionChain, AdmissionError, type AdmissionChainOptions, type WebhookCaller, createHttpsWebhookCaller,
} from '../../../src/sandbox/apiserver/admission/index.js';
import { createSandboxPki } from '../../../src/sandbox/apiserver/pki.js';
import { hook, mutatingConfig, pod, podAttrs, validatingConfig } from './fixtures.js';
import { type WebhookServer, b64, jsonPatch, startWebhookServer, unusedPort } from './webhook-server.js';

/** Asserts `promise` rejects with an ApiError of `code` and exactly `message`; returns it for more checks. */
async function rejectsWith(promise: Promise<unknown>, code: number, message: string | RegExp): Promise<ApiError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(ApiError.is(caught), `not an ApiError: ${String(caught)}`);
  const err = caught as ApiError;
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  assert.equal(err.code, code);
  return err;
}

describe('admission chain against a real HTTPS webhook', () => {
  let server: WebhookServer;
  let mutating: KubeObject[];
  let validating: KubeObject[];
  let uids: number;
  /** timeoutMs the chain asked for, per call. */
  let timeouts: number[];
  const https = createHttpsWebhookCaller();
  /** The real caller, with timeouts cut to 100 ms so the never-answering webhook ends the test quickly. */
  const caller: WebhookCaller = (url, ca, review, timeoutMs, signal) => {
    timeouts.push(timeoutMs);
    return https(url, ca, review, Math.min(timeoutMs, 100), signal);
  };
  const chain = (over: Partial<AdmissionChainOptions> = {}) => new AdmissionChain({
    listMutating: () => mutating,
    listValidating: () => validating,
    getNamespaceLabels: (ns) => (ns === 'default' ? { env: 'dev' } : undefined),
    caller,
    uid: () => `uid-${++uids}`,
    ...over,
  });

  before(async () => {
    server = await startWebhookServer();
    server.on('/allow', { response: { allowed: true } });
    server.on('/deny', { response: { allowed: false, status: { message: 'pods named web-0 are reserved' } } });
    server.on('/deny-422', { response: { allowed: false, status: { code: 422, reason: 'Invalid', message: 'spec.replicas: must be even' } } });
    server.on('/deny-200', { response: { allowed: false, status: { code: 200, message: 'no' } } });
    server.on('/deny-bare', { response: { allowed: false } });
    server.on('/deny-reason-only', { response: { allowed: false, status: { reason: 'NotAllowedHere' } } });
    server.on('/hang', 'hang');
    server.on('/add-label', { response: { allowed: true, ...jsonPatch([{ op: 'add', path: '/metadata/labels/injected', value: 'yes' }]) } });
    server.on('/add-sidecar', { response: { allowed: true, ...jsonPatch([{ op: 'add', path: '/spec/containers/-', value: { name: 'sidecar', image: 'envoy' } }]) } });
    // Reads the label the previous webhook added, to prove it sees the mutated object.
    server.on('/copy-label', (call) => {
      const labels = (call.review.request['object'] as KubeObject).metadata.labels ?? {};
      return { response: { allowed: true, ...jsonPatch([{ op: 'add', path: '/metadata/annotations', value: { seen: labels['injected'] ?? 'nothing' } }]) } };
    });
    server.on('/bad-patch', { response: { allowed: true, ...jsonPatch([{ op: 'replace', path: '/spec/nothing/here', value: 1 }]) } });
    server.on('/undecodable-patch', { response: { allowed: true, patchType: 'JSONPatch', patch: b64('{not json') } });
    server.on('/merge-patch', { response: { allowed: true, patchType: 'MergePatch', patch: b64('[{"op":"add","path":"/x","value":1}]') } });
    server.on('/warn-a', { response: { allowed: true, warnings: ['image nginx has no tag', 'shared warning'] } });
    server.on('/warn-b', { response: { allowed: true, warnings: ['shared warning', 'runs as root'] } });
    server.on('/warn-deny', { response: { allowed: false, warnings: ['about to deny'], status: { code: 403, message: 'no' } } });
    server.on('/wrong-uid', { response: { allowed: true, uid: 'somebody-else' } });
    server.on('/no-response', { raw: { status: 200, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }) } });
    server.on('/v1beta1', { response: { allowed: true }, envelope: { apiVersion: 'admission.k8s.io/v1beta1' } });
    server.on('/server-error', { raw: { status: 500, body: 'boom' } });
    server.on('/not-json', { raw: { status: 200, body: 'hello' } });
  });

  after(async () => {
    await server.close();
  });

  beforeEach(() => {
    mutating = [];
    validating = [];
    uids = 0;
    timeouts = [];
    server.calls.length = 0;
  });

  describe('validating webhooks', () => {
    it('should admit a request the webhook allows and send it a v1 AdmissionReview', async () => {
      validating = [validatingConfig('v', [hook('allow.example.com', server.url('/allow'), server.caBundle)])];
      const result = await chain().validate(podAttrs());
      assert.deepEqual(result, { warnings: [] });
      assert.equal(server.calls.length, 1);
      const call = server.calls[0]!;
      assert.equal(call.query.get('timeout'), '10s');
      assert.deepEqual(timeouts, [10_000]);
      assert.equal(call.review.apiVersion, 'admission.k8s.io/v1');
      assert.equal(call.review.kind, 'AdmissionReview');
      const req = call.review.request;
      assert.equal(req.uid, 'uid-1');
      assert.deepEqual(req['kind'], { group: '', version: 'v1', kind: 'Pod' });
      assert.deepEqual(req['resource'], { group: '', version: 'v1', resource: 'pods' });
      assert.deepEqual(req['requestKind'], { group: '', version: 'v1', kind: 'Pod' });
      assert.equal(req['operation'], 'CREATE');
      assert.equal(req['name'], 'web-0');
      assert.equal(req['namespace'], 'default');
      assert.equal('subResource' in req, false);
      assert.equal(req['dryRun'], false);
      assert.equal(req['oldObject'], null);
      assert.deepEqual(req['options'], { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' });
      assert.deepEqual(req['userInfo'], { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] });
      assert.equal((req['object'] as KubeObject).metadata.name, 'web-0');
    });

    it('should deny with a 400 and the webhook message when the denial has no code', async () => {
      validating = [validatingConfig('v', [hook('deny.example.com', server.url('/deny'), server.caBundle)])];
      const err = await rejectsWith(chain().validate(podAttrs()), 400,
        'admission webhook "deny.example.com" denied the request: pods named web-0 are reserved');
      assert.equal(err.toStatus().status, 'Failure');
    });

    it('should deny with the code, reason and message the webhook chose', async () => {
      validating = [validatingConfig('v', [hook('deny.example.com', server.url('/deny-422'), server.caBundle)])];
      const err = await rejectsWith(chain().validate(podAttrs()), 422,
        'admission webhook "deny.example.com" denied the request: spec.replicas: must be even');
      assert.equal(err.reason, 'Invalid');
    });

    it('should turn a denial code below 400 into 400', async () => {
      validating = [validatingConfig('v', [hook('deny.example.com', server.url('/deny-200'), server.caBundle)])];
      await rejectsWith(chain().validate(podAttrs()), 400, 'admission webhook "deny.example.com" denied the request: no');
    });

    it('should explain a denial by its reason, or say there is no explanation', async () => {
      validating = [validatingConfig('v', [hook('deny.example.com', server.url('/deny-reason-only'), server.caBundle)])];
      await rejectsWith(chain().validate(podAttrs()), 400, 'admission webhook "deny.example.com" denied the request: NotAllowedHere');
      validating = [validatingConfig('v', [hook('deny.example.com', server.url('/deny-bare'), server.caBundle)])];
      await rejectsWith(chain().validate(podAttrs()), 400, 'admission webhook "deny.example.com" denied the request without explanation');
    });

    it('should collect warnings from every webhook once each, in webhook order', async () => {
      validating = [
        validatingConfig('b-config', [hook('b.example.com', server.url('/warn-b'), server.caBundle)]),
        validatingConfig('a-config', [hook('a.example.com', server.url('/warn-a'), server.caBundle)]),
      ];
      const result = await chain().validate(podAttrs());
      assert.deepEqual(result.warnings, ['image nginx has no tag', 'shared warning', 'runs as root']);
    });

    it('should return the warnings of a denying webhook with the error', async () => {
      validating = [validatingConfig('v', [
        hook('warn.example.com', server.url('/warn-a'), server.caBundle),
        hook('deny.example.com', server.url('/warn-deny'), server.caBundle),
      ])];
      const err = await rejectsWith(chain().validate(podAttrs()), 403, 'admission webhook "deny.example.com" denied the request: no');
      assert.ok(err instanceof AdmissionError);
      assert.deepEqual(err.warnings, ['image nginx has no tag', 'shared warning', 'about to deny']);
    });

    it('should fail the request when a webhook times out and failurePolicy is Fail', async () => {
      validating = [validatingConfig('v', [hook('slow.example.com', server.url('/hang'), server.caBundle, { timeoutSeconds: 2 })])];
      const err = await rejectsWith(chain().validate(podAttrs()), 500,
        `Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "${server.url('/hang')}?timeout=2s": context deadline exceeded`);
      assert.equal(err.reason, 'InternalError');
      assert.deepEqual(err.details?.causes, [{ message: err.message.replace('Internal error occurred: ', '') }]);
      assert.deepEqual(timeouts, [2000]);
    });

    it('should admit the request when a webhook times out and failurePolicy is Ignore', async () => {
      validating = [validatingConfig('v', [
        hook('slow.example.com', server.url('/hang'), server.caBundle, { failurePolicy: 'Ignore' }),
        hook('warn.example.com', server.url('/warn-b'), server.caBundle),
      ])];
      const result = await chain().validate(podAttrs());
      assert.deepEqual(result.warnings, ['shared warning', 'runs as root']);
    });

    it('should fail closed when the webhook URL is unreachable', async () => {
      const port = await unusedPort();
      validating = [validatingConfig('v', [hook('gone.example.com', `https://127.0.0.1:${port}/validate`, server.caBundle)])];
      await rejectsWith(chain().validate(podAttrs()), 500,
        `Internal error occurred: failed calling webhook "gone.example.com": failed to call webhook: Post "https://127.0.0.1:${port}/validate?timeout=10s": dial tcp 127.0.0.1:${port}: connect: connection refused`);
    });

    it('should not trust the webhook certificate when caBundle holds another CA', async () => {
      const other = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: [], now: new Date() });
      validating = [validatingConfig('v', [hook('tls.example.com', server.url('/allow'), b64(other.caCertPem))])];
      await rejectsWith(chain().validate(podAttrs()), 500,
        `Internal error occurred: failed calling webhook "tls.example.com": failed to call webhook: Post "${server.url('/allow')}?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`);
    });

    it('should not trust the webhook certificate without a caBundle (system roots only)', async () => {
      validating = [validatingConfig('v', [hook('tls.example.com', server.url('/allow'), undefined)])];
      await rejectsWith(chain().validate(podAttrs()), 500, /x509: certificate signed by unknown authority$/);
    });

    it('should report a caBundle that holds no certificate without calling the webhook', async () => {
      validating = [validatingConfig('v', [hook('tls.example.com', server.url('/allow'), b64('not a certificate'))])];
      await rejectsWith(chain().validate(podAttrs()), 500,
        'Internal error occurred: failed calling webhook "tls.example.com": could not get REST client: unable to load root certificates: unable to parse bytes as PEM block');
      assert.equal(server.calls.length, 0);
    });

    it('should reject a response for another request uid', async () => {
      validating = [validatingConfig('v', [hook('uid.example.com', server.url('/wrong-uid'), server.caBundle)])];
      await rejectsWith(chain().validate(podAttrs()), 500,
        'Internal error occurred: failed calling webhook "uid.example.com": received invalid webhook response: expected response.uid="uid-1", got "somebody-else"');
    });

    it('should reject malformed responses as call failures', async () => {
      const cases: [string, string][] = [
        ['/no-response', 'received invalid webhook response: webhook response was absent'],
        ['/v1beta1', 'received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got admission.k8s.io/v1beta1, Kind=AdmissionReview'],
        ['/add-label', 'received invalid webhook response: validating webhook may not return response.patch'],
        ['/server-error', 'failed to call webhook: an error on the server ("boom") has prevented the request from succeeding'],
        ['/nowhere', 'failed to call webhook: the server could not find the requested resource'],
        ['/not-json', /^failed to call webhook: couldn't decode the response body as JSON: /.source],
      ];
      for (const [path, why] of cases) {
        validating = [validatingConfig('v', [hook('bad.example.com', server.url(path), server.caBundle)])];
        const prefix = 'Internal error occurred: failed calling webhook "bad.example.com": ';
        await rejectsWith(chain().validate(podAttrs()), 500, why.startsWith('^') ? new RegExp(`^${prefix.replace(/[()]/g, '\\$&')}${why.slice(1)}`) : `${prefix}${why}`);
      }
    });

    it('should skip webhooks whose rules or selectors do not match', async () => {
      validating = [validatingConfig('v', [
        hook('nodes.example.com', server.url('/deny'), server.caBundle, { rules: [{ operations: ['*'], apiGroups: [''], apiVersions: ['v1'], resources: ['nodes'] }] }),
        hook('db.example.com', server.url('/deny'), server.caBundle, { objectSelector: { matchLabels: { app: 'db' } } }),
        hook('prod.example.com', server.url('/deny'), server.caBundle, { namespaceSelector: { matchLabels: { env: 'prod' } } }),
        hook('dev.example.com', server.url('/allow'), server.caBundle, { namespaceSelector: { matchLabels: { env: 'dev' } } }),
      ])];
      await chain().validate(podAttrs());
      assert.deepEqual(server.calls.map((c) => c.path), ['/allow']);
    });

    it('should send a DELETE review with oldObject, no object and the dryRun flag', async () => {
      validating = [validatingConfig('v', [hook('allow.example.com', server.url('/allow'), server.caBundle)])];
      await chain().validate(podAttrs({
        operation: 'DELETE', object: undefined, oldObject: pod('web-0', { app: 'web' }), dryRun: true,
        options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] },
      }));
      const req = server.calls[0]!.review.request;
      assert.equal(req['operation'], 'DELETE');
      assert.equal(req['object'], null);
      assert.equal((req['oldObject'] as KubeObject).metadata.name, 'web-0');
      assert.equal(req['dryRun'], true);
      assert.deepEqual(req['options'], { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] });
    });

    it('should refuse a dry run with a 400 when the webhook has side effects', async () => {
      validating = [validatingConfig('v', [hook('effects.example.com', server.url('/allow'), server.caBundle, { sideEffects: 'Some', failurePolicy: 'Ignore' })])];
      await rejectsWith(chain().validate(podAttrs({ dryRun: true })), 400, 'admission webhook "effects.example.com" does not support dry run');
      assert.equal(server.calls.length, 0);
    });

    it('should treat a service reference as a call failure the sandbox cannot route', async () => {
      validating = [validatingConfig('v', [{
        ...hook('svc.example.com', '', undefined), clientConfig: { service: { namespace: 'kruise-system', name: 'webhook' } },
      }])];
      await rejectsWith(chain().validate(podAttrs()), 500,
        'Internal error occurred: failed calling webhook "svc.example.com": could not get REST client: clientConfig.service is not routable from the sandbox API server; use clientConfig.url');
      // A new object, as the API server stores one per write (compiled configurations are cached per object).
      validating = [validatingConfig('v', [{
        ...hook('svc.example.com', '', undefined), failurePolicy: 'Ignore', clientConfig: { service: { namespace: 'kruise-system', name: 'webhook' } },
      }])];
      assert.deepEqual(await chain().validate(podAttrs()), { warnings: [] });
    });

    it('should treat a webhook that does not accept v1 reviews as a call failure', async () => {
      validating = [validatingConfig('v', [hook('old.example.com', server.url('/allow'), server.caBundle, { admissionReviewVersions: ['v1beta1'] })])];
      await rejectsWith(chain().validate(podAttrs()), 500,
        'Internal error occurred: failed calling webhook "old.example.com": could not create admission objects: webhook does not accept known AdmissionReview versions (v1)');
    });

    it('should fail with the webhook order first error when several webhooks reject', async () => {
      validating = [validatingConfig('v', [
        hook('first.example.com', server.url('/deny-422'), server.caBundle),
        hook('second.example.com', server.url('/deny'), server.caBundle),
      ])];
      await rejectsWith(chain({ maxParallelValidating: 1 }).validate(podAttrs()), 422, /^admission webhook "first\.example\.com" denied/);
      assert.equal(server.calls.length, 2);
    });

    it('should not call webhooks for writes to webhook configurations', async () => {
      validating = [validatingConfig('v', [hook('deny.example.com', server.url('/deny'), server.caBundle, { rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }] })])];
      await chain().validate(podAttrs({
        kind: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration' },
        resource: { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations' }, namespace: '',
      }));
      assert.equal(server.calls.length, 0);
    });

    it('should answer 504 when the request is already cancelled', async () => {
      validating = [validatingConfig('v', [hook('allow.example.com', server.url('/allow'), server.caBundle)])];
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(chain().validate(podAttrs(), ac.signal), 504, 'Timeout: request did not complete within requested timeout');
    });
  });

  describe('mutating webhooks', () => {
    it('should apply a JSONPatch response to the object', async () => {
      mutating = [mutatingConfig('m', [hook('label.example.com', server.url('/add-label'), server.caBundle)])];
      const attrs = podAttrs();
      const result = await chain().mutate(attrs);
      assert.deepEqual(result.object?.metadata.labels, { app: 'web', injected: 'yes' });
      assert.deepEqual(attrs.object?.metadata.labels, { app: 'web' }, 'the input object is not changed');
    });

    it('should call webhooks by configuration name, then declaration order, each seeing the previous patch', async () => {
      mutating = [
        mutatingConfig('b-second', [hook('copy.example.com', server.url('/copy-label'), server.caBundle)]),
        mutatingConfig('a-first', [
          hook('label.example.com', server.url('/add-label'), server.caBundle),
          hook('sidecar.example.com', server.url('/add-sidecar'), server.caBundle),
        ]),
      ];
      const result = await chain().mutate(podAttrs());
      assert.deepEqual(server.calls.map((c) => c.path), ['/add-label', '/add-sidecar', '/copy-label']);
      assert.deepEqual(result.object?.metadata.annotations, { seen: 'yes' });
      assert.deepEqual((result.object?.['spec'] as { containers: { name: string }[] }).containers.map((c) => c.name), ['main', 'sidecar']);
    });

    it('should evaluate objectSelector against the object as patched so far', async () => {
      mutating = [mutatingConfig('m', [
        hook('label.example.com', server.url('/add-label'), server.caBundle),
        hook('needs-label.example.com', server.url('/add-sidecar'), server.caBundle, { objectSelector: { matchLabels: { injected: 'yes' } } }),
      ])];
      await chain().mutate(podAttrs());
      assert.deepEqual(server.calls.map((c) => c.path), ['/add-label', '/add-sidecar']);
    });

    it('should return the object unchanged and the warnings when webhooks only warn', async () => {
      mutating = [mutatingConfig('m', [hook('warn.example.com', server.url('/warn-a'), server.caBundle)])];
      const result = await chain().mutate(podAttrs());
      assert.deepEqual(result, { object: podAttrs().object, warnings: ['image nginx has no tag', 'shared warning'] });
    });

    it('should stop at a denial', async () => {
      mutating = [mutatingConfig('m', [
        hook('deny.example.com', server.url('/deny'), server.caBundle),
        hook('label.example.com', server.url('/add-label'), server.caBundle),
      ])];
      await rejectsWith(chain().mutate(podAttrs()), 400, 'admission webhook "deny.example.com" denied the request: pods named web-0 are reserved');
      assert.equal(server.calls.length, 1);
    });

    it('should go on past a timed-out webhook whose failurePolicy is Ignore', async () => {
      mutating = [mutatingConfig('m', [
        hook('slow.example.com', server.url('/hang'), server.caBundle, { failurePolicy: 'Ignore', timeoutSeconds: 1 }),
        hook('label.example.com', server.url('/add-label'), server.caBundle),
      ])];
      const result = await chain().mutate(podAttrs());
      assert.equal(result.object?.metadata.labels?.['injected'], 'yes');
      assert.deepEqual(timeouts, [1000, 10_000]);
    });

    it('should fail on a timed-out webhook whose failurePolicy is Fail', async () => {
      mutating = [mutatingConfig('m', [hook('slow.example.com', server.url('/hang'), server.caBundle)])];
      await rejectsWith(chain().mutate(podAttrs()), 500, /^Internal error occurred: failed calling webhook "slow\.example\.com": failed to call webhook: Post ".*\/hang\?timeout=10s": context deadline exceeded$/);
    });

    it('should answer 500 when a patch does not apply, whatever the failurePolicy', async () => {
      mutating = [mutatingConfig('m', [hook('bad.example.com', server.url('/bad-patch'), server.caBundle, { failurePolicy: 'Ignore' })])];
      await rejectsWith(chain().mutate(podAttrs()), 500, /^Internal error occurred: JSON patch from admission webhook "bad\.example\.com" does not apply: /);
    });

    it('should treat an undecodable patch or an unsupported patch type as a call failure', async () => {
      mutating = [mutatingConfig('m', [hook('bad.example.com', server.url('/undecodable-patch'), server.caBundle)])];
      await rejectsWith(chain().mutate(podAttrs()), 500, /^Internal error occurred: failed calling webhook "bad\.example\.com": received undecodable patch in webhook response: /);
      mutating = [mutatingConfig('m', [hook('bad.example.com', server.url('/merge-patch'), server.caBundle)])];
      await rejectsWith(chain().mutate(podAttrs()), 500, 'Internal error occurred: failed calling webhook "bad.example.com": unsupported patch type "MergePatch"');
      mutating = [mutatingConfig('m', [hook('bad.example.com', server.url('/merge-patch'), server.caBundle, { failurePolicy: 'Ignore' })])];
      assert.deepEqual((await chain().mutate(podAttrs())).object, podAttrs().object);
    });

    it('should refuse a patch for a DELETE, which has no object to patch', async () => {
      mutating = [mutatingConfig('m', [hook('label.example.com', server.url('/add-label'), server.caBundle)])];
      const attrs = podAttrs({ operation: 'DELETE', object: undefined, oldObject: pod('web-0', { app: 'web' }) });
      await rejectsWith(chain().mutate(attrs), 500,
        'Internal error occurred: admission webhook "label.example.com" attempted to modify the object, which is not supported for this operation');
      const req = server.calls[0]!.review.request;
      assert.equal(req['object'], null);
      assert.equal((req['oldObject'] as KubeObject).metadata.name, 'web-0');
    });

    it('should reject a mutating response for another request uid', async () => {
      mutating = [mutatingConfig('m', [hook('uid.example.com', server.url('/wrong-uid'), server.caBundle)])];
      await rejectsWith(chain().mutate(podAttrs()), 500, /received invalid webhook response: expected response\.uid="uid-1", got "somebody-else"$/);
    });

    it('should fail a dry run on a webhook without sideEffects per its failurePolicy', async () => {
      mutating = [mutatingConfig('m', [{ ...hook('nil.example.com', server.url('/add-label'), server.caBundle), sideEffects: undefined }])];
      await rejectsWith(chain().mutate(podAttrs({ dryRun: true })), 500, 'Internal error occurred: failed calling webhook "nil.example.com": Webhook SideEffects is nil');
    });
  });
});
