import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelSelector } from '../../../src/api/meta.js';
import { ApiError } from '../../../src/sandbox/apiserver/api-error.js';
import {
  type AdmissionAttributes, type RuleWithOperations, isExemptAdmissionConfigurationResource, matchNamespaceSelector,
  matchObjectSelector, matchesRule, shouldCallWebhook,
} from '../../../src/sandbox/apiserver/admission/index.js';
import { pod, podAttrs } from './fixtures.js';

const namespaceAttrs = (operation: AdmissionAttributes['operation'], labels?: Record<string, string>): AdmissionAttributes => podAttrs({
  operation,
  kind: { group: '', version: 'v1', kind: 'Namespace' },
  resource: { group: '', version: 'v1', resource: 'namespaces' },
  name: 'team-a',
  namespace: operation === 'CREATE' ? '' : 'team-a',
  object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', ...(labels ? { labels } : {}) } },
});

const nodeAttrs = podAttrs({
  kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' }, name: 'n1', namespace: '',
  object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { role: 'worker' } } },
});

describe('rule matching', () => {
  const rule = (r: Partial<RuleWithOperations>): RuleWithOperations => ({
    operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], ...r,
  });
  const statusUpdate = podAttrs({ operation: 'UPDATE', subResource: 'status' });
  const cloneSet = podAttrs({
    kind: { group: 'apps.kruise.io', version: 'v1alpha1', kind: 'CloneSet' },
    resource: { group: 'apps.kruise.io', version: 'v1alpha1', resource: 'clonesets' }, subResource: 'scale', operation: 'UPDATE',
  });
  const rows: [string, RuleWithOperations, AdmissionAttributes, boolean][] = [
    ['exact group, version, resource and operation', rule({}), podAttrs(), true],
    ['another operation', rule({}), podAttrs({ operation: 'DELETE' }), false],
    ['operation wildcard', rule({ operations: ['*'] }), podAttrs({ operation: 'DELETE' }), true],
    ['one of several operations', rule({ operations: ['UPDATE', 'CREATE'] }), podAttrs(), true],
    ['another group', rule({ apiGroups: ['apps'] }), podAttrs(), false],
    ['group wildcard', rule({ apiGroups: ['*'] }), podAttrs(), true],
    ['another version', rule({ apiVersions: ['v2'] }), podAttrs(), false],
    ['version wildcard', rule({ apiVersions: ['*'] }), podAttrs(), true],
    ['resource wildcard', rule({ resources: ['*'] }), podAttrs(), true],
    ['main resource rule does not match a subresource', rule({ operations: ['*'] }), statusUpdate, false],
    ['resource wildcard does not match a subresource', rule({ operations: ['*'], resources: ['*'] }), statusUpdate, false],
    ['named subresource', rule({ operations: ['*'], resources: ['pods/status'] }), statusUpdate, true],
    ['named subresource does not match the main resource', rule({ resources: ['pods/status'] }), podAttrs(), false],
    ['another subresource', rule({ operations: ['*'], resources: ['pods/ephemeralcontainers'] }), statusUpdate, false],
    ['all subresources of a resource', rule({ operations: ['*'], resources: ['pods/*'] }), statusUpdate, true],
    ['pods/* also matches the main resource', rule({ resources: ['pods/*'] }), podAttrs(), true],
    ['*/* matches everything', rule({ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] }), cloneSet, true],
    ['*/scale matches the scale subresource of any resource', rule({ operations: ['UPDATE'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*/scale'] }), cloneSet, true],
    ['*/scale does not match status', rule({ operations: ['UPDATE'], resources: ['*/scale'] }), statusUpdate, false],
    ['empty lists match nothing', { operations: [], apiGroups: [], apiVersions: [], resources: [] }, podAttrs(), false],
    ['scope Namespaced matches a namespaced object', rule({ scope: 'Namespaced' }), podAttrs(), true],
    ['scope Cluster does not match a namespaced object', rule({ scope: 'Cluster' }), podAttrs(), false],
    ['scope Cluster matches a cluster-scoped object', rule({ resources: ['nodes'], scope: 'Cluster' }), nodeAttrs, true],
    ['scope Namespaced does not match a cluster-scoped object', rule({ resources: ['nodes'], scope: 'Namespaced' }), nodeAttrs, false],
    ['scope Cluster matches a Namespace even when namespace is set', rule({ operations: ['UPDATE'], resources: ['namespaces'], scope: 'Cluster' }), namespaceAttrs('UPDATE'), true],
    ['scope Namespaced never matches a Namespace', rule({ operations: ['UPDATE'], resources: ['namespaces'], scope: 'Namespaced' }), namespaceAttrs('UPDATE'), false],
    ['scope * matches both', rule({ resources: ['nodes'], scope: '*' }), nodeAttrs, true],
    ['an unknown scope matches nothing', rule({ scope: 'Galaxy' }), podAttrs(), false],
  ];
  for (const [name, r, attrs, want] of rows) {
    it(`should ${want ? '' : 'not '}match: ${name}`, () => {
      assert.equal(matchesRule(r, attrs), want);
    });
  }
});

describe('namespaceSelector matching', () => {
  const labelsOf: Record<string, Record<string, string>> = { default: { env: 'dev' }, prod: { env: 'prod' }, 'team-a': { env: 'prod' } };
  const lookup = (ns: string) => labelsOf[ns];
  const prodOnly: LabelSelector = { matchLabels: { env: 'prod' } };
  const notProd: LabelSelector = { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] };
  const rows: [string, LabelSelector, AdmissionAttributes, 'match' | 'no-match' | 404][] = [
    ['an empty selector matches any namespace', {}, podAttrs(), 'match'],
    ['matchLabels against the namespace labels', prodOnly, podAttrs(), 'no-match'],
    ['matchLabels against a matching namespace', prodOnly, podAttrs({ namespace: 'prod' }), 'match'],
    ['matchExpressions against the namespace labels', notProd, podAttrs(), 'match'],
    ['cluster-scoped objects always match', prodOnly, nodeAttrs, 'match'],
    ['a missing namespace is a 404', prodOnly, podAttrs({ namespace: 'ghost' }), 404],
    ['a missing namespace does not matter for an empty selector', {}, podAttrs({ namespace: 'ghost' }), 'match'],
    ['a Namespace being created is matched by its own labels', prodOnly, namespaceAttrs('CREATE', { env: 'prod' }), 'match'],
    ['a Namespace being created without labels does not match', prodOnly, namespaceAttrs('CREATE'), 'no-match'],
    ['a Namespace being updated is matched by its new labels', prodOnly, namespaceAttrs('UPDATE', { env: 'dev' }), 'no-match'],
    ['a Namespace being deleted is matched by its stored labels', prodOnly, { ...namespaceAttrs('DELETE'), object: undefined }, 'match'],
  ];
  for (const [name, selector, attrs, want] of rows) {
    it(`should decide ${String(want)}: ${name}`, () => {
      const verdict = matchNamespaceSelector(selector, attrs, lookup);
      if (want === 404) {
        assert.equal(verdict.kind, 'error');
        assert.ok(verdict.kind === 'error');
        assert.equal(verdict.error.code, 404);
        assert.equal(verdict.error.message, 'namespaces "ghost" not found');
      } else {
        assert.equal(verdict.kind, want);
      }
    });
  }
});

describe('objectSelector matching', () => {
  const web: LabelSelector = { matchLabels: { app: 'web' } };
  const rows: [string, LabelSelector, Pick<AdmissionAttributes, 'object' | 'oldObject'>, 'match' | 'no-match'][] = [
    ['an empty selector matches', {}, { object: pod('a') }, 'match'],
    ['labels of the new object', web, { object: pod('a', { app: 'web' }) }, 'match'],
    ['other labels', web, { object: pod('a', { app: 'db' }) }, 'no-match'],
    ['no labels', web, { object: pod('a') }, 'no-match'],
    ['labels of the old object when the new one lost them', web, { object: pod('a'), oldObject: pod('a', { app: 'web' }) }, 'match'],
    ['labels of the old object on DELETE', web, { oldObject: pod('a', { app: 'web' }) }, 'match'],
    ['Exists on either object', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, { object: pod('a', { app: 'x' }) }, 'match'],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, { object: pod('a', { app: 'x' }) }, 'no-match'],
    ['no object at all', web, {}, 'no-match'],
  ];
  for (const [name, selector, attrs, want] of rows) {
    it(`should decide ${want}: ${name}`, () => {
      assert.equal(matchObjectSelector(selector, attrs).kind, want);
    });
  }

  it('should report a malformed selector as an internal error', () => {
    const verdict = matchObjectSelector({ matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }, { object: pod('a') });
    assert.equal(verdict.kind, 'error');
    assert.ok(verdict.kind === 'error' && verdict.error.code === 500);
  });
});

describe('deciding whether to call a webhook', () => {
  const lookup = (ns: string) => (ns === 'default' ? { env: 'dev' } : undefined);
  const webhook = (over: Partial<Parameters<typeof shouldCallWebhook>[0]> = {}) => ({
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    namespaceSelector: {}, objectSelector: {}, ...over,
  });

  it('should call a webhook whose rules and selectors all match', () => {
    assert.equal(shouldCallWebhook(webhook(), podAttrs(), lookup), true);
  });

  it('should not call a webhook whose objectSelector does not match', () => {
    assert.equal(shouldCallWebhook(webhook({ objectSelector: { matchLabels: { app: 'db' } } }), podAttrs(), lookup), false);
  });

  it('should not fail a request for a missing namespace when no rule matches', () => {
    const attrs = podAttrs({ namespace: 'ghost', operation: 'DELETE' });
    assert.equal(shouldCallWebhook(webhook({ namespaceSelector: { matchLabels: { env: 'prod' } } }), attrs, lookup), false);
  });

  it('should fail a request for a missing namespace when a rule matches', () => {
    const attrs = podAttrs({ namespace: 'ghost' });
    assert.throws(() => shouldCallWebhook(webhook({ namespaceSelector: { matchLabels: { env: 'prod' } } }), attrs, lookup),
      (err: unknown) => ApiError.is(err) && err.code === 404);
  });

  it('should exempt admission configuration objects from webhooks', () => {
    const attrs = { kind: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration' } };
    assert.equal(isExemptAdmissionConfigurationResource(attrs), true);
    assert.equal(isExemptAdmissionConfigurationResource(podAttrs()), false);
  });
});
