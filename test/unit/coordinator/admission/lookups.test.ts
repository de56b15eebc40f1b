import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject, SidecarSet } from '../../../../src/api/index.js';
import { cachedSidecarSets } from '../../../../src/coordinator/admission/lookups.js';

const set = (name: string): KubeObject => ({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name } });

describe('cachedSidecarSets', () => {
  it('should read through the API until the informer has synced, then only from its cache', async () => {
    let synced = false;
    let apiCalls = 0;
    const informer = { hasSynced: () => synced, cache: { list: () => [set('cached')] } };
    const fallback = { listSidecarSets: async () => { apiCalls++; return [set('from-api')] as unknown as SidecarSet[]; } };
    const lookups = cachedSidecarSets(informer, fallback);
    const signal = new AbortController().signal;

    assert.deepEqual((await lookups.listSidecarSets(signal)).map((s) => s.metadata.name), ['from-api']);
    synced = true;
    assert.deepEqual((await lookups.listSidecarSets(signal)).map((s) => s.metadata.name), ['cached']);
    assert.equal(apiCalls, 1, 'no API read once synced');
  });

  it('should pass the API error through while not synced', async () => {
    const lookups = cachedSidecarSets({ hasSynced: () => false, cache: { list: () => [] } },
      { listSidecarSets: () => Promise.reject(new Error('sidecarsets is forbidden')) });
    await assert.rejects(lookups.listSidecarSets(new AbortController().signal), /sidecarsets is forbidden/);
  });
});
