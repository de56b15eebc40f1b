/** The webhook table: deploy/webhooks.yaml is its rendering, every path has a handler, and the wiring rules hold. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  buildRoutes, buildWebhookConfigurations, renderWebhooksYaml, WEBHOOKS,
} from '../../../../src/coordinator/admission/index.js';
import { fakeLookups, PROTECTION_ON } from './helpers.js';

const REPO = new URL('../../../../../', import.meta.url);

type Entry = Record<string, unknown> & { name: string; clientConfig: Record<string, unknown>; objectSelector?: unknown; failurePolicy: string };

describe('webhook configurations', () => {
  it('deploy/webhooks.yaml equals the generated output (regenerate with generate-webhooks-yaml.js)', async () => {
    assert.equal(await readFile(new URL('deploy/webhooks.yaml', REPO), 'utf8'), renderWebhooksYaml());
  });

  it('has a handler for every path', () => {
    const routes = buildRoutes({ gates: PROTECTION_ON, lookups: fakeLookups({}) });
    for (const w of WEBHOOKS) assert.equal(typeof routes.get(w.path), 'function', w.path);
  });

  it('uses upstream paths and names for the deletion webhooks', () => {
    const byName = new Map(WEBHOOKS.map((w) => [w.name, w.path]));
    assert.deepEqual([...byName].filter(([n]) => /^v(namespace|customresourcedefinition|builtin|service|ingress|cloneset)/.test(n)), [
      ['vcloneset.kb.io', '/validate-apps-kruise-io-v1alpha1-cloneset'],
      ['vnamespace.kb.io', '/validate-namespace'],
      ['vcustomresourcedefinition.kb.io', '/validate-customresourcedefinition'],
      ['vbuiltindeployment.kb.io', '/validate-apps-deployment'],
      ['vbuiltinreplicaset.kb.io', '/validate-apps-replicaset'],
      ['vbuiltinstatefulset.kb.io', '/validate-apps-statefulset'],
      ['vservice.kb.io', '/validate-service'],
      ['vingress.kb.io', '/validate-ingress'],
    ]);
  });

  it('selects only labelled built-in objects for deletion, fails closed, and skips system namespaces', () => {
    const [, validating] = buildWebhookConfigurations({ target: { urlBase: 'https://127.0.0.1:1' } });
    for (const w of validating['webhooks'] as Entry[]) {
      if (!/^v(namespace|customresourcedefinition|builtin|service|ingress)/.test(w.name)) continue;
      assert.deepEqual(w.objectSelector, { matchExpressions: [{ key: 'policy.kruise.io/delete-protection', operator: 'Exists' }] }, w.name);
      assert.equal(w.failurePolicy, 'Fail');
      assert.deepEqual(w['namespaceSelector'], { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kruise-system'] }] });
    }
    const cloneset = (validating['webhooks'] as Entry[]).find((w) => w.name === 'vcloneset.kb.io')!;
    assert.equal(cloneset.objectSelector, undefined);
  });

  it('makes the label-warning webhooks fail open', () => {
    const warn = WEBHOOKS.filter((w) => w.handler === 'protection-label-warning');
    assert.equal(warn.length, 2);
    for (const w of warn) assert.equal(w.failurePolicy, 'Ignore');
  });

  it('puts url or service and the CA bundle into every clientConfig', () => {
    const [m, v] = buildWebhookConfigurations({ target: { urlBase: 'https://127.0.0.1:9443/' }, caBundlePem: 'PEM' });
    for (const w of [...(m['webhooks'] as Entry[]), ...(v['webhooks'] as Entry[])]) {
      assert.match(String(w.clientConfig['url']), /^https:\/\/127\.0\.0\.1:9443\/[a-z]/);
      assert.equal(w.clientConfig['caBundle'], Buffer.from('PEM').toString('base64'));
    }
    const [ms] = buildWebhookConfigurations({ target: { service: { namespace: 'ns', name: 'svc' } } });
    assert.deepEqual((ms['webhooks'] as Entry[])[0]!.clientConfig, {
      service: { namespace: 'ns', name: 'svc', path: '/mutate-apps-kruise-io-v1alpha1-cloneset', port: 443 },
    });
  });
});
