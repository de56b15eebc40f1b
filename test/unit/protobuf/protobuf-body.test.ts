import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { ApiError } from '../../../src/sandbox/apiserver/api-error.js';
import { decodeProtobufBody, loadProtobufSchema, PROTOBUF_MEDIA_TYPE } from '../../../src/sandbox/apiserver/http/protobuf-body.js';
import { decodeBody } from '../../../src/sandbox/apiserver/http/request-body.js';

const root = loadProtobufSchema();
const MAGIC = Buffer.from('k8s\0', 'latin1');

function encode(typeName: string, obj: Record<string, unknown>, from: protobuf.Root = root): Uint8Array {
  const type = from.lookupType(typeName);
  return type.encode(type.fromObject(obj)).finish();
}

function envelope(apiVersion: string, kind: string, raw: Uint8Array, extra: Record<string, unknown> = {}): Buffer {
  const unknown = encode('k8s.io.apimachinery.pkg.runtime.Unknown', { typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '', ...extra });
  return Buffer.concat([MAGIC, unknown]);
}

/** ObjectMeta as Go writes it: every non-pointer scalar present, empty or not, and a zero creationTimestamp. */
function goMeta(fields: Record<string, unknown>): Record<string, unknown> {
  return { name: '', generateName: '', namespace: '', selfLink: '', uid: '', resourceVersion: '', generation: 0, creationTimestamp: {}, ...fields };
}

function expectApiError(fn: () => unknown, code: number, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(ApiError.is(e), `expected an ApiError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} should mention ${JSON.stringify(f)}`);
    return true;
  });
}

const CASES: { name: string; apiVersion: string; kind: string; type: string; object: Record<string, unknown>; want: Record<string, unknown> }[] = [
  {
    name: 'a namespace drops the empty fields Go writes and keeps empty spec and status objects',
    apiVersion: 'v1', kind: 'Namespace', type: 'k8s.io.api.core.v1.Namespace',
    object: { metadata: goMeta({ name: 'foo' }), spec: {}, status: { phase: '' } },
    want: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo' }, spec: {}, status: {} },
  },
  {
    name: 'a config map keeps data as strings and binaryData as base64',
    apiVersion: 'v1', kind: 'ConfigMap', type: 'k8s.io.api.core.v1.ConfigMap',
    object: { metadata: goMeta({ name: 'cm', namespace: 'ns' }), data: { a: 'b' }, binaryData: { bin: Buffer.from([0, 1, 0xff]) } },
    want: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns' }, data: { a: 'b' }, binaryData: { bin: 'AAH/' } },
  },
  {
    name: 'a secret has base64 data, string stringData, its type, and keeps immutable false because it is a pointer',
    apiVersion: 'v1', kind: 'Secret', type: 'k8s.io.api.core.v1.Secret',
    object: { metadata: goMeta({ name: 's', namespace: 'ns' }), immutable: false, data: { password: Buffer.from('hunter2') }, stringData: { user: 'bob' }, type: 'Opaque' },
    want: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, immutable: false, data: { password: 'aHVudGVyMg==' }, stringData: { user: 'bob' }, type: 'Opaque' },
  },
  {
    name: 'a service account keeps its image pull secrets and automountServiceAccountToken false',
    apiVersion: 'v1', kind: 'ServiceAccount', type: 'k8s.io.api.core.v1.ServiceAccount',
    object: { metadata: goMeta({ name: 'sa', namespace: 'ns' }), imagePullSecrets: [{ name: 'reg' }], automountServiceAccountToken: false },
    want: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'ns' }, imagePullSecrets: [{ name: 'reg' }], automountServiceAccountToken: false },
  },
  {
    name: 'a service writes targetPort as a number or a string and omits a zero nodePort',
    apiVersion: 'v1', kind: 'Service', type: 'k8s.io.api.core.v1.Service',
    object: {
      metadata: goMeta({ name: 'svc', namespace: 'ns', labels: { app: 'svc' } }),
      spec: {
        ports: [
          { name: '80-80', protocol: 'TCP', port: 80, targetPort: { type: 0, intVal: 8080, strVal: '' }, nodePort: 0 },
          { name: 'web', protocol: 'TCP', port: 443, targetPort: { type: 1, intVal: 0, strVal: 'https' }, nodePort: 30443 },
          { name: 'same', protocol: 'UDP', port: 53, targetPort: { type: 0, intVal: 0, strVal: '' }, nodePort: 0 },
        ],
        selector: { app: 'svc' }, clusterIP: '', type: 'NodePort', sessionAffinity: '', externalName: '', healthCheckNodePort: 0,
        publishNotReadyAddresses: false,
      },
      status: { loadBalancer: {} },
    },
    want: {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'ns', labels: { app: 'svc' } },
      spec: {
        ports: [
          { name: '80-80', protocol: 'TCP', port: 80, targetPort: 8080 },
          { name: 'web', protocol: 'TCP', port: 443, targetPort: 'https', nodePort: 30443 },
          { name: 'same', protocol: 'UDP', port: 53 },
        ],
        selector: { app: 'svc' }, type: 'NodePort',
      },
      status: { loadBalancer: {} },
    },
  },
  {
    name: 'a deployment keeps replicas 0 and maxUnavailable 0, and writes times, quantities and int64s as Kubernetes JSON does',
    apiVersion: 'apps/v1', kind: 'Deployment', type: 'k8s.io.api.apps.v1.Deployment',
    object: {
      metadata: goMeta({
        name: 'web', namespace: 'ns', generation: 3, creationTimestamp: { seconds: 1700000000, nanos: 0 }, labels: { app: 'web' },
        annotations: { note: 'x' }, finalizers: ['keep'],
        ownerReferences: [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'cs', uid: 'u-1', controller: false }],
        managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', time: { seconds: 1700000001 }, fieldsType: 'FieldsV1',
          fieldsV1: { Raw: Buffer.from('{"f:spec":{}}') }, subresource: '' }],
      }),
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
        template: {
          metadata: goMeta({ labels: { app: 'web' } }),
          spec: {
            containers: [{
              name: 'nginx', image: 'nginx:1.27', command: ['nginx'], args: ['-g', 'daemon off;'], workingDir: '',
              ports: [{ name: '', hostPort: 0, containerPort: 80, protocol: 'TCP', hostIP: '' }],
              env: [{ name: 'MODE', value: 'prod' }, { name: 'EMPTY', value: '' }],
              resources: { limits: { cpu: { string: '500m' }, memory: { string: '128Mi' } }, requests: { cpu: { string: '100m' } } },
              volumeMounts: [{ name: 'data', readOnly: true, mountPath: '/data', subPath: '' }],
              terminationMessagePath: '', terminationMessagePolicy: '', imagePullPolicy: 'IfNotPresent', stdin: false, stdinOnce: false, tty: false,
            }],
            restartPolicy: '', terminationGracePeriodSeconds: 0, dnsPolicy: '', nodeSelector: { disk: 'ssd' }, serviceAccountName: '',
            serviceAccount: '', nodeName: '', hostNetwork: false, hostPID: false, hostIPC: false, hostname: '', subdomain: '',
            schedulerName: '', priorityClassName: '', tolerations: [{ key: 'k', operator: 'Exists', value: '', effect: 'NoSchedule' }],
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: { type: 0, intVal: 0, strVal: '' }, maxSurge: { type: 1, intVal: 0, strVal: '25%' } } },
        minReadySeconds: 0, revisionHistoryLimit: 5, paused: false,
      },
      status: { observedGeneration: 0, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: 0 },
    },
    want: {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: {
        name: 'web', namespace: 'ns', generation: 3, creationTimestamp: '2023-11-14T22:13:20Z', labels: { app: 'web' },
        annotations: { note: 'x' },
        ownerReferences: [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'cs', uid: 'u-1', controller: false }],
        finalizers: ['keep'],
        managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'apps/v1', time: '2023-11-14T22:13:21Z', fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': {} } }],
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{
              name: 'nginx', image: 'nginx:1.27', command: ['nginx'], args: ['-g', 'daemon off;'],
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              env: [{ name: 'MODE', value: 'prod' }, { name: 'EMPTY' }],
              resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m' } },
              volumeMounts: [{ name: 'data', readOnly: true, mountPath: '/data' }],
              imagePullPolicy: 'IfNotPresent',
            }],
            terminationGracePeriodSeconds: 0, nodeSelector: { disk: 'ssd' },
            tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
        revisionHistoryLimit: 5,
      },
      status: {},
    },
  },
  {
    name: 'an ingress inlines the rule value, so http sits on the rule as in JSON',
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', type: 'k8s.io.api.networking.v1.Ingress',
    object: {
      metadata: goMeta({ name: 'ing', namespace: 'ns' }),
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['foo.com'], secretName: 'tls' }],
        rules: [{ host: 'foo.com', ingressRuleValue: { http: { paths: [
          { path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc', port: { name: '', number: 80 } } } },
        ] } } }],
      },
      status: { loadBalancer: {} },
    },
    want: {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing', namespace: 'ns' },
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['foo.com'], secretName: 'tls' }],
        rules: [{ host: 'foo.com', http: { paths: [{ path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }],
      },
      status: { loadBalancer: {} },
    },
  },
];

for (const c of CASES) {
  test(c.name, () => {
    assert.deepEqual(decodeProtobufBody(envelope(c.apiVersion, c.kind, encode(c.type, c.object))), c.want);
  });
}

// Captured from kubectl v1.32.4: `kubectl create deployment web --image=nginx --replicas=2 --port=80 -n default`.
const KUBECTL_CREATE_DEPLOYMENT = 'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50Er8BCiYKA3dlYhIAGgdkZWZhdWx0IgAqADIAOABCAFoKCgNhcHASA3dlYhKGAQgCEgwKCgoDYXBwEgN3ZWIabAocCgASABoAIgAqADIAOABCAFoKCgNhcHASA3dlYhJMEi4KBW5naW54EgVuZ2lueCoAMgoKABAAGFAiACoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA';

test('the body kubectl 1.32 sends for create deployment decodes to the object kubectl would send as JSON', () => {
  assert.deepEqual(decodeProtobufBody(Buffer.from(KUBECTL_CREATE_DEPLOYMENT, 'base64')), {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} }] },
      },
      strategy: {},
    },
    status: {},
  });
});

test('decodeBody decodes the protobuf media type and still refuses other unknown media types with 415', () => {
  const body = envelope('v1', 'ServiceAccount', encode('k8s.io.api.core.v1.ServiceAccount', { metadata: goMeta({ name: 'sa' }) }));
  assert.deepEqual(decodeBody(body, `${PROTOBUF_MEDIA_TYPE}; charset=binary`), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' } });
  expectApiError(() => decodeBody(body, 'application/cbor'), 415, 'application/cbor');
});

test('a kind outside the subset is refused with 415 naming the kind and suggesting kubectl create -f', () => {
  const body = envelope('batch/v1', 'Job', encode('k8s.io.api.core.v1.ConfigMap', { metadata: goMeta({ name: 'j' }) }));
  expectApiError(() => decodeProtobufBody(body), 415, 'batch/v1 Job', 'kubectl create -f', 'kubectl apply -f');
});

test('a field outside the subset is refused with 415 naming the kind, the message and the path', () => {
  // A newer client's view of the same messages, with a liveness probe (Container field 10) that the subset lacks.
  const wider = protobuf.parse(`
    syntax = "proto2";
    package wider;
    message Deployment { optional Spec spec = 2; }
    message Spec { optional Template template = 3; }
    message Template { optional PodSpec spec = 2; }
    message PodSpec { repeated Container containers = 2; }
    message Container { optional string name = 1; optional Probe livenessProbe = 10; }
    message Probe { optional int32 periodSeconds = 5; }
  `, { keepCase: true }).root;
  const raw = encode('wider.Deployment', { spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'b', livenessProbe: { periodSeconds: 3 } }] } } } }, wider);
  expectApiError(() => decodeProtobufBody(envelope('apps/v1', 'Deployment', raw)), 415,
    'apps/v1 Deployment', 'field 10 of k8s.io.api.core.v1.Container', 'spec.template.spec.containers[1]', 'kubectl create -f');
});

test('a compressed or re-encoded payload is refused with 415', () => {
  const raw = encode('k8s.io.api.core.v1.Namespace', { metadata: goMeta({ name: 'n' }) });
  expectApiError(() => decodeProtobufBody(envelope('v1', 'Namespace', raw, { contentEncoding: 'gzip' })), 415, 'v1 Namespace', 'gzip');
  expectApiError(() => decodeProtobufBody(envelope('v1', 'Namespace', raw, { contentType: 'application/json' })), 415, 'application/json');
});

const MALFORMED: { name: string; body: () => Buffer; fragment: string }[] = [
  { name: 'a body without the k8s magic prefix', body: () => Buffer.from('{"kind":"Namespace"}'), fragment: 'k8s\\x00' },
  { name: 'an empty body', body: () => Buffer.alloc(0), fragment: 'prefix' },
  { name: 'an envelope without apiVersion and kind', body: () => Buffer.concat([MAGIC, encode('k8s.io.apimachinery.pkg.runtime.Unknown', { raw: Buffer.alloc(0) })]), fragment: 'no apiVersion' },
  {
    name: 'an object truncated in the middle of a field',
    body: () => {
      const raw = encode('k8s.io.api.core.v1.ConfigMap', { metadata: goMeta({ name: 'cm' }), data: { a: 'b' } });
      return envelope('v1', 'ConfigMap', raw.subarray(0, raw.length - 2));
    },
    fragment: 'v1 ConfigMap',
  },
  {
    name: 'a string field sent with the varint wire type',
    // ObjectMeta (field 1, length 2) holding name (field 1) as varint 5.
    body: () => envelope('v1', 'ConfigMap', Uint8Array.from([0x0a, 0x02, 0x08, 0x05])),
    fragment: 'metadata.name: wire type 0',
  },
  {
    name: 'a length that runs past the end of the body',
    body: () => envelope('v1', 'Namespace', Uint8Array.from([0x0a, 0x7f, 0x0a])),
    fragment: 'runs past the end',
  },
  {
    name: 'an IntOrString with an unknown type',
    body: () => envelope('v1', 'Service', encode('k8s.io.api.core.v1.Service', { spec: { ports: [{ port: 1, targetPort: { type: 7 } }] } })),
    fragment: 'spec.ports[0].targetPort',
  },
];

for (const c of MALFORMED) {
  test(`${c.name} is a 400 Bad Request`, () => expectApiError(() => decodeProtobufBody(c.body()), 400, c.fragment));
}
