import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { toTable } from '../../../src/sandbox/apiserver/http/table.js';
import type { ResourceType } from '../../../src/sandbox/apiserver/resource-type.js';

const controllerRevisions: ResourceType = {
  group: 'apps', version: 'v1', kind: 'ControllerRevision', listKind: 'ControllerRevisionList', plural: 'controllerrevisions',
  singular: 'controllerrevision', shortNames: [], categories: [], namespaced: true, subresources: { status: false }, builtin: true,
};

const NOW = new Date('2026-01-01T00:10:00Z');

function revision(name: string, revisionNumber: number, owner?: { apiVersion: string; kind: string; name: string; controller?: boolean }): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'ControllerRevision', revision: revisionNumber,
    metadata: {
      name, namespace: 'default', creationTimestamp: '2026-01-01T00:05:00Z',
      ...(owner ? { ownerReferences: [{ uid: 'u', ...owner }] } : {}),
    },
  } as KubeObject;
}

describe('server-side tables', () => {
  it('should print ControllerRevisions as kubectl does: NAME CONTROLLER REVISION AGE', () => {
    const table = toTable(controllerRevisions, [
      revision('sample-7ccd7dd5cc', 1, { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'sample', controller: true }),
      revision('web-5d4f', 3, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', controller: true }),
      revision('orphan-1', 2, { apiVersion: 'v1', kind: 'Pod', name: 'p' }),
      revision('bare-1', 4),
    ], NOW, 'None') as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Controller', 'Revision', 'Age']);
    assert.deepEqual(table.rows.map((r) => r.cells), [
      ['sample-7ccd7dd5cc', 'cloneset.apps.kruise.io/sample', 1, '5m'],
      ['web-5d4f', 'statefulset.apps/web', 3, '5m'],
      ['orphan-1', '<none>', 2, '5m'],
      ['bare-1', '<none>', 4, '5m'],
    ]);
  });
});
