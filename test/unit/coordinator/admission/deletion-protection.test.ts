/**
 * Deletion protection handlers (spec §1): one row per case of §1.2–§1.4, with upstream's exact messages and 403.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { FeatureGates } from '../../../../src/api/index.js';
import {
  AdmissionMetrics, buildHandlers, type AdmissionRequest, type AdmissionResponse,
} from '../../../../src/coordinator/admission/index.js';
import { deletionProtectionLabelWarnings } from '../../../../src/coordinator/admission/deletion-protection.js';
import { ctx, deleteReview, fakeLookups, labelled, pod, PROTECTION_OFF, PROTECTION_ON, review, type FakeCluster } from './helpers.js';

const ALWAYS = 'forbidden by ResourcesProtectionDeletion for policy.kruise.io/delete-protection=Always';
const CASCADING = 'forbidden by ResourcesProtectionDeletion for policy.kruise.io/delete-protection=Cascading and';
const TERMINATING = { deletionTimestamp: '2024-05-01T09:00:00Z' };

const ns = (value: string | undefined, extra = {}) => labelled(value, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', ...extra } });
const workload = (kind: string, value: string | undefined, replicas: number | null | undefined, extra = {}) => labelled(value, {
  apiVersion: kind === 'CloneSet' ? 'apps.kruise.io/v1alpha1' : 'apps/v1', kind, metadata: { namespace: 'team-a', name: 'web', ...extra },
  spec: replicas === undefined ? {} : { replicas },
});
const crd = (value: string | undefined, extra = {}) => labelled(value, {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'testdeletioncases.e2e.kruise.io', ...extra },
  spec: {
    group: 'e2e.kruise.io', scope: 'Namespaced', names: { plural: 'testdeletioncases', kind: 'TestDeletionCase', listKind: 'TestDeletionCaseList' },
    versions: [{ name: 'v1alpha1', served: true, storage: false }, { name: 'v1beta1', served: true, storage: true }],
  },
});
const simple = (kind: string, value: string | undefined, extra = {}) => labelled(value, {
  apiVersion: kind === 'Ingress' ? 'networking.k8s.io/v1' : 'v1', kind, metadata: { namespace: 'team-a', name: 'front', ...extra },
});
const cr = (name: string, extra = {}) => ({ apiVersion: 'e2e.kruise.io/v1beta1', kind: 'TestDeletionCase', metadata: { namespace: 'x', name, ...extra } });

interface Row {
  name: string;
  request: AdmissionRequest;
  cluster?: FakeCluster;
  gates?: FeatureGates;
  /** The exact denial message, or undefined for allowed. */
  denied?: string;
  code?: number;
}

const ROWS: Row[] = [
  // Namespace
  { name: 'namespace Always is denied', request: deleteReview('Namespace', ns('Always')), denied: ALWAYS },
  { name: 'namespace Cascading with a running pod is denied', request: deleteReview('Namespace', ns('Cascading')),
    cluster: { pods: [pod('team-a', 'p1', 'Running'), pod('team-a', 'p2', 'Pending'), pod('other', 'p3', 'Running')] },
    denied: `${CASCADING} active pods 2>0` },
  { name: 'namespace Cascading with only Succeeded, Failed and terminating pods is allowed', request: deleteReview('Namespace', ns('Cascading')),
    cluster: { pods: [pod('team-a', 'a', 'Succeeded'), pod('team-a', 'b', 'Failed'), pod('team-a', 'c', 'Running', TERMINATING)] } },
  { name: 'namespace Cascading with a Bound PVC is denied (main)', request: deleteReview('Namespace', ns('Cascading')),
    cluster: { pvcs: [
      { metadata: { namespace: 'team-a', name: 'data' }, spec: {}, status: { phase: 'Bound' } },
      { metadata: { namespace: 'team-a', name: 'pending' }, spec: {}, status: { phase: 'Pending' } },
      { metadata: { namespace: 'team-a', name: 'going', ...TERMINATING }, spec: {}, status: { phase: 'Bound' } },
    ] },
    denied: `${CASCADING} "Bound" status pvc 1>0` },
  { name: 'namespace Cascading whose pod list fails is denied with the list error', request: deleteReview('Namespace', ns('Cascading')),
    cluster: { fail: { listPods: 'connection refused' } }, denied: 'forbidden by ResourcesProtectionDeletion for list pods error: connection refused' },
  { name: 'namespace Cascading whose PVC list fails is denied with the list error', request: deleteReview('Namespace', ns('Cascading')),
    cluster: { fail: { listPersistentVolumeClaims: 'boom' } }, denied: 'forbidden by ResourcesProtectionDeletion for list pvc error: boom' },
  { name: 'namespace already terminating is allowed even with Always', request: deleteReview('Namespace', ns('Always', TERMINATING)) },
  { name: 'namespace with label value always (lower case) is allowed', request: deleteReview('Namespace', ns('always')) },
  { name: 'namespace without the label is allowed', request: deleteReview('Namespace', ns(undefined)) },
  { name: 'namespace Always is allowed when the gate is off', request: deleteReview('Namespace', ns('Always')), gates: PROTECTION_OFF },
  { name: 'a DELETE without oldObject is allowed (Kubernetes < 1.16)', request: deleteReview('Namespace', null) },
  { name: 'a subresource DELETE is allowed', request: deleteReview('Namespace', ns('Always'), { subResource: 'status' }) },
  { name: 'an UPDATE reaching a deletion webhook is allowed', request: review('Namespace', 'UPDATE', ns('Always'), ns('Always')) },
  { name: 'an undecodable oldObject is a 400', request: deleteReview('Namespace', 'not an object'), denied: 'there is no content to decode in oldObject', code: 400 },
  // CRD
  { name: 'CRD Always is denied', request: deleteReview('CustomResourceDefinition', crd('Always')), denied: ALWAYS },
  { name: 'CRD Cascading with a live and a terminating CR is denied counting the live one',
    request: deleteReview('CustomResourceDefinition', crd('Cascading')), cluster: { crs: [cr('live'), cr('going', TERMINATING)] },
    denied: `${CASCADING} active CRs 1>0` },
  { name: 'CRD Cascading whose CRs are all terminating is allowed', request: deleteReview('CustomResourceDefinition', crd('Cascading')),
    cluster: { crs: [cr('going', TERMINATING)] } },
  { name: 'CRD Cascading whose CR list fails is denied (fail closed)', request: deleteReview('CustomResourceDefinition', crd('Cascading')),
    cluster: { fail: { listCustomResources: 'forbidden' } },
    denied: 'failed to list CRs of e2e.kruise.io/v1beta1, Kind=TestDeletionCaseList: forbidden' },
  // Workloads
  ...['Deployment', 'ReplicaSet', 'StatefulSet', 'CloneSet'].flatMap((kind): Row[] => [
    { name: `${kind} Always with 0 replicas is denied`, request: deleteReview(kind, workload(kind, 'Always', 0)), denied: ALWAYS },
    { name: `${kind} Cascading with 2 replicas is denied`, request: deleteReview(kind, workload(kind, 'Cascading', 2)), denied: `${CASCADING} replicas 2>0` },
    { name: `${kind} Cascading with 0 replicas is allowed`, request: deleteReview(kind, workload(kind, 'Cascading', 0)) },
    { name: `${kind} Cascading with nil replicas is allowed`, request: deleteReview(kind, workload(kind, 'Cascading', null)) },
    { name: `${kind} Cascading that is terminating is allowed`, request: deleteReview(kind, workload(kind, 'Cascading', 3, TERMINATING)) },
    { name: `${kind} with label value true is allowed`, request: deleteReview(kind, workload(kind, 'true', 3)) },
  ]),
  { name: 'an unsupported kind reaching the workload handler is allowed', request: deleteReview('DaemonSet', workload('DaemonSet', 'Always', 1)) },
  { name: 'Deployment with a non-integer spec.replicas is a 400', request: deleteReview('Deployment', workload('Deployment', 'Cascading', 'two' as never)),
    denied: 'spec.replicas must be an integer', code: 400 },
  // Service and Ingress: Always only
  ...['Service', 'Ingress'].flatMap((kind): Row[] => [
    { name: `${kind} Always is denied`, request: deleteReview(kind, simple(kind, 'Always')), denied: ALWAYS },
    { name: `${kind} Cascading is allowed (only Always counts)`, request: deleteReview(kind, simple(kind, 'Cascading')) },
    { name: `${kind} Always that is terminating is allowed`, request: deleteReview(kind, simple(kind, 'Always', TERMINATING)) },
  ]),
];

const HANDLER_FOR: Record<string, 'namespace-deletion' | 'crd-deletion' | 'workload-deletion' | 'always-only-deletion' | 'cloneset-validating'> = {
  Namespace: 'namespace-deletion', CustomResourceDefinition: 'crd-deletion', Deployment: 'workload-deletion', ReplicaSet: 'workload-deletion',
  StatefulSet: 'workload-deletion', DaemonSet: 'workload-deletion', CloneSet: 'cloneset-validating', Service: 'always-only-deletion',
  Ingress: 'always-only-deletion',
};

async function run(row: Row, metrics?: AdmissionMetrics): Promise<AdmissionResponse> {
  const handlers = buildHandlers({ gates: row.gates ?? PROTECTION_ON, lookups: fakeLookups(row.cluster ?? {}), ...(metrics ? { metrics } : {}) });
  return handlers[HANDLER_FOR[row.request.kind.kind]!](row.request, ctx());
}

describe('deletion protection handlers', () => {
  for (const row of ROWS) {
    it(row.name, async () => {
      const r = await run(row);
      if (row.denied === undefined) {
        assert.equal(r.allowed, true, JSON.stringify(r));
      } else {
        assert.equal(r.allowed, false);
        assert.equal(r.status?.message, row.denied);
        assert.equal(r.status?.code, row.code ?? 403);
      }
    });
  }

  it('lists CRs through the storage version and the listKind', async () => {
    const lookups = fakeLookups({});
    const handlers = buildHandlers({ gates: PROTECTION_ON, lookups });
    await handlers['crd-deletion'](deleteReview('CustomResourceDefinition', crd('Cascading')), ctx());
    assert.deepEqual(lookups.crTargets, [{
      group: 'e2e.kruise.io', version: 'v1beta1', plural: 'testdeletioncases', kind: 'TestDeletionCase', listKind: 'TestDeletionCaseList', namespaced: true,
    }]);
  });

  it('counts each denial by kind, namespace and name, and not allowed deletions', async () => {
    const registry = new Registry();
    const metrics = new AdmissionMetrics(registry);
    await run({ name: '', request: deleteReview('Deployment', workload('Deployment', 'Always', 1)) }, metrics);
    await run({ name: '', request: deleteReview('Deployment', workload('Deployment', 'Always', 1)) }, metrics);
    await run({ name: '', request: deleteReview('Deployment', workload('Deployment', 'Cascading', 0)) }, metrics);
    const metric = await registry.getSingleMetric('kruise_deletion_protection_denials_total')!.get();
    assert.deepEqual(metric.values.map((v) => [v.labels, v.value]), [[{ kind: 'Deployment', namespace: 'team-a', name: 'web' }, 2]]);
  });

  it('never uses the user as a metric label', async () => {
    const registry = new Registry();
    const metrics = new AdmissionMetrics(registry);
    await run({ name: '', request: deleteReview('Namespace', ns('Always')) }, metrics);
    assert.doesNotMatch(await registry.metrics(), /alice/);
  });
});

describe('deletion protection label warnings', () => {
  const cases: [string, string, string | undefined, boolean][] = [
    ['warns about a lower-case always on a Deployment', 'Deployment', 'always', true],
    ['warns about an empty value', 'Namespace', '', true],
    ['does not warn about Always', 'Deployment', 'Always', false],
    ['does not warn about Cascading', 'CustomResourceDefinition', 'Cascading', false],
    ['does not warn without the label', 'StatefulSet', undefined, false],
    ['warns about Cascading on a Service, where only Always protects', 'Service', 'Cascading', true],
    ['does not warn about Always on an Ingress', 'Ingress', 'Always', false],
  ];
  for (const [name, kind, value, warns] of cases) {
    it(`${name}`, () => {
      const w = deletionProtectionLabelWarnings(kind, labelled(value, { apiVersion: 'v1', kind, metadata: { name: 'x' } }));
      assert.equal(w.length, warns ? 1 : 0);
      if (warns) assert.match(w[0]!, /policy\.kruise\.io\/delete-protection=.*(valid values are "Always" and "Cascading"|only valid value for a \w+ is "Always")/);
    });
  }

  it('names the valid values in the warning for a typo', () => {
    assert.deepEqual(deletionProtectionLabelWarnings('Deployment', labelled('always', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } })),
      ['label policy.kruise.io/delete-protection="always" gives no deletion protection: valid values are "Always" and "Cascading"']);
  });

  it('returns the warning on CREATE and UPDATE from the warning handler, always allowing', async () => {
    const h = buildHandlers({ gates: PROTECTION_ON, lookups: fakeLookups({}) })['protection-label-warning'];
    const obj = workload('Deployment', 'always', 1);
    for (const op of ['CREATE', 'UPDATE'] as const) {
      const r = await h(review('Deployment', op, obj, op === 'UPDATE' ? obj : undefined), ctx());
      assert.equal(r.allowed, true);
      assert.equal(r.warnings?.length, 1);
    }
  });
});
