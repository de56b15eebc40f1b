/**
 * Randomized reviews (fast-check): generated CloneSets, ImagePullJobs, SidecarSets and NodeImages — mostly
 * plausible, often wrong — are sent over HTTPS through the mutating webhook, the patch applied, and the result
 * through the validating webhook. Every answer must be a review (HTTP 200) that either admits or denies with a
 * clean field-error status (the kind's code, a message, causes); never a handler exception.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import fc from 'fast-check';
import { pino } from 'pino';
import { parseFeatureGates, type KubeObject } from '../../../src/api/index.js';
import {
  buildRoutes, createSelfSignedServingCertificate, WebhookServer, type ServingCertificate,
} from '../../../src/coordinator/admission/index.js';
import { applyJsonPatch } from '../../../src/sandbox/apiserver/admission/json-patch.js';
import { fakeLookups } from '../../unit/coordinator/admission/helpers.js';

interface ReviewResponse { allowed: boolean; status?: { code: number; message: string; details?: { causes?: unknown[] } }; patch?: string }

function send(port: number, ca: string, path: string, review: object): Promise<{ status: number; response: ReviewResponse }> {
  const body = JSON.stringify(review);
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', ca, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response: ReviewResponse };
        resolve({ status: res.statusCode ?? 0, response: json.response });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const intOrPercent = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom('0%', '20%', '100%', '150%', 'abc', '3', '-1%', ''));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const name = fc.constantFrom('a', 'web', 'x-1', 'Bad_Name', '', 'log-agent');
const labels = fc.dictionary(fc.constantFrom('app', 'tier', 'bad key!', ''), fc.constantFrom('sample', 'web', '', 'v@l'), { maxKeys: 2 });
const selector = fc.record({
  matchLabels: maybe(labels),
  matchExpressions: maybe(fc.array(fc.record({ key: fc.constantFrom('app', 'x', ''), operator: fc.constantFrom('In', 'NotIn', 'Exists', 'Bogus'),
    values: maybe(fc.array(fc.constantFrom('a', 'b', ''), { maxLength: 2 })) }), { maxLength: 2 })),
}, { requiredKeys: [] });
const container = fc.record({
  name, image: fc.constantFrom('nginx', 'nginx:1.2', '', 'UPPER/x', 'example.com:5000/a/b@sha256:' + 'a'.repeat(64)),
  imagePullPolicy: maybe(fc.constantFrom('Always', 'IfNotPresent', 'Never', 'Sometimes')),
  volumeMounts: maybe(fc.array(fc.record({ name: fc.constantFrom('v', 'missing'), mountPath: fc.constantFrom('/a', '') }), { maxLength: 2 })),
}, { requiredKeys: ['name', 'image'] });

const cloneSet = fc.record({
  replicas: maybe(fc.integer({ min: -2, max: 10 })),
  selector: maybe(selector),
  template: fc.record({ metadata: fc.record({ labels: maybe(labels) }, { requiredKeys: [] }), spec: fc.record({ containers: fc.array(container, { maxLength: 2 }),
    restartPolicy: maybe(fc.constantFrom('Always', 'Never')) }, { requiredKeys: ['containers'] }) }),
  scaleStrategy: maybe(fc.record({ podsToDelete: maybe(fc.array(fc.constantFrom('p1', 'p2'), { maxLength: 3 })) }, { requiredKeys: [] })),
  updateStrategy: maybe(fc.record({ type: maybe(fc.constantFrom('ReCreate', 'InPlaceIfPossible', 'InPlaceOnly', 'Other')), partition: maybe(intOrPercent),
    maxUnavailable: maybe(intOrPercent), maxSurge: maybe(intOrPercent), paused: maybe(fc.boolean()) }, { requiredKeys: [] })),
  minReadySeconds: maybe(fc.integer({ min: -1, max: 30 })),
}, { requiredKeys: ['template'] }).map((spec) => ({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', metadata: { name: 'cs', namespace: 'default', uid: 'u' }, spec }));

const imagePullJob = fc.record({
  image: fc.constantFrom('nginx:1.9.1', '', 'UPPER', 'a@sha256:' + 'b'.repeat(64), 'registry:5000/x:y'),
  parallelism: maybe(intOrPercent),
  selector: maybe(fc.record({ names: maybe(fc.array(fc.constantFrom('n1', 'n2'), { maxLength: 3 })), matchLabels: maybe(labels) }, { requiredKeys: [] })),
  podSelector: maybe(selector),
  pullPolicy: maybe(fc.record({ timeoutSeconds: maybe(fc.integer({ min: -5, max: 900 })), backoffLimit: maybe(fc.integer({ min: -1, max: 5 })) }, { requiredKeys: [] })),
  completionPolicy: maybe(fc.record({ type: maybe(fc.constantFrom('Always', 'Never', 'Other')), activeDeadlineSeconds: maybe(fc.integer({ min: -1, max: 100 })),
    ttlSecondsAfterFinished: maybe(fc.integer({ min: -1, max: 100 })) }, { requiredKeys: [] })),
  imagePullPolicy: maybe(fc.constantFrom('Always', 'IfNotPresent', 'Never')),
}, { requiredKeys: ['image'] }).map((spec) => ({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name: 'j', namespace: 'default' }, spec }));

const nodeImage = fc.dictionary(fc.constantFrom('nginx', 'busybox', ''), fc.record({
  tags: fc.array(fc.record({ tag: fc.constantFrom('1', '2', '', 'sha256:abc'), version: maybe(fc.integer({ min: -1, max: 3 })),
    createdAt: maybe(fc.constant('2024-01-01T00:00:00Z')),
    pullPolicy: maybe(fc.record({ ttlSecondsAfterFinished: maybe(fc.integer({ min: 0, max: 100 })), timeoutSeconds: maybe(fc.integer({ min: -1, max: 100 })) }, { requiredKeys: [] })) },
  { requiredKeys: ['tag'] }), { maxLength: 3 }),
}), { maxKeys: 3 }).map((images) => ({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name: 'node-1' }, spec: { images } }));

const sidecarSet = fc.record({
  selector: maybe(selector),
  namespace: maybe(fc.constantFrom('default', '')),
  containers: maybe(fc.array(fc.tuple(container, fc.record({
    podInjectPolicy: maybe(fc.constantFrom('BeforeAppContainer', 'AfterAppContainer', 'Middle')),
    upgradeStrategy: maybe(fc.record({ upgradeType: maybe(fc.constantFrom('ColdUpgrade', 'HotUpgrade', 'Warm')), hotUpgradeEmptyImage: maybe(fc.constantFrom('empty:1', '')) }, { requiredKeys: [] })),
    shareVolumePolicy: maybe(fc.record({ type: maybe(fc.constantFrom('enabled', 'disabled', 'maybe')) }, { requiredKeys: [] })),
  }, { requiredKeys: [] })).map(([c, p]) => ({ ...c, ...p })), { maxLength: 2 })),
  initContainers: maybe(fc.array(container, { maxLength: 1 })),
  volumes: maybe(fc.array(fc.record({ name: fc.constantFrom('v', 'w', ''), emptyDir: fc.constant({}) }), { maxLength: 2 })),
  updateStrategy: maybe(fc.record({ type: maybe(fc.constantFrom('RollingUpdate', 'NotUpdate', 'X')), partition: maybe(intOrPercent), maxUnavailable: maybe(intOrPercent),
    selector: maybe(selector) }, { requiredKeys: [] })),
}, { requiredKeys: [] }).chain((spec) => name.map((n) => ({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: n || 'x' }, spec })));

const KINDS = {
  CloneSet: { arb: cloneSet, resource: 'clonesets', path: 'cloneset', deniedCode: 422 },
  ImagePullJob: { arb: imagePullJob, resource: 'imagepulljobs', path: 'imagepulljob', deniedCode: 400 },
  NodeImage: { arb: nodeImage, resource: 'nodeimages', path: 'nodeimage', deniedCode: 400 },
  SidecarSet: { arb: sidecarSet, resource: 'sidecarsets', path: 'sidecarset', deniedCode: 500 },
} as const;

describe('randomized reviews through the webhooks', () => {
  let cert: ServingCertificate;
  let server: WebhookServer;

  before(async () => {
    cert = await createSelfSignedServingCertificate({ hostnames: [], ipAddresses: [], now: new Date() });
    const sidecar = { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 'other' },
      spec: { selector: { matchLabels: { app: 'sample' } }, containers: [{ name: 'log-agent', image: 'x' }], volumes: [{ name: 'v', hostPath: { path: '/x' } }] } };
    const routes = buildRoutes({ gates: parseFeatureGates(''), lookups: fakeLookups({ sidecarSets: [sidecar as never] }) });
    server = await WebhookServer.start({ host: '127.0.0.1', port: 0, certPem: cert.certPem, keyPem: cert.keyPem, routes, logger: pino({ level: 'silent' }) });
  });
  after(() => server.close(0));

  for (const [kind, k] of Object.entries(KINDS)) {
    it(`admits or cleanly denies generated ${kind}s`, async () => {
      let uid = 0;
      const seen = { allowed: 0, denied: 0 };
      const reviewOf = (object: unknown, operation = 'CREATE') => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {
        uid: `r-${++uid}`, kind: { group: 'apps.kruise.io', version: 'v1alpha1', kind }, resource: { group: 'apps.kruise.io', version: 'v1alpha1', resource: k.resource },
        operation, object, oldObject: operation === 'UPDATE' ? object : null, namespace: 'default' } });
      const check = (r: { status: number; response: ReviewResponse }, what: string) => {
        assert.equal(r.status, 200, what);
        seen[r.response.allowed ? 'allowed' : 'denied']++;
        if (r.response.allowed) return;
        const s = r.response.status!;
        assert.equal(s.code, k.deniedCode, `${what}: ${s.code} ${s.message}`);
        assert.ok(s.message.length > 0 && (s.details?.causes?.length ?? 0) > 0, `${what}: a field-error denial, got ${s.message}`);
      };
      await fc.assert(fc.asyncProperty(k.arb as fc.Arbitrary<KubeObject>, fc.boolean(), async (obj, update) => {
        const mutated = await send(server.port, cert.caPem!, `/mutate-apps-kruise-io-v1alpha1-${k.path}`, reviewOf(obj, update ? 'UPDATE' : 'CREATE'));
        check(mutated, 'mutating');
        if (!mutated.response.allowed) return;
        const ops = mutated.response.patch ? JSON.parse(Buffer.from(mutated.response.patch, 'base64').toString('utf8')) as never : [];
        const defaulted = applyJsonPatch(obj, ops);
        check(await send(server.port, cert.caPem!, `/validate-apps-kruise-io-v1alpha1-${k.path}`, reviewOf(defaulted, update ? 'UPDATE' : 'CREATE')), 'validating defaulted');
        check(await send(server.port, cert.caPem!, `/validate-apps-kruise-io-v1alpha1-${k.path}`, reviewOf(obj)), 'validating raw');
      }), { numRuns: 150 });
      // The generators must exercise both outcomes, or this test proves nothing.
      assert.ok(seen.allowed > 0 && seen.denied > 0, JSON.stringify(seen));
    });
  }
});
