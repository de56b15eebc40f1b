/**
 * Coordinator replicas behind one Service present one certificate: the first stores its generated certificate
 * in a Secret, the others use it, so the CA bundle patched into our webhook configurations fits every replica.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { sandboxFeatureGates } from '../../../src/api/feature-gates.js';
import { SHARED_CERT_SECRET, startAdmissionServer, type AdmissionServer } from '../../../src/coordinator/admission/index.js';
import { KubeClient } from '../../../src/kube/kube-client.js';
import { startHarness, type Harness } from '../../support/api-server-harness.js';

describe('shared webhook certificate', () => {
  let h: Harness;
  let client: KubeClient;
  const servers: AdmissionServer[] = [];
  before(async () => {
    h = await startHarness();
    client = new KubeClient({ kubeConfig: h.kubeConfig, qps: 1000, burst: 1000, userAgent: 'kruise-ts/test (coordinator)' });
  });
  after(async () => {
    for (const s of servers) await s.close(100);
    client.close();
    await h.close();
  });

  it('should give every replica the certificate the first one stored', async () => {
    const start = (): Promise<AdmissionServer> => startAdmissionServer({
      port: 0, host: '127.0.0.1', gates: sandboxFeatureGates(''), client, registry: new Registry(), logger: pino({ level: 'silent' }),
      serviceRef: { namespace: 'kruise-system', name: 'kruise-ts-webhook-service' },
    });
    const [a, b] = await Promise.all([start(), start()]);
    servers.push(a, b);
    assert.ok(a.caBundlePem);
    assert.equal(a.caBundlePem, b.caBundlePem, 'both replicas trust the same CA');
    const r = await h.request('GET', `/api/v1/namespaces/kruise-system/secrets/${SHARED_CERT_SECRET}`);
    assert.equal(r.status, 200);
    const c = await start();
    servers.push(c);
    assert.equal(c.caBundlePem, a.caBundlePem, 'a replica started later reuses it');
  });
});
