/**
 * Deletion protection (spec §1, README "Protect resources from cascading deletion") as a user meets it: the real
 * kubectl against `startSandbox`, whose API server calls the coordinator's webhooks through url clientConfigs.
 * For each protected kind `Always` blocks and removing the label unblocks; `Cascading` blocks while children exist
 * and allows once they are gone; `always` warns and protects nothing; terminating objects delete again; the gate
 * off allows; and with the coordinator stopped unlabelled objects still delete while labelled ones are refused.
 * The sandbox runs no workload controllers or nodes, so pods are made by hand and their phase set through
 * `/status`, and a workload's replicas only change when we scale it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason, type KubectlResult } from '../support/kubectl.js';

const CLONESET_SAMPLE = fileURLToPath(new URL('../../../deploy/samples/cloneset.yaml', import.meta.url));
const LABEL = 'policy.kruise.io/delete-protection';
const ALWAYS = `forbidden by ResourcesProtectionDeletion for ${LABEL}=Always`;
const CASCADING = `forbidden by ResourcesProtectionDeletion for ${LABEL}=Cascading and`;
const TYPO_WARNING = `Warning: label ${LABEL}="always" gives no deletion protection: valid values are "Always" and "Cascading"`;
const HOLD = 'e2e.kruise.io/hold';

interface Obj { metadata: { name: string; labels?: Record<string, string>; finalizers?: string[]; deletionTimestamp?: string }; spec?: { replicas?: number } }

/** A sandbox in this process plus a kubectl pointed at it, in a temp folder removed on close. */
async function startKubectlSandbox(gates: string): Promise<{ sandbox: Sandbox; k: Kubectl; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kruise-ts-dpk-'));
  try {
    const sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(gates), logger: pino({ level: 'silent' }),
      // No nodes: pods stay unscheduled, so their phases are ours to set and deleting them is immediate.
      nodes: { count: 0 },
    });
    return {
      sandbox, k: new Kubectl(sandbox.kubeconfigPath, join(dir, 'kubectl-cache')),
      close: async () => { await sandbox.close(); await rm(dir, { recursive: true, force: true }); },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

let seq = 0;
const nsName = (what: string) => `dpk-${what}-${process.pid}-${++seq}`;

function labelsYaml(value: string | undefined): string {
  return value === undefined ? '{}' : `{${LABEL}: ${JSON.stringify(value)}}`;
}

function podTemplate(app: string): string {
  return `  selector: {matchLabels: {app: ${app}}}\n  template:\n    metadata: {labels: {app: ${app}}}\n    spec: {containers: [{name: c, image: nginx}]}\n`;
}

/** The workload kinds with `spec.replicas`, each with a manifest and the webhook that guards it. */
const WORKLOADS = [
  { kind: 'Deployment', resource: 'deployment', webhook: 'vbuiltindeployment.kb.io',
    manifest: (name: string, replicas: number, label?: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, labels: ${labelsYaml(label)}}\nspec:\n  replicas: ${replicas}\n${podTemplate(name)}` },
  { kind: 'ReplicaSet', resource: 'replicaset', webhook: 'vbuiltinreplicaset.kb.io',
    manifest: (name: string, replicas: number, label?: string) =>
      `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: ${name}, labels: ${labelsYaml(label)}}\nspec:\n  replicas: ${replicas}\n${podTemplate(name)}` },
  { kind: 'StatefulSet', resource: 'statefulset', webhook: 'vbuiltinstatefulset.kb.io',
    manifest: (name: string, replicas: number, label?: string) =>
      `apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: ${name}, labels: ${labelsYaml(label)}}\nspec:\n  serviceName: ${name}\n  replicas: ${replicas}\n${podTemplate(name)}` },
  { kind: 'CloneSet', resource: 'cloneset', webhook: 'vcloneset.kb.io',
    manifest: (name: string, replicas: number, label?: string) =>
      `apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: ${name}, labels: ${labelsYaml(label)}}\nspec:\n  replicas: ${replicas}\n${podTemplate(name)}` },
] as const;

const TEST_CRD = 'testdeletioncases.e2e.kruise.io';

/** upstream's e2e CRD (test/e2e/policy/deletionprotection.go): served v1alpha1 and v1beta1, stored as v1beta1. */
function testCrd(label: string): string {
  const schema = '{openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}';
  return `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ${TEST_CRD}, labels: ${labelsYaml(label)}}\n` +
    'spec:\n  group: e2e.kruise.io\n  scope: Namespaced\n' +
    '  names: {plural: testdeletioncases, singular: testdeletioncase, kind: TestDeletionCase, listKind: TestDeletionCaseList}\n' +
    `  versions:\n  - {name: v1alpha1, served: true, storage: false, schema: ${schema}}\n  - {name: v1beta1, served: true, storage: true, schema: ${schema}}\n`;
}

function pod(name: string, finalizers: string[] = []): string {
  return `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, finalizers: ${JSON.stringify(finalizers)}}\nspec: {containers: [{name: c, image: nginx}]}\n`;
}

describe('deletion protection through kubectl against the sandbox', { skip: kubectlSkipReason() }, () => {
  let env: Awaited<ReturnType<typeof startKubectlSandbox>>;
  let k: Kubectl;
  before(async () => {
    env = await startKubectlSandbox('');
    k = env.k;
  });
  after(async () => { await env?.close(); });

  /** kubectl fails with the API server's Forbidden error carrying the webhook's exact message. */
  const refused = async (args: string[], webhook: string, message: string): Promise<KubectlResult> => {
    const r = await k.run(args);
    assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} was allowed: ${r.stdout}`);
    assert.equal(r.stderr.trim(), `Error from server (Forbidden): admission webhook "${webhook}" denied the request: ${message}`);
    return r;
  };
  const namespace = async (label?: string) => {
    const name = nsName('ns');
    await k.ok(['create', 'namespace', name]);
    if (label !== undefined) await k.ok(['label', 'namespace', name, `${LABEL}=${label}`]);
    return name;
  };
  const setPhase = (ns: string, name: string, phase: string) =>
    k.ok(['patch', '-n', ns, 'pod', name, '--subresource=status', '--type', 'merge', '-p', JSON.stringify({ status: { phase } })]);
  const gone = (args: string[], what: string) => waitFor(async () => {
    const r = await k.run(['get', ...args]);
    return r.code !== 0 && /NotFound/.test(r.stderr);
  }, what);

  it('refuses to delete an Always namespace and deletes it once the label is removed', async () => {
    const ns = await namespace('Always');
    await refused(['delete', 'namespace', ns], 'vnamespace.kb.io', ALWAYS);
    // A server-side dry run asks the webhooks too (they declare sideEffects None).
    await refused(['delete', 'namespace', ns, '--dry-run=server'], 'vnamespace.kb.io', ALWAYS);
    await k.ok(['label', 'namespace', ns, `${LABEL}-`]);
    assert.match(await k.ok(['delete', 'namespace', ns]), new RegExp(`namespace "${ns}" deleted`));
    await gone(['namespace', ns], `namespace ${ns} to go`);
  });

  it('refuses to delete a Cascading namespace while it has a running or pending pod, and deletes it once they are gone', async () => {
    const ns = await namespace('Cascading');
    await k.ok(['apply', '-n', ns, '-f', '-'], pod('running') + '---\n' + pod('pending'));
    await setPhase(ns, 'running', 'Running');
    await refused(['delete', 'namespace', ns], 'vnamespace.kb.io', `${CASCADING} active pods 2>0`);
    await k.ok(['delete', '-n', ns, 'pod', 'pending']);
    await refused(['delete', 'namespace', ns], 'vnamespace.kb.io', `${CASCADING} active pods 1>0`);
    await k.ok(['delete', '-n', ns, 'pod', 'running']);
    await k.ok(['delete', 'namespace', ns]);
    await gone(['namespace', ns], `namespace ${ns} to go`);
  });

  it('deletes a Cascading namespace holding only Succeeded, Failed and terminating pods, and deletes it again while it terminates', async () => {
    const ns = await namespace('Cascading');
    await k.ok(['apply', '-n', ns, '-f', '-'], [pod('done'), pod('crashed'), pod('leaving', [HOLD])].join('---\n'));
    await setPhase(ns, 'done', 'Succeeded');
    await setPhase(ns, 'crashed', 'Failed');
    await setPhase(ns, 'leaving', 'Running');
    await refused(['delete', 'namespace', ns], 'vnamespace.kb.io', `${CASCADING} active pods 1>0`);
    await k.ok(['delete', '-n', ns, 'pod', 'leaving', '--wait=false']);
    assert.ok((await k.json<Obj>(['get', '-n', ns, 'pod', 'leaving'])).metadata.deletionTimestamp, 'pod leaving should be terminating');
    await k.ok(['delete', 'namespace', ns, '--wait=false']);
    // The held pod keeps the namespace Terminating; a terminating object is never blocked, whatever its label says.
    const terminating = await k.json<Obj>(['get', 'namespace', ns]);
    assert.ok(terminating.metadata.deletionTimestamp, 'namespace should be terminating');
    await k.ok(['label', 'namespace', ns, `${LABEL}=Always`, '--overwrite']);
    await k.ok(['delete', 'namespace', ns, '--wait=false']);
    await k.ok(['patch', '-n', ns, 'pod', 'leaving', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    await gone(['namespace', ns], `namespace ${ns} to go`);
  });

  it('protects a CRD: Always, then Cascading with one live and one terminating CR, then only the terminating one', async () => {
    const created = await k.run(['apply', '-f', '-'], testCrd('always'));
    assert.equal(created.code, 0, created.stderr);
    assert.ok(created.stderr.includes(TYPO_WARNING), created.stderr);
    await k.ok(['label', 'crd', TEST_CRD, `${LABEL}=Always`, '--overwrite']);
    await k.ok(['wait', '--for=condition=Established', '--timeout=10s', `crd/${TEST_CRD}`]);
    await refused(['delete', 'crd', TEST_CRD], 'vcustomresourcedefinition.kb.io', ALWAYS);
    await k.ok(['label', 'crd', TEST_CRD, `${LABEL}-`]);
    await k.ok(['label', 'crd', TEST_CRD, `${LABEL}=Cascading`]);
    const ns = await namespace();
    const cr = (name: string, finalizers: string[] = []) =>
      `apiVersion: e2e.kruise.io/v1beta1\nkind: TestDeletionCase\nmetadata: {name: ${name}, finalizers: ${JSON.stringify(finalizers)}}\n`;
    await k.ok(['apply', '-n', ns, '-f', '-'], cr('live') + '---\n' + cr('leaving', [HOLD]));
    await k.ok(['delete', '-n', ns, 'testdeletioncase', 'leaving', '--wait=false']);
    await refused(['delete', 'crd', TEST_CRD], 'vcustomresourcedefinition.kb.io', `${CASCADING} active CRs 1>0`);
    await k.ok(['delete', '-n', ns, 'testdeletioncase', 'live']);
    await k.ok(['delete', 'crd', TEST_CRD, '--wait=false']);
    // The held CR keeps the CRD terminating: deleting it again is allowed even under Always.
    assert.ok((await k.json<Obj>(['get', 'crd', TEST_CRD])).metadata.deletionTimestamp, 'CRD should be terminating');
    await k.ok(['label', 'crd', TEST_CRD, `${LABEL}=Always`, '--overwrite']);
    await k.ok(['delete', 'crd', TEST_CRD, '--wait=false']);
    await k.ok(['patch', '-n', ns, 'testdeletioncase', 'leaving', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    await gone(['crd', TEST_CRD], `CRD ${TEST_CRD} to go`);
  });

  for (const w of WORKLOADS) {
    it(`protects a ${w.kind}: Always until unlabelled, Cascading while replicas > 0`, async () => {
      const ns = await namespace();
      await k.ok(['apply', '-n', ns, '-f', '-'], w.manifest('always', 2, 'Always') + '---\n' + w.manifest('cascading', 2, 'Cascading'));
      await refused(['delete', '-n', ns, w.resource, 'always'], w.webhook, ALWAYS);
      await k.ok(['label', '-n', ns, w.resource, 'always', `${LABEL}-`]);
      await k.ok(['delete', '-n', ns, w.resource, 'always']);
      await refused(['delete', '-n', ns, w.resource, 'cascading'], w.webhook, `${CASCADING} replicas 2>0`);
      await k.ok(['scale', '-n', ns, w.resource, 'cascading', '--replicas=0']);
      await k.ok(['delete', '-n', ns, w.resource, 'cascading']);
      await gone(['-n', ns, w.resource, 'cascading'], `${w.kind} cascading to go`);
    });
  }

  it('protects the CloneSet sample as the README walk-through does', async () => {
    const ns = await namespace();
    await k.ok(['apply', '-n', ns, '-f', CLONESET_SAMPLE]);
    await k.ok(['label', '-n', ns, 'cloneset', 'sample', `${LABEL}=Cascading`]);
    await refused(['delete', '-n', ns, 'cloneset', 'sample'], 'vcloneset.kb.io', `${CASCADING} replicas 5>0`);
    await k.ok(['scale', '-n', ns, 'cloneset', 'sample', '--replicas=0']);
    await k.ok(['delete', '-n', ns, 'cloneset', 'sample']);
  });

  it('protects Services and Ingresses with Always only', async () => {
    const ns = await namespace();
    const svc = (name: string, label: string) =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, labels: ${labelsYaml(label)}}\nspec: {ports: [{port: 80}]}\n`;
    const ing = (name: string, label: string) =>
      `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ${name}, labels: ${labelsYaml(label)}}\n` +
      'spec: {defaultBackend: {service: {name: always, port: {number: 80}}}}\n';
    await k.ok(['apply', '-n', ns, '-f', '-'], svc('always', 'Always') + '---\n' + ing('always', 'Always'));
    const cascading = await k.run(['apply', '-n', ns, '-f', '-'], svc('cascading', 'Cascading') + '---\n' + ing('cascading', 'Cascading'));
    assert.equal(cascading.code, 0, cascading.stderr);
    assert.match(cascading.stderr, /Warning: label policy\.kruise\.io\/delete-protection="Cascading" gives a Service no deletion protection: the only valid value for a Service is "Always"/);
    assert.match(cascading.stderr, /Warning: label policy\.kruise\.io\/delete-protection="Cascading" gives an Ingress no deletion protection: the only valid value for an Ingress is "Always"/);
    await refused(['delete', '-n', ns, 'service', 'always'], 'vservice.kb.io', ALWAYS);
    await refused(['delete', '-n', ns, 'ingress', 'always'], 'vingress.kb.io', ALWAYS);
    await k.ok(['delete', '-n', ns, 'service', 'cascading']);
    await k.ok(['delete', '-n', ns, 'ingress', 'cascading']);
    await k.ok(['label', '-n', ns, 'service', 'always', `${LABEL}-`]);
    await k.ok(['label', '-n', ns, 'ingress', 'always', `${LABEL}-`]);
    await k.ok(['delete', '-n', ns, 'service', 'always']);
    await k.ok(['delete', '-n', ns, 'ingress', 'always']);
  });

  it('warns about the label value always on create and update and does not block the delete', async () => {
    const name = nsName('typo');
    const created = await k.run(['apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: ${labelsYaml('always')}}\n`);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`namespace/${name} created`));
    assert.ok(created.stderr.includes(TYPO_WARNING), created.stderr);
    for (const w of WORKLOADS) {
      const r = await k.run(['apply', '-n', name, '-f', '-'], w.manifest('typo', 3, 'always'));
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes(TYPO_WARNING), `${w.kind}: ${r.stderr}`);
      await k.ok(['delete', '-n', name, w.resource, 'typo']);
    }
    const relabel = await k.run(['label', 'namespace', name, `${LABEL}=Cascading`, '--overwrite']);
    assert.equal(relabel.stderr, '');
    const typo = await k.run(['label', 'namespace', name, `${LABEL}=always`, '--overwrite']);
    assert.equal(typo.code, 0, typo.stderr);
    assert.ok(typo.stderr.includes(TYPO_WARNING), typo.stderr);
    await k.ok(['delete', 'namespace', name]);
  });

  it('allows repeated deletes of a labelled workload that is already terminating', async () => {
    const ns = await namespace();
    const held = WORKLOADS[0].manifest('held', 0, 'Cascading').replace('metadata: {', `metadata: {finalizers: [${HOLD}], `);
    await k.ok(['apply', '-n', ns, '-f', '-'], held);
    await k.ok(['delete', '-n', ns, 'deployment', 'held', '--wait=false']);
    await k.ok(['label', '-n', ns, 'deployment', 'held', `${LABEL}=Always`, '--overwrite']);
    await k.ok(['scale', '-n', ns, 'deployment', 'held', '--replicas=3']);
    await k.ok(['delete', '-n', ns, 'deployment', 'held', '--wait=false']);
    await k.ok(['patch', '-n', ns, 'deployment', 'held', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    await gone(['-n', ns, 'deployment', 'held'], 'deployment held to go');
  });

  // Last: it stops this sandbox's webhooks.
  it('with the coordinator stopped, deletes unlabelled objects and refuses labelled ones by failurePolicy', async () => {
    const plain = await namespace();
    const guarded = await namespace('Cascading');
    await k.ok(['apply', '-n', plain, '-f', '-'], WORKLOADS[0].manifest('plain', 1));
    await k.ok(['apply', '-n', guarded, '-f', '-'], WORKLOADS[0].manifest('guarded', 0, 'Cascading') + '---\n' + WORKLOADS[3].manifest('unlabelled', 0));
    await env.sandbox.admission.close();
    await k.ok(['delete', '-n', plain, 'deployment', 'plain']);
    await k.ok(['delete', 'namespace', plain]);
    const d = await k.run(['delete', '-n', guarded, 'deployment', 'guarded']);
    assert.notEqual(d.code, 0);
    assert.match(d.stderr, /^Error from server \(InternalError\): Internal error occurred: failed calling webhook "vbuiltindeployment\.kb\.io"/);
    const n = await k.run(['delete', 'namespace', guarded]);
    assert.notEqual(n.code, 0);
    assert.match(n.stderr, /^Error from server \(InternalError\): Internal error occurred: failed calling webhook "vnamespace\.kb\.io"/);
    // The CloneSet validator handles DELETE with no objectSelector (spec §1.3, as upstream), so while the
    // coordinator is down even an unlabelled CloneSet is refused.
    const cs = await k.run(['delete', '-n', guarded, 'cloneset', 'unlabelled']);
    assert.notEqual(cs.code, 0);
    assert.match(cs.stderr, /failed calling webhook "vcloneset\.kb\.io"/);
    assert.equal((await k.json<Obj>(['get', 'namespace', guarded])).metadata.deletionTimestamp, undefined);
    await k.ok(['get', '-n', guarded, 'deployment/guarded', 'cloneset/unlabelled']);
  });
});

describe('deletion protection through kubectl with the gate off', { skip: kubectlSkipReason() }, () => {
  let env: Awaited<ReturnType<typeof startKubectlSandbox>>;
  before(async () => { env = await startKubectlSandbox('ResourcesDeletionProtection=false'); });
  after(async () => { await env?.close(); });

  it('deletes labelled namespaces, workloads and Services', async () => {
    const { k } = env;
    const ns = nsName('off');
    await k.ok(['apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}, labels: ${labelsYaml('Cascading')}}\n`);
    await k.ok(['apply', '-n', ns, '-f', '-'], pod('running'));
    await k.ok(['patch', '-n', ns, 'pod', 'running', '--subresource=status', '--type', 'merge', '-p', '{"status":{"phase":"Running"}}']);
    for (const w of WORKLOADS) {
      await k.ok(['apply', '-n', ns, '-f', '-'], w.manifest('always', 2, 'Always') + '---\n' + w.manifest('cascading', 2, 'Cascading'));
      await k.ok(['delete', '-n', ns, w.resource, 'always', 'cascading']);
    }
    await k.ok(['apply', '-n', ns, '-f', '-'], `apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: ${labelsYaml('Always')}}\nspec: {ports: [{port: 80}]}\n`);
    await k.ok(['delete', '-n', ns, 'service', 's']);
    await k.ok(['label', 'namespace', ns, `${LABEL}=Always`, '--overwrite']);
    await k.ok(['delete', 'namespace', ns]);
  });
});
