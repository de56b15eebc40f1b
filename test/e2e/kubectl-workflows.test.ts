/**
 * The sandbox API server driven by the real kubectl 1.32, the way users will drive it: apply our CRDs and
 * samples, read back, select, label, annotate, patch three ways, scale, delete with finalizers and cascades,
 * wait for conditions, and watch.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { startHarness, waitFor, type Harness } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CRDS = `${REPO}deploy/crds`;
const SAMPLES = `${REPO}deploy/samples`;

interface Obj { metadata: { name: string; uid: string; generation?: number; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; deletionTimestamp?: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> }

describe('kubectl against the sandbox API server', { skip: kubectlSkipReason() }, () => {
  let h: Harness;
  let k: Kubectl;
  before(async () => {
    h = await startHarness({ crds: false });
    k = Kubectl.forHarness(h);
  });
  after(async () => { await h.close(); });

  it('applies deploy/crds and reports each CRD Established', async () => {
    const out = await k.ok(['apply', '-f', CRDS]);
    for (const name of ['clonesets', 'imagepulljobs', 'nodeimages', 'sidecarsets']) {
      assert.match(out, new RegExp(`customresourcedefinition.apiextensions.k8s.io/${name}.apps.kruise.io created`));
    }
    await k.ok(['wait', '--for=condition=Established', '--timeout=10s', 'crd/clonesets.apps.kruise.io', 'crd/sidecarsets.apps.kruise.io']);
  });

  it('applies the samples with server-side field validation and applies them again unchanged', async () => {
    const first = await k.ok(['apply', '-f', SAMPLES]);
    assert.match(first, /cloneset.apps.kruise.io\/sample created/);
    assert.match(first, /sidecarset.apps.kruise.io\/\S+ created/);
    assert.match(first, /imagepulljob.apps.kruise.io\/\S+ created/);
    assert.match(first, /nodeimage.apps.kruise.io\/\S+ created/);
    const second = await k.ok(['apply', '-f', SAMPLES]);
    assert.doesNotMatch(second, /created|configured/);
    assert.match(second, /unchanged/);
  });

  it('rejects an unknown field in a custom resource with a strict decoding error', async () => {
    const bad = 'apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: bad}\nspec:\n  replicaz: 3\n  selector: {matchLabels: {app: bad}}\n  template: {metadata: {labels: {app: bad}}, spec: {containers: [{name: c, image: nginx}]}}\n';
    const r = await k.run(['apply', '-f', '-'], bad);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /strict decoding error: unknown field "spec.replicaz"/);
    const warn = await k.run(['apply', '--validate=warn', '-f', '-'], bad);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /unknown field "spec.replicaz"/);
  });

  it('prints the CloneSet printer columns and reads objects back as json and yaml', async () => {
    const table = await k.ok(['get', 'clonesets']);
    assert.match(table.split('\n')[0]!, /^NAME\s+DESIRED\s+UPDATED\s+UPDATED_READY\s+READY\s+TOTAL\s+AGE/);
    const json = await k.json<Obj>(['get', 'cloneset', 'sample']);
    assert.equal(json.metadata.name, 'sample');
    const yaml = parseYaml(await k.ok(['get', 'cloneset', 'sample', '-o', 'yaml'])) as Obj;
    assert.equal(yaml.metadata.uid, json.metadata.uid);
  });

  it('selects by label, labels and annotates', async () => {
    await k.ok(['label', 'cloneset', 'sample', 'tier=web']);
    await k.ok(['annotate', 'cloneset', 'sample', 'owner=team-a']);
    const selected = await k.json<{ items: Obj[] }>(['get', 'clonesets', '-l', 'tier=web']);
    assert.deepEqual(selected.items.map((i) => i.metadata.name), ['sample']);
    const none = await k.json<{ items: Obj[] }>(['get', 'clonesets', '-l', 'tier in (db,cache)']);
    assert.equal(none.items.length, 0);
    const cs = await k.json<Obj>(['get', 'cloneset', 'sample']);
    assert.equal(cs.metadata.annotations?.['owner'], 'team-a');
    await k.ok(['label', 'cloneset', 'sample', 'tier-']);
    const unlabelled = await k.json<Obj>(['get', 'cloneset', 'sample']);
    assert.equal(unlabelled.metadata.labels?.['tier'], undefined);
  });

  it('patches with merge and json patches, bumping generation only for spec changes', async () => {
    const before = await k.json<Obj>(['get', 'cloneset', 'sample']);
    await k.ok(['patch', 'cloneset', 'sample', '--type', 'merge', '-p', '{"spec":{"minReadySeconds":7}}']);
    const merged = await k.json<Obj>(['get', 'cloneset', 'sample']);
    assert.equal(merged.spec?.['minReadySeconds'], 7);
    assert.equal(merged.metadata.generation, (before.metadata.generation ?? 0) + 1);
    await k.ok(['patch', 'cloneset', 'sample', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/minReadySeconds","value":9}]']);
    assert.equal((await k.json<Obj>(['get', 'cloneset', 'sample'])).spec?.['minReadySeconds'], 9);
    await k.ok(['annotate', 'cloneset', 'sample', 'touched=yes']);
    assert.equal((await k.json<Obj>(['get', 'cloneset', 'sample'])).metadata.generation, (before.metadata.generation ?? 0) + 2);
    const r = await k.run(['patch', 'cloneset', 'sample', '--type', 'strategic', '-p', '{"spec":{"replicas":2}}']);
    assert.notEqual(r.code, 0, 'strategic merge patch is for built-in kinds only');
    assert.match(r.stderr, /strategic-merge-patch\+json is not supported/);
  });

  it('patches a Deployment with a strategic merge patch keyed by container name', async () => {
    const dep = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: "nginx:1.25"}
      - {name: side, image: busybox}
`;
    await k.ok(['apply', '-f', '-'], dep);
    await k.ok(['patch', 'deployment', 'web', '--type', 'strategic', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:1.36"}]}}}}']);
    const d = await k.json<{ spec: { template: { spec: { containers: { name: string; image: string }[] } } } }>(['get', 'deployment', 'web']);
    assert.deepEqual(d.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`), ['nginx=nginx:1.25', 'side=busybox:1.36']);
    await k.ok(['apply', '-f', '-'], dep.replace('nginx:1.25', 'nginx:1.26'));
    const d2 = await k.json<{ spec: { template: { spec: { containers: { name: string; image: string }[] } } } }>(['get', 'deployment', 'web']);
    assert.equal(d2.spec.template.spec.containers[0]!.image, 'nginx:1.26');
  });

  it('scales a CloneSet and a Deployment through the scale subresource', async () => {
    await k.ok(['scale', 'cloneset', 'sample', '--replicas=3']);
    assert.equal((await k.json<Obj>(['get', 'cloneset', 'sample'])).spec?.['replicas'], 3);
    await k.ok(['scale', 'deployment', 'web', '--replicas=4']);
    assert.equal((await k.json<Obj>(['get', 'deployment', 'web'])).spec?.['replicas'], 4);
  });

  it('waits for a condition written through the status subresource', async () => {
    const waiter = k.run(['wait', '--for=condition=Ready', '--timeout=15s', 'cloneset/sample']);
    // kubectl only trusts conditions of a status that has observed the current generation.
    const generation = (await k.json<Obj>(['get', 'cloneset', 'sample'])).metadata.generation;
    await k.ok(['patch', 'cloneset', 'sample', '--subresource=status', '--type', 'merge',
      '-p', '{"status":{"observedGeneration":' + String(generation) + ',"replicas":0,"readyReplicas":0,"availableReplicas":0,"updatedReplicas":0,"updatedReadyReplicas":0,"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}']);
    const r = await waiter;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cloneset.apps.kruise.io\/sample condition met/);
  });

  it('streams changes with get --watch', async () => {
    const child = k.spawn(['get', 'configmaps', '--watch', '--output-watch-events']);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    try {
      await k.ok(['create', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: "1"}\n');
      await waitFor(() => /ADDED\s+watched\s/.test(out), 'the ADDED event in kubectl get --watch');
      await k.ok(['label', 'configmap', 'watched', 'x=y']);
      await waitFor(() => /MODIFIED\s+watched\s/.test(out), 'the MODIFIED event in kubectl get --watch');
      await k.ok(['delete', 'configmap', 'watched']);
      await waitFor(() => /DELETED\s+watched\s/.test(out), 'the DELETED event in kubectl get --watch');
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  });

  it('deletes an object with a finalizer only once the finalizer is removed', async () => {
    await k.ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, finalizers: [example.com/hold]}\n');
    await k.ok(['delete', 'configmap', 'held', '--wait=false']);
    const held = await k.json<Obj>(['get', 'configmap', 'held']);
    assert.ok(held.metadata.deletionTimestamp, 'deletionTimestamp is set while the finalizer holds it');
    const waiter = k.run(['wait', '--for=delete', '--timeout=15s', 'configmap/held']);
    await k.ok(['patch', 'configmap', 'held', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    assert.equal((await waiter).code, 0);
    const r = await k.run(['get', 'configmap', 'held']);
    assert.match(r.stderr, /NotFound|not found/);
  });

  it('cascades a delete to dependents, and orphans them when asked', async () => {
    await k.ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: parent}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: parent2}\n');
    const p1 = await k.json<Obj>(['get', 'configmap', 'parent']);
    const p2 = await k.json<Obj>(['get', 'configmap', 'parent2']);
    const child = (name: string, owner: Obj, ownerName: string): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: ${ownerName}, uid: ${owner.metadata.uid}}]\n`;
    await k.ok(['apply', '-f', '-'], child('kid', p1, 'parent'));
    await k.ok(['apply', '-f', '-'], child('kid2', p2, 'parent2'));
    await k.ok(['delete', 'configmap', 'parent', '--cascade=foreground']);
    await waitFor(async () => (await k.run(['get', 'configmap', 'kid'])).code !== 0, 'the dependent to be garbage-collected');
    await k.ok(['delete', 'configmap', 'parent2', '--cascade=orphan']);
    const orphan = await waitFor(async () => {
      const o = await k.json<Obj & { metadata: { ownerReferences?: unknown[] } }>(['get', 'configmap', 'kid2']);
      return (o.metadata.ownerReferences ?? []).length === 0 ? o : undefined;
    }, 'the orphaned dependent to lose its ownerReference');
    assert.equal(orphan.metadata.name, 'kid2');
  });

  it('deletes a namespace with its content', async () => {
    await k.ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: scratch}\n');
    await k.ok(['delete', 'namespace', 'scratch', '--timeout=20s']);
    const r = await k.run(['get', 'namespace', 'scratch']);
    assert.notEqual(r.code, 0);
  });
});
