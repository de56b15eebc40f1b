/**
 * Admission webhooks from webhook configuration objects, against a real HTTPS webhook server (port 0, certificate
 * from the sandbox PKI): mutating then validating, AdmissionReview v1, rules and operations, namespace and object
 * selectors, failurePolicy, timeouts, dry run and warnings shown to the client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { assertStatus, rejectsWithStatus, uniqueName } from '../support/integration-helpers.js';
import { jsonPatch, startWebhookServer, unusedPort, type WebhookServer } from '../unit/admission/webhook-server.js';

interface HookSpec {
  path: string;
  operations?: string[];
  resources?: string[];
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  sideEffects?: string;
  objectSelector?: Record<string, unknown>;
  url?: string;
}

describe('admission webhooks', () => {
  let h: Harness;
  let wh: WebhookServer;
  let core: CoreV1Api;
  let adm: AdmissionregistrationV1Api;
  const configs: { kind: 'mutating' | 'validating'; name: string }[] = [];

  before(async () => {
    h = await startHarness({ crds: false });
    wh = await startWebhookServer();
    core = h.kubeConfig.makeApiClient(CoreV1Api);
    adm = h.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  });
  after(async () => {
    await wh.close();
    await h.close();
  });

  /** A namespace with a label only this test's webhooks select, so tests do not see each other's webhooks. */
  const scopedNamespace = async (): Promise<{ ns: string; selector: Record<string, unknown> }> => {
    const ns = uniqueName('adm');
    await core.createNamespace({ body: { metadata: { name: ns, labels: { 'admission-test': ns } } } });
    return { ns, selector: { matchLabels: { 'admission-test': ns } } };
  };

  const webhook = (name: string, nsSelector: Record<string, unknown>, s: HookSpec) => ({
    name,
    clientConfig: { url: s.url ?? wh.url(s.path), caBundle: wh.caBundle },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: s.operations ?? ['CREATE', 'UPDATE'], resources: s.resources ?? ['configmaps'] }],
    admissionReviewVersions: ['v1'],
    sideEffects: s.sideEffects ?? 'None',
    failurePolicy: s.failurePolicy ?? 'Fail',
    timeoutSeconds: s.timeoutSeconds ?? 5,
    namespaceSelector: nsSelector,
    ...(s.objectSelector ? { objectSelector: s.objectSelector } : {}),
  });

  const install = async (kind: 'mutating' | 'validating', nsSelector: Record<string, unknown>, hooks: HookSpec[]): Promise<string> => {
    const name = uniqueName(kind);
    const body = { apiVersion: 'admissionregistration.k8s.io/v1', kind: kind === 'mutating' ? 'MutatingWebhookConfiguration' : 'ValidatingWebhookConfiguration',
      metadata: { name }, webhooks: hooks.map((s, i) => webhook(`${i}.${name}.example.com`, nsSelector, s)) };
    // Raw: client-node's typed serializer would do, but the wire shape is what we test.
    const r = await h.request('POST', `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations`, body);
    assert.equal(r.status, 201, r.text);
    configs.push({ kind, name });
    return name;
  };

  const callsTo = (path: string) => wh.calls.filter((c) => c.path === path);

  it('calls mutating webhooks before validating ones, and the validating webhook sees the mutated object', async () => {
    const { ns, selector } = await scopedNamespace();
    const order: string[] = [];
    wh.on('/m1', (call) => { order.push('mutate'); void call; return { response: { allowed: true, ...jsonPatch([{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }]) } }; });
    wh.on('/v1', (call) => {
      order.push('validate');
      const labels = (call.review.request.object as { metadata: { labels?: Record<string, string> } }).metadata.labels;
      return { response: { allowed: labels?.mutated === 'yes' } };
    });
    await install('validating', selector, [{ path: '/v1' }]);
    await install('mutating', selector, [{ path: '/m1' }]);
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } });
    assert.equal(cm.metadata?.labels?.mutated, 'yes');
    assert.deepEqual(order, ['mutate', 'validate']);
  });

  it('sends an AdmissionReview v1 with the request attributes, the object and the old object', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/review', { response: { allowed: true } });
    await install('validating', selector, [{ path: '/review', operations: ['CREATE', 'UPDATE', 'DELETE'] }]);
    const before = wh.calls.length;
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'r' }, data: { a: '1' } } });
    await core.replaceNamespacedConfigMap({ name: 'r', namespace: ns, body: { ...cm, data: { a: '2' } } });
    await core.deleteNamespacedConfigMap({ name: 'r', namespace: ns });
    const calls = wh.calls.slice(before).filter((c) => c.path === '/review');
    assert.deepEqual(calls.map((c) => c.review.request.operation), ['CREATE', 'UPDATE', 'DELETE']);
    const [create, update, del] = calls.map((c) => c.review);
    assert.equal(create!.apiVersion, 'admission.k8s.io/v1');
    assert.equal(create!.kind, 'AdmissionReview');
    const req = create!.request as Record<string, unknown>;
    assert.match(String(req.uid), /^[0-9a-f-]{36}$/);
    assert.deepEqual(req.kind, { group: '', version: 'v1', kind: 'ConfigMap' });
    assert.deepEqual(req.resource, { group: '', version: 'v1', resource: 'configmaps' });
    assert.equal(req.namespace, ns);
    assert.equal(req.name, 'r');
    assert.equal(req.dryRun, false);
    assert.equal((req.userInfo as { username: string }).username, 'test-admin');
    assert.equal((update!.request.oldObject as { data: { a: string } }).data.a, '1');
    assert.equal((update!.request.object as { data: { a: string } }).data.a, '2');
    assert.equal(del!.request.object ?? null, null);
    assert.equal((del!.request.oldObject as { metadata: { name: string } }).metadata.name, 'r');
    assert.notEqual(create!.request.uid, update!.request.uid);
  });

  it('answers a denial with the webhook message and code, and stores nothing', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/deny', { response: { allowed: false, status: { code: 403, reason: 'Forbidden', message: 'no config maps named forbidden' } } });
    const config = await install('validating', selector, [{ path: '/deny' }]);
    const s = await rejectsWithStatus(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'forbidden' } } }), 403, 'Forbidden');
    assert.equal(s.message, `admission webhook "0.${config}.example.com" denied the request: no config maps named forbidden`);
    await rejectsWithStatus(core.readNamespacedConfigMap({ name: 'forbidden', namespace: ns }), 404, 'NotFound');
  });

  it('defaults a denial without a code to 400', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/deny-plain', { response: { allowed: false } });
    await install('validating', selector, [{ path: '/deny-plain' }]);
    const r = await h.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'x' } });
    assert.equal(r.status, 400);
    assert.match((r.json as { message: string }).message, /denied the request without explanation/);
  });

  it('calls a webhook only for the operations and resources of its rules', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/create-only', { response: { allowed: true } });
    await install('validating', selector, [{ path: '/create-only', operations: ['CREATE'], resources: ['configmaps'] }]);
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } });
    await core.replaceNamespacedConfigMap({ name: 'x', namespace: ns, body: { ...cm, data: { a: '1' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 's' } } });
    const calls = callsTo('/create-only').filter((c) => c.review.request.namespace === ns);
    assert.deepEqual(calls.map((c) => `${c.review.request.operation} ${(c.review.request.resource as { resource: string }).resource}`), ['CREATE configmaps']);
  });

  it('calls a webhook only in namespaces its namespaceSelector matches and for objects its objectSelector matches', async () => {
    const { ns, selector } = await scopedNamespace();
    const other = uniqueName('adm-other');
    await core.createNamespace({ body: { metadata: { name: other } } });
    wh.on('/objsel', { response: { allowed: false, status: { message: 'selected' } } });
    await install('validating', selector, [{ path: '/objsel', objectSelector: { matchExpressions: [{ key: 'guarded', operator: 'Exists' }] } }]);
    await core.createNamespacedConfigMap({ namespace: other, body: { metadata: { name: 'g', labels: { guarded: 'yes' } } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'free' } } });
    await rejectsWithStatus(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'g', labels: { guarded: 'yes' } } } }), 400, '');
  });

  it('fails the request with 500 when a Fail webhook is unreachable, and ignores it under Ignore', async () => {
    const { ns, selector } = await scopedNamespace();
    const port = await unusedPort();
    await install('validating', selector, [{ path: '/x', url: `https://127.0.0.1:${port}/x`, failurePolicy: 'Ignore' }]);
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'ignored' } } });
    await install('validating', selector, [{ path: '/x', url: `https://127.0.0.1:${port}/x`, failurePolicy: 'Fail' }]);
    const r = await h.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'failed' } });
    const s = assertStatus(r, 500, 'InternalError');
    assert.match(s.message ?? '', /failed calling webhook .*connection refused/);
    await rejectsWithStatus(core.readNamespacedConfigMap({ name: 'failed', namespace: ns }), 404, 'NotFound');
  });

  it('times out a webhook that does not answer within timeoutSeconds', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/hang', 'hang');
    await install('mutating', selector, [{ path: '/hang', timeoutSeconds: 1, failurePolicy: 'Fail' }]);
    const started = Date.now();
    const r = await h.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'slow' } });
    assertStatus(r, 500, 'InternalError');
    assert.match((r.json as { message: string }).message, /deadline exceeded|timeout|timed out/i);
    assert.ok(Date.now() - started < 4000, 'the timeout was honoured');
    await rejectsWithStatus(core.readNamespacedConfigMap({ name: 'slow', namespace: ns }), 404, 'NotFound');
  });

  it('shows the warnings of mutating and validating webhooks to the client as Warning headers', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/warn-m', { response: { allowed: true, warnings: ['mutator says hi'] } });
    wh.on('/warn-v', { response: { allowed: true, warnings: ['validator says "careful"'] } });
    await install('mutating', selector, [{ path: '/warn-m' }]);
    await install('validating', selector, [{ path: '/warn-v' }]);
    const r = await h.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'w' } });
    assert.equal(r.status, 201);
    const warning = r.headers.get('warning') ?? '';
    assert.match(warning, /299 - "mutator says hi"/);
    assert.match(warning, /299 - "validator says \\"careful\\""/);
  });

  it('marks dry-run reviews, and refuses dry run for a webhook with side effects with 400', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/dry', { response: { allowed: true } });
    await install('validating', selector, [{ path: '/dry' }]);
    await core.createNamespacedConfigMap({ namespace: ns, dryRun: 'All', body: { metadata: { name: 'd' } } });
    const last = callsTo('/dry').at(-1)!;
    assert.equal(last.review.request.dryRun, true);
    await install('validating', selector, [{ path: '/dry', sideEffects: 'Some' }]);
    const r = await h.request('POST', `/api/v1/namespaces/${ns}/configmaps?dryRun=All`, { metadata: { name: 'd2' } });
    assertStatus(r, 400, 'BadRequest');
  });

  it('refuses a mutating patch that does not apply with 500 and stores nothing', async () => {
    const { ns, selector } = await scopedNamespace();
    wh.on('/badpatch', { response: { allowed: true, ...jsonPatch([{ op: 'replace', path: '/no/such/path', value: 1 }]) } });
    await install('mutating', selector, [{ path: '/badpatch' }]);
    assertStatus(await h.request('POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'p' } }), 500, 'InternalError');
    await rejectsWithStatus(core.readNamespacedConfigMap({ name: 'p', namespace: ns }), 404, 'NotFound');
  });

  it('lists webhook configurations through the typed client', async () => {
    const list = await adm.listValidatingWebhookConfiguration();
    assert.ok(configs.filter((c) => c.kind === 'validating').every((c) => list.items.some((i) => i.metadata?.name === c.name)));
    const m = await adm.listMutatingWebhookConfiguration();
    assert.ok(m.items.every((i) => (i.webhooks ?? []).every((w) => w.clientConfig.url?.startsWith('https://'))));
  });
});
