/**
 * Everything under deploy/ as an operator applies it: `kubectl apply --dry-run=server -R -f deploy/` against the
 * embedded API server (CRDs served, as the harness applies deploy/crds), then the agent and coordinator manifests
 * for real and again (client-side apply's strategic merge on DaemonSet and RBAC kinds). The DaemonSet's required
 * settings are checked on the parsed YAML, so they cannot quietly disappear in an edit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';

const DEPLOY = fileURLToPath(new URL('../../../deploy/', import.meta.url));

interface Manifest { file: string; obj: Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } } }

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await yamlFiles(p));
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

async function manifests(dir: string): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const file of await yamlFiles(dir)) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as Manifest['obj'] | null;
      if (obj) out.push({ file, obj });
    }
  }
  return out;
}

type Obj = Record<string, unknown>;
const at = (o: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k as string], o);

describe('deploy/ manifests', () => {
  let all: Manifest[];
  before(async () => { all = await manifests(DEPLOY); });

  it('should give the agent DaemonSet what a node agent needs', () => {
    const ds = all.find((m) => m.obj.kind === 'DaemonSet')?.obj;
    assert.ok(ds, 'a DaemonSet in deploy/');
    assert.equal(ds.metadata.namespace, 'kruise-system');
    const pod = at(ds, 'spec', 'template', 'spec') as Obj;
    assert.deepEqual(pod['tolerations'], [{ operator: 'Exists' }], 'tolerates every taint');
    assert.equal(pod['hostNetwork'], true);
    assert.equal(pod['terminationGracePeriodSeconds'], 10);
    assert.equal(pod['serviceAccountName'], 'kruise-ts-agent');
    const [c] = pod['containers'] as Obj[];
    assert.ok(c);
    assert.deepEqual((c['args'] as string[]).slice(0, 1), ['agent']);
    assert.ok((c['args'] as string[]).includes('--host-root=/host'));
    assert.ok((c['args'] as string[]).includes('--health-port=10221'));
    assert.deepEqual((c['env'] as Obj[]).find((e) => e['name'] === 'NODE_NAME'),
      { name: 'NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } });
    assert.deepEqual(at(c, 'livenessProbe', 'httpGet'), { path: '/healthz', port: 10221 });
    assert.deepEqual(at(c, 'readinessProbe', 'httpGet'), { path: '/readyz', port: 10221 });
    assert.ok((c['ports'] as Obj[]).some((p) => p['containerPort'] === 10221), 'metrics port');
    for (const kind of ['requests', 'limits']) {
      assert.ok(at(c, 'resources', kind, 'cpu'), `resources.${kind}.cpu`);
      assert.ok(at(c, 'resources', kind, 'memory'), `resources.${kind}.memory`);
    }
    assert.ok(mebibytes(String(at(c, 'resources', 'limits', 'memory'))) >= 64, 'memory limit of at least 64Mi');
    // The host's run directories, read-only, under --host-root.
    const volumes = new Map((pod['volumes'] as Obj[]).map((v) => [v['name'] as string, at(v, 'hostPath', 'path')]));
    const mounts = (c['volumeMounts'] as Obj[]).map((m) => ({ host: volumes.get(m['name'] as string), at: m['mountPath'], readOnly: m['readOnly'] }));
    for (const dir of ['/run', '/var/run']) {
      assert.deepEqual(mounts.find((m) => m.host === dir), { host: dir, at: `/host${dir}`, readOnly: true }, `${dir} mounted read-only`);
    }
    assert.ok(mounts.every((m) => m.readOnly === true), 'every mount is read-only');
  });

  it('should give the coordinator two leader-elected replicas with webhooks on 9876', () => {
    const d = all.find((m) => m.obj.kind === 'Deployment' && m.obj.metadata.name === 'kruise-ts-coordinator')?.obj;
    assert.ok(d);
    assert.equal(at(d, 'spec', 'replicas'), 2);
    const [c] = at(d, 'spec', 'template', 'spec', 'containers') as Obj[];
    const args = c!['args'] as string[];
    const service = all.find((m) => m.obj.kind === 'Service' && m.file.includes('/coordinator/'))?.obj;
    assert.ok(service);
    assert.ok(args.includes(`--webhook-service=kruise-system/${service.metadata.name}`), `args name the Service: ${args.join(' ')}`);
    assert.ok(args.includes('--leader-election-namespace=kruise-system'));
    assert.ok((c!['ports'] as Obj[]).some((p) => p['containerPort'] === 9876 && p['name'] === 'webhook'));
    assert.ok((c!['ports'] as Obj[]).some((p) => p['containerPort'] === 8000));
  });

  it('should keep the agent\'s Secret access to kruise-system', () => {
    const agentRules = all.filter((m) => m.obj.kind === 'ClusterRole' && m.obj.metadata.name === 'kruise-ts-agent')
      .flatMap((m) => m.obj['rules'] as Obj[]);
    assert.ok(agentRules.length > 0);
    assert.ok(!agentRules.some((r) => (r['resources'] as string[]).includes('secrets')), 'no cluster-wide Secret access');
    const role = all.find((m) => m.obj.kind === 'Role' && m.obj.metadata.name === 'kruise-ts-agent')?.obj;
    assert.equal(role?.metadata.namespace, 'kruise-system');
    assert.deepEqual(role?.['rules'], [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
  });
});

describe('deploy/ against the API server', () => {
  let h: Harness;
  let k: Kubectl;
  let skip: string | undefined;
  before(async () => {
    skip = kubectlSkipReason();
    if (skip) return;
    h = await startHarness();
    k = Kubectl.forHarness(h);
  });
  after(async () => { await h?.close(); });

  it('should accept every object of deploy/ in a server-side dry run', async (t) => {
    if (skip) { t.skip(skip); return; }
    const expected = await manifests(DEPLOY);
    const r = await k.run(['apply', '--dry-run=server', '-R', '-f', DEPLOY]);
    assert.equal(r.code, 0, r.stderr || r.stdout);
    const lines = r.stdout.trim().split('\n');
    for (const line of lines) assert.match(line, /^\S+ (created|configured|unchanged) \(server dry run\)$/, line);
    assert.equal(lines.length, expected.length, `one line per object:\n${r.stdout}`);
    for (const { obj } of expected) {
      assert.ok(lines.some((l) => l.endsWith(`/${obj.metadata.name} ${l.split(' ')[1]} (server dry run)`) && l.toLowerCase().startsWith(obj.kind.toLowerCase())),
        `${obj.kind} ${obj.metadata.name} reported`);
    }
    // A dry run stores nothing.
    const gone = await k.run(['get', 'daemonset', '-n', 'kruise-system', 'kruise-ts-agent']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound|not found/);
  });

  it('should apply the agent and coordinator manifests, and apply them again unchanged', async (t) => {
    if (skip) { t.skip(skip); return; }
    const dirs = [join(DEPLOY, 'coordinator'), join(DEPLOY, 'agent')];
    const first = await k.run(['apply', ...dirs.flatMap((d) => ['-f', d])]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /daemonset\.apps\/kruise-ts-agent created/);
    assert.match(first.stdout, /clusterrole\.rbac\.authorization\.k8s\.io\/kruise-ts-agent created/);
    assert.match(first.stdout, /rolebinding\.rbac\.authorization\.k8s\.io\/kruise-ts-coordinator created/);
    const again = await k.run(['apply', ...dirs.flatMap((d) => ['-f', d])]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, / created$/m);
    const ds = await k.json<Obj>(['get', 'ds', '-n', 'kruise-system', 'kruise-ts-agent']);
    assert.equal(at(ds, 'metadata', 'generation'), 1);
    assert.deepEqual(at(ds, 'spec', 'template', 'spec', 'tolerations'), [{ operator: 'Exists' }]);
    const role = await k.json<Obj>(['get', 'role', '-n', 'kruise-system', 'kruise-ts-agent']);
    assert.deepEqual(role['rules'], [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]);
  });
});

function mebibytes(q: string): number {
  const m = /^(\d+)(Mi|Gi|M|G)?$/.exec(q);
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === 'Gi' ? n * 1024 : m[2] === 'G' ? n * 1e9 / 2 ** 20 : m[2] === 'M' ? n * 1e6 / 2 ** 20 : m[2] === 'Mi' ? n : n / 2 ** 20;
}
