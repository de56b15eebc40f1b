/**
 * The Pod mutating webhook `mpod.kb.io` (spec §7.2): the JSON patch it answers, applied to the incoming Pod, gives
 * exactly what `injectSidecars` makes (sidecars in order, the hot pair with its version annotations, hash
 * annotations), and it stays out of the way where upstream does (gate off, not CREATE, sub-resources, system
 * namespaces, no match).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSidecarSet, type KubeObject, type Pod, type SidecarSet } from '../../../../src/api/index.js';
import { buildHandlers, WEBHOOKS, buildWebhookConfigurations, type AdmissionResponse } from '../../../../src/coordinator/admission/index.js';
import { sidecarSetHashAnnotations } from '../../../../src/coordinator/sidecarset/hash.js';
import { injectSidecars } from '../../../../src/coordinator/sidecarset/injection.js';
import { applyJsonPatch } from '../../../../src/sandbox/apiserver/admission/json-patch.js';
import { sidecarSet } from './fixtures.js';
import type { AdmissionRequest } from '../../../../src/coordinator/admission/index.js';
import { ctx, fakeLookups, gates, NOW, type FakeCluster } from './helpers.js';

function podReview(operation: AdmissionRequest['operation'], object: unknown, oldObject?: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'uid-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    operation, userInfo: { username: 'alice' }, object: object ?? null, oldObject: oldObject ?? null, ...extra,
  };
}

const handler = (cluster: FakeCluster = {}, flag = '') => buildHandlers({ gates: gates(flag), lookups: fakeLookups(cluster) })['pod-mutating'];

/** As stored: defaulted and stamped by the SidecarSet mutating webhook. */
function stored(set: SidecarSet): SidecarSet {
  const d = defaultSidecarSet(set);
  d.metadata.annotations = { ...d.metadata.annotations, ...sidecarSetHashAnnotations(d) };
  return d;
}

function appPod(namespace = 'default', labels: Record<string, string> = { app: 'sample' }): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace, labels },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', emptyDir: {} }] },
  };
}

function patchedPod(p: Pod, r: AdmissionResponse): Pod {
  assert.equal(r.allowed, true, JSON.stringify(r.status));
  return applyJsonPatch(p as unknown as KubeObject, (r.patch ?? []) as never) as unknown as Pod;
}

const COLD = stored(sidecarSet('log-sidecarset', {
  containers: [{ name: 'log-agent', image: 'log-agent:1', podInjectPolicy: 'BeforeAppContainer', volumeMounts: [{ name: 'log-volume', mountPath: '/var/log' }] }],
}));
const AFTER = stored(sidecarSet('proxy-sidecarset', {
  containers: [{ name: 'proxy', image: 'envoy:1', podInjectPolicy: 'AfterAppContainer' }],
  volumes: [],
}));
const HOT = stored(sidecarSet('hot-sidecarset', {
  containers: [{ name: 'dns-f', image: 'dns-f:1', upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'empty:1' } }],
  volumes: [],
}));

describe('pod webhook mpod.kb.io', () => {
  it('patches a created pod to exactly what injectSidecars makes, sidecars before and after the app container', async () => {
    const p = appPod();
    const r = await handler({ sidecarSets: [COLD, AFTER] })(podReview('CREATE', p, undefined, { namespace: 'default' }), ctx());
    const out = patchedPod(p, r);
    assert.deepEqual(out, injectSidecars(p, [COLD, AFTER], 'default', NOW.getTime()).pod);
    assert.deepEqual(out.spec.containers.map((c) => c.name), ['log-agent', 'app', 'proxy']);
    assert.deepEqual(out.spec.volumes?.map((v) => v.name), ['data', 'log-volume']);
    const a = out.metadata.annotations!;
    assert.equal(a['kruise.io/sidecarset-injected-list'], 'log-sidecarset,proxy-sidecarset');
    const hashes = JSON.parse(a['kruise.io/sidecarset-hash']!) as Record<string, { hash: string; sidecarSetName: string; updateTimestamp: string }>;
    assert.equal(hashes['log-sidecarset']!.hash, COLD.metadata.annotations!['kruise.io/sidecarset-hash']);
    assert.equal(hashes['log-sidecarset']!.updateTimestamp, '2024-05-01T10:00:00Z');
    assert.equal(JSON.parse(a['kruise.io/sidecarset-hash-without-image']!)['proxy-sidecarset'].hash,
      AFTER.metadata.annotations!['kruise.io/sidecarset-hash-without-image']);
    assert.deepEqual(out.spec.containers[0]!.env, [{ name: 'IS_INJECTED', value: 'true' }]);
  });

  it('injects a HotUpgrade sidecar as the X-1/X-2 pair with the empty image and version annotations', async () => {
    const p = appPod();
    const out = patchedPod(p, await handler({ sidecarSets: [HOT] })(podReview('CREATE', p, undefined, { namespace: 'default' }), ctx()));
    assert.deepEqual(out.spec.containers.map((c) => [c.name, c.image]), [['dns-f-1', 'dns-f:1'], ['dns-f-2', 'empty:1'], ['app', 'nginx:1.25']]);
    const a = out.metadata.annotations!;
    assert.equal(a['kruise.io/sidecarset-working-hotupgrade-container'], '{"dns-f":"dns-f-1"}');
    assert.deepEqual(
      ['version', 'versionalt'].flatMap((k) => ['dns-f-1', 'dns-f-2'].map((c) => a[`${k}.sidecarset.kruise.io/${c}`])),
      ['1', '0', '0', '1'],
    );
    const env = out.spec.containers[1]!.env!.map((e) => e.name);
    assert.deepEqual(env, ['IS_INJECTED', 'SIDECARSET_VERSION', 'SIDECARSET_VERSION_ALT']);
    assert.equal(out.spec.containers[1]!.env![1]!.valueFrom?.fieldRef?.fieldPath, "metadata.annotations['version.sidecarset.kruise.io/dns-f-2']");
  });

  it('takes the namespace from the request when the pod has none', async () => {
    const p = appPod('');
    delete p.metadata.namespace;
    const scoped = stored(sidecarSet('scoped', { namespace: 'shop', containers: [{ name: 'scoped', image: 's:1' }], volumes: [] }));
    const r = await handler({ sidecarSets: [scoped] })(podReview('CREATE', p, undefined, { namespace: 'shop' }), ctx());
    assert.deepEqual(patchedPod(p, r).spec.containers.map((c) => c.name), ['scoped', 'app']);
    const other = await handler({ sidecarSets: [scoped] })(podReview('CREATE', p, undefined, { namespace: 'default' }), ctx());
    assert.deepEqual(other, { allowed: true });
  });

  it('allows without a patch when nothing matches, and never lists SidecarSets for what it skips', async () => {
    const nomatch = await handler({ sidecarSets: [COLD] })(podReview('CREATE', appPod('default', { app: 'other' }), undefined, { namespace: 'default' }), ctx());
    assert.deepEqual(nomatch, { allowed: true });
    const failing: FakeCluster = { sidecarSets: [COLD], fail: { listSidecarSets: 'must not be called' } };
    for (const [what, req] of [
      ['gate off', podReview('CREATE', appPod(), undefined, { namespace: 'default' })],
      ['UPDATE', podReview('UPDATE', appPod(), appPod(), { namespace: 'default' })],
      ['sub-resource', podReview('CREATE', appPod(), undefined, { namespace: 'default', subResource: 'binding' })],
      ['kruise-system', podReview('CREATE', appPod('kruise-system'), undefined, { namespace: 'kruise-system' })],
    ] as const) {
      const r = await handler(failing, what === 'gate off' ? 'PodWebhook=false' : '')(req, ctx());
      assert.deepEqual(r, { allowed: true }, what);
    }
    const system = await handler({ sidecarSets: [COLD] })(podReview('CREATE', appPod('kube-system'), undefined, { namespace: 'kube-system' }), ctx());
    assert.deepEqual(system, { allowed: true });
  });

  it('denies a pod whose sidecarset-hash annotation does not parse with 400, as upstream', async () => {
    const p = appPod();
    p.metadata.annotations = { 'kruise.io/sidecarset-hash': '{not json' };
    const r = await handler({ sidecarSets: [COLD] })(podReview('CREATE', p, undefined, { namespace: 'default' }), ctx());
    assert.equal(r.allowed, false);
    assert.equal(r.status?.code, 400);
  });

  it('is registered for pod CREATE only, fails open, and skips system and control-plane namespaces', () => {
    const spec = WEBHOOKS.find((w) => w.name === 'mpod.kb.io');
    assert.equal(spec?.path, '/mutate-pod');
    const [mutating] = buildWebhookConfigurations({ target: { urlBase: 'https://127.0.0.1:1' } });
    const entry = (mutating['webhooks'] as Record<string, unknown>[]).find((w) => w['name'] === 'mpod.kb.io')!;
    assert.equal(entry['failurePolicy'], 'Ignore');
    assert.deepEqual(entry['rules'], [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'], scope: '*' }]);
    assert.deepEqual(entry['namespaceSelector'], { matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kruise-system'] },
      { key: 'control-plane', operator: 'DoesNotExist' },
    ] });
  });
});

describe('SidecarSet UPDATE warnings (vsidecarset.kb.io)', () => {
  const validating = buildHandlers({ gates: gates(''), lookups: fakeLookups({}) })['sidecarset-validating'];
  const setReview = (operation: AdmissionRequest['operation'], object: SidecarSet, oldObject?: SidecarSet): AdmissionRequest => ({
    uid: 'uid-2', kind: { group: 'apps.kruise.io', version: 'v1alpha1', kind: 'SidecarSet' },
    resource: { group: 'apps.kruise.io', version: 'v1alpha1', resource: 'sidecarsets' }, operation, object, oldObject: oldObject ?? null,
  });

  it('admits an env change with a warning that existing pods will not get it', async () => {
    const next = structuredClone(COLD);
    next.spec.containers![0]!.env = [{ name: 'LEVEL', value: 'debug' }];
    const r = await validating(setReview('UPDATE', next, COLD), ctx());
    assert.equal(r.allowed, true);
    assert.match(r.warnings?.[0] ?? '', /container log-agent changed beyond its image .*existing pods will not get these changes/);
  });

  it('admits an image change without a warning', async () => {
    const next = structuredClone(COLD);
    next.spec.containers![0]!.image = 'log-agent:2';
    assert.deepEqual(await validating(setReview('UPDATE', next, COLD), ctx()), { allowed: true });
  });

  it('still denies an upgradeType change, and requires hotUpgradeEmptyImage', async () => {
    const next = structuredClone(COLD);
    next.spec.containers![0]!.upgradeStrategy = { upgradeType: 'HotUpgrade' };
    const r = await validating(setReview('UPDATE', next, COLD), ctx());
    assert.equal(r.allowed, false);
    assert.match(r.status?.message ?? '', /upgradeType is immutable/);
    assert.match(r.status?.message ?? '', /hotUpgradeEmptyImage is required for HotUpgrade containers/);
  });
});
