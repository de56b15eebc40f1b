/**
 * Bad input: every malformed or invalid request gets a Kubernetes Status with the right code and reason, and the
 * store is unchanged (no write, no resourceVersion bump).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { assertStatus } from '../support/integration-helpers.js';

const CMS = '/api/v1/namespaces/default/configmaps';

describe('bad input', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ crds: false });
    const r = await h.request('POST', CMS, { metadata: { name: 'existing' }, data: { a: '1' } });
    assert.equal(r.status, 201);
  });
  after(async () => { await h.close(); });

  /** Sends the request and checks the Status, then that nothing was written. */
  const refused = async (code: number, reason: string, method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const rv = h.server.storage.resourceVersion;
    const r = await h.request(method, path, body, headers);
    const s = assertStatus(r, code, reason);
    assert.equal(h.server.storage.resourceVersion, rv, `no write for ${method} ${path}`);
    return s;
  };

  it('refuses malformed JSON with 400', async () => {
    for (const text of ['{', '{"metadata": {"name": "x"}', 'nul', '{"a":1}}', '\u0000']) {
      const s = await refused(400, 'BadRequest', 'POST', CMS, text);
      assert.ok(s.message, 'a message says what is wrong');
    }
  });

  it('refuses malformed YAML with 400 and accepts well-formed YAML', async () => {
    await refused(400, 'BadRequest', 'POST', CMS, 'metadata: {name: [unclosed\n', { 'Content-Type': 'application/yaml' });
    await refused(400, 'BadRequest', 'POST', CMS, 'a: &x [*x, *x]\nb: *y\n', { 'Content-Type': 'application/yaml' });
    const ok = await h.request('POST', CMS, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n', { 'Content-Type': 'application/yaml' });
    assert.equal(ok.status, 201, ok.text);
  });

  it('refuses an empty body, a list or a scalar with 400', async () => {
    await refused(400, 'BadRequest', 'POST', CMS, '');
    await refused(400, 'BadRequest', 'POST', CMS, '[1,2]');
    await refused(400, 'BadRequest', 'POST', CMS, '"configmap"');
    await refused(400, 'BadRequest', 'POST', CMS, 'null');
  });

  it('refuses a wrong kind or apiVersion with 400', async () => {
    await refused(400, 'BadRequest', 'POST', CMS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } });
    await refused(400, 'BadRequest', 'POST', CMS, { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    await refused(400, 'BadRequest', 'POST', CMS, { apiVersion: 7, kind: 'ConfigMap', metadata: { name: 'x' } });
    await refused(400, 'BadRequest', 'PUT', `${CMS}/existing`, { apiVersion: 'v2', kind: 'ConfigMap', metadata: { name: 'existing' } });
  });

  it('refuses invalid names with 422 naming metadata.name', async () => {
    for (const name of ['Upper', 'under_score', 'trailing-', '-leading', 'a'.repeat(254), 'sp ace', 'dot..dot']) {
      const s = await refused(422, 'Invalid', 'POST', CMS, { metadata: { name } });
      assert.ok(s.details?.causes?.some((c) => c.field === 'metadata.name'), `cause for ${name}: ${JSON.stringify(s.details)}`);
    }
    const s = await refused(422, 'Invalid', 'POST', CMS, { metadata: {} });
    assert.equal(s.details?.causes?.[0]?.reason, 'FieldValueRequired');
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { generateName: 'Bad_' } });
  });

  it('refuses invalid label keys and values, and wrongly typed metadata, with 422', async () => {
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'l1', labels: { 'bad key!': 'v' } } });
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'l2', labels: { k: 'v'.repeat(64) } } });
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'l3', labels: { k: 5 } } });
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'l4', labels: ['a'] } });
    await refused(422, 'Invalid', 'POST', CMS, { metadata: 'name' });
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 5 } });
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'f', finalizers: 'x' } });
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'f', annotations: { a: 'x'.repeat(300 * 1024) } } });
  });

  it('refuses a pod without containers with 422 and causes', async () => {
    const s = await refused(422, 'Invalid', 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'p' }, spec: {} });
    assert.equal(s.details?.causes?.[0]?.field, 'spec.containers');
    assert.equal(s.details?.kind, 'Pod');
  });

  it('refuses wrongly typed fields of built-in kinds with 422 naming the field', async () => {
    const cm = await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'typed' }, data: { k: 5 } });
    assert.match(cm.message ?? "", /data\[?k?\]?/);
    await refused(422, 'Invalid', 'POST', CMS, { metadata: { name: 'typed' }, data: 'text' });
    const dep = await refused(422, 'Invalid', 'POST', '/apis/apps/v1/namespaces/default/deployments', {
      metadata: { name: 'typed' }, spec: { replicas: 'three', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    assert.match(dep.message ?? "", /spec\.replicas/);
    await refused(422, 'Invalid', 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'typed' }, spec: { containers: [{ name: 'c', image: 42 }] } });
  });

  it('refuses an oversized body with 413', async () => {
    const big = JSON.stringify({ metadata: { name: 'big' }, data: { blob: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    await refused(413, 'RequestEntityTooLarge', 'POST', CMS, big);
  });

  it('refuses an unsupported content type with 415', async () => {
    await refused(415, 'UnsupportedMediaType', 'POST', CMS, '{"metadata":{"name":"x"}}', { 'Content-Type': 'application/vnd.kubernetes.protobuf-x' });
    await refused(415, 'UnsupportedMediaType', 'POST', CMS, 'x', { 'Content-Type': 'text/plain' });
  });

  it('refuses a PUT whose body names another object with 400', async () => {
    await refused(400, 'BadRequest', 'PUT', `${CMS}/existing`, { metadata: { name: 'other' } });
  });

  it('refuses a patch body that is not a patch with 400 and a patch that fails with 422 or 400', async () => {
    await refused(400, 'BadRequest', 'PATCH', `${CMS}/existing`, '{not json', { 'Content-Type': 'application/merge-patch+json' });
    await refused(400, 'BadRequest', 'PATCH', `${CMS}/existing`, { op: 'add' }, { 'Content-Type': 'application/json-patch+json' });
    const rv = h.server.storage.resourceVersion;
    const r = await h.request('PATCH', `${CMS}/existing`, [{ op: 'remove', path: '/data/missing' }], { 'Content-Type': 'application/json-patch+json' });
    assert.ok(r.status === 422 || r.status === 400, r.text);
    assert.equal((r.json as { kind: string }).kind, 'Status');
    assert.equal(h.server.storage.resourceVersion, rv);
    await refused(422, 'Invalid', 'PATCH', `${CMS}/existing`, { metadata: { labels: { 'a/b/c': 'x' } } }, { 'Content-Type': 'application/merge-patch+json' });
  });

  it('answers unknown paths with 404 and unsupported methods with 405', async () => {
    await refused(404, 'NotFound', 'GET', '/api/v1/namespaces/default/widgets', undefined);
    await refused(404, 'NotFound', 'GET', '/apis/nope.example.com/v1/things', undefined);
    await refused(404, 'NotFound', 'POST', `${CMS}/existing/nosuchsub`, { a: 1 });
    await refused(405, 'MethodNotAllowed', 'POST', `${CMS}/existing`, { metadata: { name: 'existing' } });
    await refused(405, 'MethodNotAllowed', 'PUT', '/version', { a: 1 });
  });

  it('refuses bad query parameters with 400', async () => {
    await refused(400, 'BadRequest', 'GET', `${CMS}?limit=ten`, undefined);
    await refused(400, 'BadRequest', 'POST', `${CMS}?fieldValidation=Loose`, { metadata: { name: 'q' } });
    await refused(400, 'BadRequest', 'GET', `${CMS}?watch=true&resourceVersion=abc`, undefined);
  });

  it('keeps the existing object intact after all of the above', async () => {
    const r = await h.request('GET', `${CMS}/existing`);
    assert.equal(r.status, 200);
    assert.deepEqual((r.json as { data: Record<string, string> }).data, { a: '1' });
  });
});
