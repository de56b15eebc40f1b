/**
 * The coordinator's admission webhooks wired into the embedded API server: configurations applied with `url`
 * clientConfig and our self-signed CA, then the deletion-protection flows of spec §1.5 (namespace, CRD, workloads,
 * Service/Ingress), the label warning, repeated deletes, the gate, and what happens when the webhook is down.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { sandboxFeatureGates } from '../../../src/api/index.js';
import { startAdmissionServer, type AdmissionServer } from '../../../src/coordinator/admission/index.js';
import { KubeClient } from '../../../src/kube/index.js';
import { startHarness, type Harness } from '../../support/api-server-harness.js';
import { uniqueName } from '../../support/integration-helpers.js';

const LABEL = 'policy.kruise.io/delete-protection';
const ALWAYS = 'forbidden by ResourcesProtectionDeletion for policy.kruise.io/delete-protection=Always';
const CASCADING = 'forbidden by ResourcesProtectionDeletion for policy.kruise.io/delete-protection=Cascading and';
const MERGE = { 'Content-Type': 'application/merge-patch+json' };

describe('deletion protection through the API server', () => {
  let h: Harness;
  let client: KubeClient;
  let adm: AdmissionServer;
  let registry: Registry;

  const start = async (gateFlags = '') => {
    registry = new Registry();
    adm = await startAdmissionServer({ port: 0, host: '127.0.0.1', gates: sandboxFeatureGates(gateFlags), client, registry, logger: pino({ level: 'silent' }) });
  };

  before(async () => {
    h = await startHarness();
    client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts-test' });
    await start();
  });
  after(async () => {
    await adm.close(0);
    client.close();
    await h.close();
  });

  const req = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => h.request(method, path, body, headers);
  const ok = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
    const r = await req(method, path, body, headers);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 400)}`);
    return r;
  };
  const denied = async (path: string, webhook: string, message: string) => {
    const r = await req('DELETE', path);
    assert.equal(r.status, 403, r.text);
    assert.equal((r.json as { message: string }).message, `admission webhook "${webhook}" denied the request: ${message}`);
  };
  const labels = (value?: string) => (value === undefined ? {} : { labels: { [LABEL]: value } });
  const relabel = (path: string, value: string | null) => ok('PATCH', path, { metadata: { labels: { [LABEL]: value } } }, MERGE);
  const namespace = async (value?: string) => {
    const name = uniqueName('dp');
    await ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...labels(value) } });
    return name;
  };
  const deployment = (ns: string, name: string, replicas: number, value?: string, extra = {}) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: ns, name, ...labels(value), ...extra },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });

  it('registers our configurations with url clientConfig and the CA bundle', async () => {
    const r = await ok('GET', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/kruise-ts-validating-webhook-configuration');
    const hook = (r.json as { webhooks: { name: string; clientConfig: { url: string; caBundle: string } }[] }).webhooks.find((w) => w.name === 'vnamespace.kb.io')!;
    assert.equal(hook.clientConfig.url, `https://127.0.0.1:${adm.port}/validate-namespace`);
    assert.equal(Buffer.from(hook.clientConfig.caBundle, 'base64').toString('utf8'), adm.caBundlePem);
  });

  it('protects a namespace: Always, then Cascading with a running pod, then only finished pods', async () => {
    const ns = await namespace('Always');
    await denied(`/api/v1/namespaces/${ns}`, 'vnamespace.kb.io', ALWAYS);
    await relabel(`/api/v1/namespaces/${ns}`, 'Cascading');
    await ok('POST', `/api/v1/namespaces/${ns}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    await ok('PATCH', `/api/v1/namespaces/${ns}/pods/p/status`, { status: { phase: 'Running' } }, MERGE);
    await denied(`/api/v1/namespaces/${ns}`, 'vnamespace.kb.io', `${CASCADING} active pods 1>0`);
    await ok('PATCH', `/api/v1/namespaces/${ns}/pods/p/status`, { status: { phase: 'Succeeded' } }, MERGE);
    await ok('DELETE', `/api/v1/namespaces/${ns}`);
  });

  it('protects a Deployment: Cascading with 2 replicas, then 0', async () => {
    const ns = await namespace();
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/web`;
    await ok('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(ns, 'web', 2, 'Cascading'));
    await denied(path, 'vbuiltindeployment.kb.io', `${CASCADING} replicas 2>0`);
    await ok('PATCH', path, { spec: { replicas: 0 } }, MERGE);
    await ok('DELETE', path);
  });

  it('protects a CloneSet through its validating webhook', async () => {
    const ns = await namespace();
    const path = `/apis/apps.kruise.io/v1alpha1/namespaces/${ns}/clonesets/cs`;
    await ok('POST', `/apis/apps.kruise.io/v1alpha1/namespaces/${ns}/clonesets`, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', metadata: { name: 'cs', ...labels('Always') },
      spec: { replicas: 0, selector: { matchLabels: { app: 'cs' } }, template: { metadata: { labels: { app: 'cs' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    await denied(path, 'vcloneset.kb.io', ALWAYS);
    await ok('PATCH', path, { metadata: { labels: { [LABEL]: 'Cascading' } }, spec: { replicas: 2 } }, MERGE);
    await denied(path, 'vcloneset.kb.io', `${CASCADING} replicas 2>0`);
    await ok('PATCH', path, { spec: { replicas: 0 } }, MERGE);
    await ok('DELETE', path);
  });

  it('protects a CRD while it has a CR that is not terminating', async () => {
    const group = `${uniqueName('e2e')}.kruise.io`;
    const name = `testdeletioncases.${group}`;
    await ok('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name, ...labels('Always') },
      spec: { group, scope: 'Namespaced', names: { plural: 'testdeletioncases', singular: 'testdeletioncase', kind: 'TestDeletionCase', listKind: 'TestDeletionCaseList' },
        versions: [
          { name: 'v1alpha1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
          { name: 'v1beta1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } },
        ] },
    });
    const crdPath = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;
    await denied(crdPath, 'vcustomresourcedefinition.kb.io', ALWAYS);
    await relabel(crdPath, 'Cascading');
    const crs = `/apis/${group}/v1beta1/namespaces/default/testdeletioncases`;
    // The API may need a moment to serve a new CRD.
    for (let i = 0; ; i++) {
      const r = await req('POST', crs, { apiVersion: `${group}/v1beta1`, kind: 'TestDeletionCase', metadata: { name: 'live' } });
      if (r.status === 201) break;
      assert.ok(i < 100, r.text);
      await h.server.idle();
    }
    await ok('POST', crs, { apiVersion: `${group}/v1beta1`, kind: 'TestDeletionCase', metadata: { name: 'going', finalizers: ['example.com/hold'] } });
    await ok('DELETE', `${crs}/going`);
    await denied(crdPath, 'vcustomresourcedefinition.kb.io', `${CASCADING} active CRs 1>0`);
    await ok('DELETE', `${crs}/live`);
    await ok('DELETE', crdPath);
  });

  it('protects Services and Ingresses with Always only', async () => {
    const ns = await namespace();
    const svc = (name: string, value: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, ...labels(value) }, spec: { ports: [{ port: 80 }] } });
    await ok('POST', `/api/v1/namespaces/${ns}/services`, svc('always', 'Always'));
    await ok('POST', `/api/v1/namespaces/${ns}/services`, svc('cascading', 'Cascading'));
    await denied(`/api/v1/namespaces/${ns}/services/always`, 'vservice.kb.io', ALWAYS);
    await ok('DELETE', `/api/v1/namespaces/${ns}/services/cascading`);
    const ing = `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`;
    await ok('POST', ing, { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', ...labels('Always') },
      spec: { defaultBackend: { service: { name: 'always', port: { number: 80 } } } } });
    await denied(`${ing}/i`, 'vingress.kb.io', ALWAYS);
    await relabel(`${ing}/i`, null);
    await ok('DELETE', `${ing}/i`);
  });

  it('warns about the label value always on create and does not block the delete', async () => {
    const ns = await namespace();
    const r = await ok('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(ns, 'typo', 3, 'always'));
    assert.match(r.headers.get('warning') ?? '', /delete-protection=\\?"always\\?" gives no deletion protection: valid values are \\?"Always\\?" and \\?"Cascading\\?"/);
    const clean = await ok('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(ns, 'fine', 3, 'Cascading'));
    assert.equal(clean.headers.get('warning'), null);
    await ok('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/typo`);
  });

  it('allows repeated deletes of an object that is already terminating', async () => {
    const ns = await namespace();
    const path = `/apis/apps/v1/namespaces/${ns}/deployments/held`;
    await ok('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(ns, 'held', 0, 'Cascading', { finalizers: ['example.com/hold'] }));
    await ok('DELETE', path);
    await relabel(path, 'Always');
    await ok('DELETE', path);
    await ok('PATCH', path, { metadata: { finalizers: null } }, MERGE);
  });

  it('counts denials in the registry passed in', async () => {
    assert.match(await registry.metrics(), /kruise_deletion_protection_denials_total\{kind="Deployment",namespace="dp-[0-9a-f]+",name="web"\} 1/);
  });

  it('allows every delete when the gate is off', async () => {
    await adm.close(0);
    await start('ResourcesDeletionProtection=false');
    const ns = await namespace('Always');
    await ok('DELETE', `/api/v1/namespaces/${ns}`);
  });

  it('with the webhook server stopped, deletes unlabelled objects and refuses labelled ones', async () => {
    const ns = await namespace();
    await ok('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(ns, 'plain', 1));
    await ok('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, deployment(ns, 'guarded', 0, 'Cascading'));
    await adm.close(0);
    await ok('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/plain`);
    const r = await req('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/guarded`);
    assert.equal(r.status, 500, r.text);
    assert.match((r.json as { message: string }).message, /failed calling webhook "vbuiltindeployment.kb.io"/);
    await start();
  });
});
