import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { KubeObject } from '../../../src/api/meta.js';
import { ApiError, type GroupResource } from '../../../src/sandbox/apiserver/api-error.js';
import {
  exactNameOrNodeName, fieldLabelValue, fieldSelectorToString, matchesFieldSelector, parseFieldSelector,
  supportedFieldLabels,
} from '../../../src/sandbox/apiserver/field-selector.js';

const pods: GroupResource = { group: '', resource: 'pods' };
const events: GroupResource = { group: '', resource: 'events' };
const secrets: GroupResource = { group: '', resource: 'secrets' };
const namespaces: GroupResource = { group: '', resource: 'namespaces' };
const nodes: GroupResource = { group: '', resource: 'nodes' };
const configmaps: GroupResource = { group: '', resource: 'configmaps' };
const clonesets: GroupResource = { group: 'apps.kruise.io', resource: 'clonesets' };

const pod: KubeObject = {
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'default' },
  spec: { nodeName: 'node-a', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'sa', hostNetwork: true },
  status: { phase: 'Running', podIP: '10.0.0.5' },
};
const pendingPod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'other' }, spec: {}, status: { phase: 'Pending' } };
const event: KubeObject = {
  apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'default' },
  involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'u1', apiVersion: 'v1', resourceVersion: '7', fieldPath: 'spec.containers{app}' },
  reason: 'Pulled', type: 'Normal', source: { component: 'kubelet', host: 'node-a' },
};
const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, type: 'kubernetes.io/tls' };
const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, status: { phase: 'Active' } };
const cordoned: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec: { unschedulable: true } };
const schedulable: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-b' }, spec: {} };

interface MatchCase { name: string; resource: GroupResource; text: string; matches: KubeObject[]; misses: KubeObject[] }

const matchCases: MatchCase[] = [
  { name: 'an empty selector matches everything', resource: pods, text: '', matches: [pod, pendingPod], misses: [] },
  { name: 'metadata.name= selects by name', resource: pods, text: 'metadata.name=web-0', matches: [pod], misses: [pendingPod] },
  { name: 'metadata.namespace== selects by namespace', resource: pods, text: 'metadata.namespace==other', matches: [pendingPod], misses: [pod] },
  { name: 'spec.nodeName!= with no value selects scheduled pods', resource: pods, text: 'spec.nodeName!=', matches: [pod], misses: [pendingPod] },
  { name: 'spec.nodeName= with no value selects unscheduled pods', resource: pods, text: 'spec.nodeName=', matches: [pendingPod], misses: [pod] },
  { name: 'commas AND terms', resource: pods, text: 'status.phase=Running,spec.nodeName=node-a', matches: [pod], misses: [pendingPod] },
  { name: 'empty terms between commas are ignored', resource: pods, text: ',status.phase=Pending,,', matches: [pendingPod], misses: [pod] },
  { name: 'every pod field label selects', resource: pods, text: 'spec.restartPolicy=Always,spec.schedulerName=default-scheduler,spec.serviceAccountName=sa,status.podIP=10.0.0.5,spec.hostNetwork=true', matches: [pod], misses: [pendingPod] },
  { name: 'a missing boolean selects as false', resource: pods, text: 'spec.hostNetwork=false', matches: [pendingPod], misses: [pod] },
  { name: 'event involvedObject fields select', resource: events, text: 'involvedObject.kind=Pod,involvedObject.namespace=default,involvedObject.name=web-0,involvedObject.uid=u1,involvedObject.apiVersion=v1,involvedObject.resourceVersion=7,involvedObject.fieldPath=spec.containers{app}', matches: [event], misses: [] },
  { name: 'event reason, type and source select (source is source.component)', resource: events, text: 'reason=Pulled,type=Normal,source=kubelet', matches: [event], misses: [] },
  { name: 'event type mismatch does not select', resource: events, text: 'type=Warning', matches: [], misses: [event] },
  { name: 'secret type selects', resource: secrets, text: 'type=kubernetes.io/tls', matches: [secret], misses: [] },
  { name: 'namespace status.phase selects', resource: namespaces, text: 'status.phase=Active', matches: [namespace], misses: [] },
  { name: 'a cluster-scoped object has an empty namespace', resource: namespaces, text: 'metadata.namespace=', matches: [namespace], misses: [] },
  { name: 'node spec.unschedulable selects cordoned nodes', resource: nodes, text: 'spec.unschedulable=true', matches: [cordoned], misses: [schedulable] },
  { name: 'escaped commas and equals signs are part of the value', resource: pods, text: 'metadata.name=a\\,b\\=c\\\\', matches: [{ ...pod, metadata: { name: 'a,b=c\\' } }], misses: [pod] },
  { name: 'custom resources select on metadata fields', resource: clonesets, text: 'metadata.name=web-0', matches: [pod], misses: [pendingPod] },
];

interface ErrorCase { name: string; resource: GroupResource; text: string; message: string }

const errorCases: ErrorCase[] = [
  { name: 'a term without an operator', resource: pods, text: 'metadata.name', message: "invalid selector: 'metadata.name'; can't understand 'metadata.name'" },
  { name: 'an unsupported pod field', resource: pods, text: 'status.hostIP=1.2.3.4', message: 'field label not supported: status.hostIP' },
  { name: 'a field of another kind', resource: secrets, text: 'spec.nodeName=x', message: 'field label not supported: spec.nodeName' },
  { name: 'a field with blanks around the operator (Kubernetes does not trim)', resource: pods, text: 'metadata.name = x', message: 'field label not supported: metadata.name ' },
  { name: 'an unsupported field of a kind without a conversion function', resource: configmaps, text: 'data.x=y', message: '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"' },
  { name: 'an unsupported field of a custom resource', resource: clonesets, text: 'spec.replicas=3', message: '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"' },
  { name: 'an unknown escape sequence', resource: pods, text: 'metadata.name=a\\b', message: 'invalid field selector: invalid escape sequence: \\b' },
  { name: 'a trailing backslash', resource: pods, text: 'metadata.name=a\\', message: 'invalid field selector: invalid escape sequence: \\' },
  { name: 'an unescaped = in a value', resource: pods, text: 'metadata.name=a=b', message: 'invalid field selector: unescaped character in value: =' },
];

describe('parseFieldSelector and matchesFieldSelector', () => {
  for (const c of matchCases) {
    it(`should select: ${c.name}`, () => {
      const sel = parseFieldSelector(c.text, c.resource);
      for (const o of c.matches) assert.equal(matchesFieldSelector(sel, o), true, `should match ${o.metadata.name}`);
      for (const o of c.misses) assert.equal(matchesFieldSelector(sel, o), false, `should not match ${o.metadata.name}`);
      assert.deepEqual(parseFieldSelector(fieldSelectorToString(sel), c.resource), sel, 'rendering should round-trip');
    });
  }

  for (const c of errorCases) {
    it(`should refuse with 400 BadRequest: ${c.name}`, () => {
      assert.throws(() => parseFieldSelector(c.text, c.resource), (err: unknown) => {
        assert.ok(ApiError.is(err));
        assert.equal(err.code, 400);
        assert.equal(err.reason, 'BadRequest');
        assert.equal(err.message, c.message);
        return true;
      });
    });
  }
});

describe('supportedFieldLabels and fieldLabelValue', () => {
  it('should list metadata.name and metadata.namespace for every resource, and more for pods', () => {
    assert.deepEqual(supportedFieldLabels(configmaps), ['metadata.name', 'metadata.namespace']);
    for (const f of ['spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.podIP']) {
      assert.ok(supportedFieldLabels(pods).includes(f), f);
    }
  });

  it('should read missing fields as the empty string', () => {
    assert.equal(fieldLabelValue(pendingPod, 'spec.nodeName'), '');
    assert.equal(fieldLabelValue(pendingPod, 'status.podIP'), '');
    assert.equal(fieldLabelValue(pod, 'no.such.label'), undefined);
  });
});

describe('exactNameOrNodeName', () => {
  const cases: { name: string; text: string; want: { name?: string; nodeName?: string } }[] = [
    { name: 'an exact name is returned', text: 'metadata.name=web-0', want: { name: 'web-0' } },
    { name: 'an exact node name with == is returned', text: 'spec.nodeName==node-a,status.phase=Running', want: { nodeName: 'node-a' } },
    { name: 'both are returned together', text: 'spec.nodeName=node-a,metadata.name=web-0', want: { name: 'web-0', nodeName: 'node-a' } },
    { name: 'inequalities give no index hint', text: 'metadata.name!=web-0,spec.nodeName!=', want: {} },
    { name: 'an empty node name is still an exact value', text: 'spec.nodeName=', want: { nodeName: '' } },
  ];
  for (const c of cases) {
    it(`should find the index keys: ${c.name}`, () => {
      assert.deepEqual(exactNameOrNodeName(parseFieldSelector(c.text, pods)), c.want);
    });
  }
});
