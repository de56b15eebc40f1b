import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, EnvVarSource, Pod } from '../../../src/api/pod-types.js';
import { containerConfigFor } from '../../../src/sandbox/node/pods/cri-pod-config.js';

const pod: Pod = {
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name: 'shop-0', namespace: 'default', uid: 'u-1',
    labels: { app: 'shop' },
    annotations: { 'version.sidecarset.kruise.io/proxy-1': '43', 'versionalt.sidecarset.kruise.io/proxy-1': '1' },
  },
  spec: { nodeName: 'node-0', containers: [] },
};

function envOf(c: Container): Record<string, string> {
  return Object.fromEntries((containerConfigFor(pod, c, 0, {}, '10.0.0.1').envs ?? []).map((kv) => [kv.key, kv.value]));
}

const ref = (fieldPath: string): EnvVarSource => ({ fieldRef: { fieldPath } });

describe('container env from the pod (downward API fieldRefs)', () => {
  it('should resolve annotation and label fieldRefs at creation, "" for an absent key, as the kubelet does', () => {
    const env = envOf({
      name: 'proxy-1', image: 'proxy:2',
      env: [
        { name: 'SIDECARSET_VERSION', valueFrom: ref("metadata.annotations['version.sidecarset.kruise.io/proxy-1']") },
        { name: 'SIDECARSET_VERSION_ALT', valueFrom: ref("metadata.annotations['versionalt.sidecarset.kruise.io/proxy-1']") },
        { name: 'APP', valueFrom: ref("metadata.labels['app']") },
        { name: 'MISSING', valueFrom: ref("metadata.annotations['nope']") },
        { name: 'NAME', valueFrom: ref('metadata.name') },
        { name: 'LITERAL', value: 'x' },
      ],
    });
    assert.deepEqual(env, { SIDECARSET_VERSION: '43', SIDECARSET_VERSION_ALT: '1', APP: 'shop', MISSING: '', NAME: 'shop-0', LITERAL: 'x' });
  });

  it('should leave out a variable whose fieldRef the node cannot resolve rather than invent a value', () => {
    assert.deepEqual(envOf({ name: 'c', image: 'i', env: [{ name: 'X', valueFrom: ref('spec.unknownField') }] }), {});
  });
});
