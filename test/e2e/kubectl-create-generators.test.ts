/**
 * kubectl 1.32's generator commands (`kubectl create namespace|configmap|secret|serviceaccount|deployment|service|
 * ingress`) POST their objects as application/vnd.kubernetes.protobuf and do not fall back to JSON. Each one runs
 * here against the sandbox API server, and the object is read back to check what the protobuf decoder made of it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';

const NS = 'generators';

interface Obj {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  type?: string;
}

describe('kubectl create generators against the sandbox API server', { skip: kubectlSkipReason() }, () => {
  let h: Harness;
  let k: Kubectl;
  before(async () => {
    h = await startHarness({ crds: false });
    k = Kubectl.forHarness(h);
  });
  after(async () => { await h.close(); });

  async function get(path: string): Promise<Obj> {
    const r = await h.request('GET', path);
    assert.equal(r.status, 200, r.text);
    return r.json as Obj;
  }

  it('creates a namespace', async () => {
    assert.match(await k.ok(['create', 'namespace', NS]), /namespace\/generators created/);
    const ns = await get(`/api/v1/namespaces/${NS}`);
    assert.equal(ns.metadata.name, NS);
  });

  it('creates a config map with literal data and binary data from a file', async () => {
    const file = join(h.dir, 'blob.bin');
    await writeFile(file, Buffer.from([0x00, 0x01, 0xfe, 0xff]));
    await k.ok(['-n', NS, 'create', 'configmap', 'settings', '--from-literal=mode=fast', `--from-file=blob=${file}`]);
    const cm = await get(`/api/v1/namespaces/${NS}/configmaps/settings`);
    assert.deepEqual(cm.data, { mode: 'fast' });
    assert.deepEqual(cm.binaryData, { blob: Buffer.from([0x00, 0x01, 0xfe, 0xff]).toString('base64') });
  });

  it('creates a generic secret and a docker-registry secret with base64 data', async () => {
    await k.ok(['-n', NS, 'create', 'secret', 'generic', 'creds', '--from-literal=password=hunter2']);
    const generic = await get(`/api/v1/namespaces/${NS}/secrets/creds`);
    assert.equal(Buffer.from(generic.data!['password']!, 'base64').toString('utf8'), 'hunter2');

    await k.ok(['-n', NS, 'create', 'secret', 'docker-registry', 'registry', '--docker-server=reg.example', '--docker-username=u', '--docker-password=p']);
    const docker = await get(`/api/v1/namespaces/${NS}/secrets/registry`);
    assert.equal(docker.type, 'kubernetes.io/dockerconfigjson');
    const config = JSON.parse(Buffer.from(docker.data!['.dockerconfigjson']!, 'base64').toString('utf8')) as { auths: Record<string, { username: string }> };
    assert.equal(config.auths['reg.example']?.username, 'u');
  });

  it('creates a service account', async () => {
    assert.match(await k.ok(['-n', NS, 'create', 'serviceaccount', 'robot']), /serviceaccount\/robot created/);
    const sa = await get(`/api/v1/namespaces/${NS}/serviceaccounts/robot`);
    assert.equal(sa.metadata.namespace, NS);
  });

  it('creates a deployment and keeps an explicit replicas of 0', async () => {
    await k.ok(['-n', NS, 'create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=0', '--port=8080']);
    const d = await get(`/apis/apps/v1/namespaces/${NS}/deployments/web`);
    assert.deepEqual(d.metadata.labels, { app: 'web' });
    const spec = d.spec as {
      replicas: number; selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; image: string; ports?: { containerPort: number }[] }[] } };
    };
    assert.equal(spec.replicas, 0);
    assert.deepEqual(spec.selector.matchLabels, { app: 'web' });
    assert.deepEqual(spec.template.metadata.labels, { app: 'web' });
    const [c] = spec.template.spec.containers;
    assert.equal(c?.name, 'nginx');
    assert.equal(c?.image, 'nginx:1.27');
    assert.equal(c?.ports?.[0]?.containerPort, 8080);
  });

  it('creates a deployment with several images and a command', async () => {
    await k.ok(['-n', NS, 'create', 'deployment', 'pair', '--image=nginx', '--image=busybox:1.36']);
    const d = await get(`/apis/apps/v1/namespaces/${NS}/deployments/pair`);
    const containers = (d.spec as { template: { spec: { containers: { name: string; image: string }[] } } }).template.spec.containers;
    assert.deepEqual(containers.map((c) => [c.name, c.image]), [['nginx', 'nginx'], ['busybox', 'busybox:1.36']]);

    await k.ok(['-n', NS, 'create', 'deployment', 'sleeper', '--image=busybox', '--', 'sleep', '3600']);
    const s = await get(`/apis/apps/v1/namespaces/${NS}/deployments/sleeper`);
    const sc = (s.spec as { template: { spec: { containers: { command?: string[] }[] } } }).template.spec.containers[0];
    assert.deepEqual(sc?.command, ['sleep', '3600']);
  });

  it('creates cluster IP and node port services with numeric and named target ports', async () => {
    await k.ok(['-n', NS, 'create', 'service', 'clusterip', 'front', '--tcp=80:8080']);
    const front = (await get(`/api/v1/namespaces/${NS}/services/front`)).spec as { type: string; selector: Record<string, string>; ports: Record<string, unknown>[] };
    assert.equal(front.type, 'ClusterIP');
    assert.deepEqual(front.selector, { app: 'front' });
    assert.equal(front.ports[0]?.['port'], 80);
    assert.equal(front.ports[0]?.['targetPort'], 8080);
    assert.equal(front.ports[0]?.['protocol'], 'TCP');

    await k.ok(['-n', NS, 'create', 'service', 'nodeport', 'edge', '--tcp=443:https', '--node-port=30443']);
    const edge = (await get(`/api/v1/namespaces/${NS}/services/edge`)).spec as { type: string; ports: Record<string, unknown>[] };
    assert.equal(edge.type, 'NodePort');
    assert.equal(edge.ports[0]?.['targetPort'], 'https');
    assert.equal(edge.ports[0]?.['nodePort'], 30443);
  });

  it('creates an ingress with its rule value inlined', async () => {
    await k.ok(['-n', NS, 'create', 'ingress', 'gate', '--rule=foo.example/api*=front:80', '--class=nginx']);
    const spec = (await get(`/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/gate`)).spec as {
      ingressClassName: string;
      rules: { host: string; http: { paths: { path: string; pathType: string; backend: { service: { name: string; port: { number: number } } } }[] } }[];
    };
    assert.equal(spec.ingressClassName, 'nginx');
    assert.equal(spec.rules[0]?.host, 'foo.example');
    assert.deepEqual(spec.rules[0]?.http.paths[0], { path: '/api', pathType: 'Prefix', backend: { service: { name: 'front', port: { number: 80 } } } });
  });

  it('still labels, scales and sets images on generated objects, which kubectl sends as JSON patches', async () => {
    await k.ok(['label', 'namespace', NS, 'team=a']);
    assert.equal((await get(`/api/v1/namespaces/${NS}`)).metadata.labels?.['team'], 'a');
    await k.ok(['-n', NS, 'scale', 'deployment', 'web', '--replicas=2']);
    await k.ok(['-n', NS, 'set', 'image', 'deployment/web', 'nginx=nginx:1.28']);
    const d = (await get(`/apis/apps/v1/namespaces/${NS}/deployments/web`)).spec as { replicas: number; template: { spec: { containers: { image: string }[] } } };
    assert.equal(d.replicas, 2);
    assert.equal(d.template.spec.containers[0]?.image, 'nginx:1.28');
  });

  it('reports a duplicate generated object as AlreadyExists, read from the JSON error kubectl gets back', async () => {
    const r = await k.run(['create', 'namespace', NS]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /AlreadyExists|already exists/);
  });
});
