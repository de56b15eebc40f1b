/**
 * §7.1 hashes: Go struct-field JSON with omitempty, SHA-256, hex, safe-encoded. Golden values are upstream's own
 * test expectations (v0.9.0 TestMutatingSidecarSetFn, main TestSidecarSetHash / TestSidecarSetHashWithoutImage).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSidecarSet } from '../../../../src/api/index.js';
import type { SidecarSet } from '../../../../src/api/sidecarset-types.js';
import {
  safeEncodeString, sidecarSetHash, sidecarSetHashAnnotations, sidecarSetHashInput, sidecarSetHashWithoutImage,
} from '../../../../src/coordinator/sidecarset/hash.js';
import { canonicalQuantity, goJsonString } from '../../../../src/coordinator/sidecarset/go-json.js';
import type { AdmissionServerOptions } from '../../../../src/coordinator/admission/index.js';

const bare = (containers: SidecarSet['spec']['containers'], extra: Partial<SidecarSet['spec']> = {}): SidecarSet => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: 'test-sidecar-set' }, spec: { containers, ...extra },
});

describe('safe encoding of the hex digest', () => {
  it('should map 0-9 to 4 5 6 7 8 9 b c d f and a-f to v w x z 2 4', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
    assert.equal(safeEncodeString('abcdef'), 'vwxz24');
  });
});

describe('sidecarSetHash and sidecarSetHashWithoutImage', () => {
  it('should equal upstream for a bare container (main TestSidecarSetHash)', () => {
    const set = bare([{ name: 'container1', image: 'test-image' }]);
    assert.equal(sidecarSetHashInput(set), '{"containers":[{"name":"container1","image":"test-image","resources":{},"upgradeStrategy":{},"shareVolumePolicy":{}}]}');
    assert.equal(sidecarSetHash(set), 'w26c4x8fz245642fdv499b464248f974xddx4x55z5dw55bc6x66464fxz77dc78');
    assert.equal(sidecarSetHashWithoutImage(set), '8wzddb4dvv9c6x8zdc77z4z75987424f457dfv6724ddw6zbdx467wz5x24fc759');
  });
  it('should equal upstream for a defaulted SidecarSet (v0.9.0 TestMutatingSidecarSetFn)', () => {
    const set = defaultSidecarSet({ ...bare([{ name: 'dns-f', image: 'dns:1.0' }]), metadata: { name: 'sidecarset-test', resourceVersion: '123' } });
    assert.equal(sidecarSetHash(set), '6wbd76bd7984x24fb4f44fv9222cw9v9bcf85x766744wddd4zwx927zzz2zb684');
  });
  it('should be 64 characters from the safe alphabet only', () => {
    assert.match(sidecarSetHash(bare([{ name: 'a', image: 'b' }])), /^[456789bcdfvwxz2]{64}$/);
  });
  it('should ignore initContainers, volumes and updateStrategy', () => {
    const base = bare([{ name: 'container1', image: 'test-image' }]);
    const more = bare([{ name: 'container1', image: 'test-image' }], {
      initContainers: [{ name: 'init', image: 'x' }], volumes: [{ name: 'v', emptyDir: {} }], updateStrategy: { paused: true },
    });
    assert.equal(sidecarSetHash(more), sidecarSetHash(base));
  });
  it('should blank image but not hotUpgradeEmptyImage in the without-image hash', () => {
    const a = bare([{ name: 'c', image: 'v1', upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'empty:1' } }]);
    const b = bare([{ name: 'c', image: 'v2', upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'empty:1' } }]);
    const c = bare([{ name: 'c', image: 'v2', upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'empty:2' } }]);
    assert.notEqual(sidecarSetHash(a), sidecarSetHash(b));
    assert.equal(sidecarSetHashWithoutImage(a), sidecarSetHashWithoutImage(b));
    assert.notEqual(sidecarSetHashWithoutImage(b), sidecarSetHashWithoutImage(c));
  });
  it('should change the without-image hash for an env change', () => {
    const a = bare([{ name: 'c', image: 'v1' }]);
    const b = bare([{ name: 'c', image: 'v1', env: [{ name: 'A', value: '1' }] }]);
    assert.notEqual(sidecarSetHashWithoutImage(a), sidecarSetHashWithoutImage(b));
  });
  it('should return both annotations in the admission server option shape', () => {
    const fn: NonNullable<AdmissionServerOptions['sidecarSetHashAnnotations']> = sidecarSetHashAnnotations;
    const set = bare([{ name: 'container1', image: 'test-image' }]);
    assert.deepEqual(fn(set), {
      'kruise.io/sidecarset-hash': 'w26c4x8fz245642fdv499b464248f974xddx4x55z5dw55bc6x66464fxz77dc78',
      'kruise.io/sidecarset-hash-without-image': '8wzddb4dvv9c6x8zdc77z4z75987424f457dfv6724ddw6zbdx467wz5x24fc759',
    });
  });
});

describe('Go JSON encoding of sidecar containers', () => {
  const rows: { name: string; container: Record<string, unknown>; want: string }[] = [
    {
      name: 'fields come in Go declaration order, not the order written',
      container: { transferEnv: [{ envName: 'E', sourceContainerName: 'app' }], tty: true, image: 'i', name: 'n', podInjectPolicy: 'AfterAppContainer' },
      want: '{"name":"n","image":"i","resources":{},"tty":true,"podInjectPolicy":"AfterAppContainer","upgradeStrategy":{},"shareVolumePolicy":{},"transferEnv":[{"sourceContainerName":"app","envName":"E"}]}',
    },
    {
      name: 'omitempty drops false, zero and empty values but a pointer bool false stays',
      container: { name: 'n', stdin: false, ports: [], env: [{ name: 'A', value: '' }], securityContext: { privileged: false, runAsUser: 0 } },
      want: '{"name":"n","env":[{"name":"A"}],"resources":{},"securityContext":{"privileged":false,"runAsUser":0},"upgradeStrategy":{},"shareVolumePolicy":{}}',
    },
    {
      name: 'volume mounts put readOnly before mountPath and probes inline their handler',
      container: { name: 'n', volumeMounts: [{ mountPath: '/a', name: 'v', readOnly: true }], readinessProbe: { periodSeconds: 10, httpGet: { port: 'http', path: '/' } } },
      want: '{"name":"n","resources":{},"volumeMounts":[{"name":"v","readOnly":true,"mountPath":"/a"}],"readinessProbe":{"httpGet":{"path":"/","port":"http"},"periodSeconds":10},"upgradeStrategy":{},"shareVolumePolicy":{}}',
    },
    {
      name: 'resource lists are sorted maps of canonical quantities',
      container: { name: 'n', resources: { requests: { memory: '1024Mi', cpu: '1000m' }, limits: { cpu: 0.5 } } },
      want: '{"name":"n","resources":{"limits":{"cpu":"500m"},"requests":{"cpu":"1","memory":"1Gi"}},"upgradeStrategy":{},"shareVolumePolicy":{}}',
    },
    {
      name: 'fields unknown to a v1.16 container are dropped',
      container: { name: 'n', restartPolicy: 'Always', resizePolicy: [{ resourceName: 'cpu' }] },
      want: '{"name":"n","resources":{},"upgradeStrategy":{},"shareVolumePolicy":{}}',
    },
  ];
  for (const row of rows) {
    it(`should encode so that ${row.name}`, () => {
      assert.equal(sidecarSetHashInput(bare([row.container as never])), `{"containers":[${row.want}]}`);
    });
  }
  it('should render a missing containers list as null', () => {
    assert.equal(sidecarSetHashInput(bare(undefined)), '{"containers":null}');
  });
  it('should escape HTML characters and line separators like Go', () => {
    assert.equal(goJsonString('a<b>&c\u2028\n\b"'), '"a\\u003cb\\u003e\\u0026c\\u2028\\n\\u0008\\""');
  });
  it('should canonicalise quantities like resource.Quantity.String()', () => {
    const cases: [unknown, string][] = [
      ['100m', '100m'], ['1000m', '1'], ['0.5', '500m'], ['1.5Gi', '1536Mi'], ['1024', '1024'], ['2048Ki', '2Mi'],
      ['1500', '1500'], ['1e3', '1e3'], [1, '1'], ['0', '0'], ['512', '512'], ['100Ki', '100Ki'], ['1k', '1k'],
    ];
    for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, String(input));
  });
});
