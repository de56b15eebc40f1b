import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildGroupVersionDocument, buildOpenApiV3, resolveOpenApiV3Request, schemaName } from '../../../src/sandbox/apiserver/openapi/index.js';
import type { ResourceType } from '../../../src/sandbox/apiserver/resource-type.js';

const configMaps: ResourceType = {
  group: '', version: 'v1', kind: 'ConfigMap', listKind: 'ConfigMapList', plural: 'configmaps', singular: 'configmap',
  shortNames: ['cm'], categories: [], namespaced: true, subresources: { status: false }, builtin: true,
};
const nodes: ResourceType = { ...configMaps, kind: 'Node', listKind: 'NodeList', plural: 'nodes', singular: 'node', shortNames: [], namespaced: false, subresources: { status: true } };
const deployments: ResourceType = { ...configMaps, group: 'apps', kind: 'Deployment', listKind: 'DeploymentList', plural: 'deployments', singular: 'deployment' };
const cloneSets: ResourceType = {
  group: 'apps.kruise.io', version: 'v1alpha1', kind: 'CloneSet', listKind: 'CloneSetList', plural: 'clonesets',
  singular: 'cloneset', shortNames: ['clone'], categories: ['all'], namespaced: true, builtin: false,
  subresources: { status: true, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
  schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } }, metadata: { type: 'object' } } },
};
const types = [configMaps, nodes, deployments, cloneSets];

type Op = { parameters?: { name: string; in: string }[]; 'x-kubernetes-group-version-kind'?: unknown; requestBody?: { content: Record<string, unknown> } };

describe('buildOpenApiV3', () => {
  const set = buildOpenApiV3(types);

  it('should index every group-version with a serverRelativeURL carrying the SHA-512 of the document', () => {
    assert.deepEqual(Object.keys(set.index.paths), ['api/v1', 'apis/apps.kruise.io/v1alpha1', 'apis/apps/v1']);
    const gv = set.groupVersions.get('api/v1')!;
    const hash = createHash('sha512').update(gv.json).digest('hex').toUpperCase();
    assert.equal(set.index.paths['api/v1']!.serverRelativeURL, `/openapi/v3/api/v1?hash=${hash}`);
    assert.equal(set.indexJson, JSON.stringify(set.index));
  });

  it('should be deterministic', () => {
    assert.equal(buildOpenApiV3(types).indexJson, set.indexJson);
  });
});

describe('buildGroupVersionDocument', () => {
  it('should declare fieldValidation on every create, update and patch of every resource', () => {
    for (const [group, version] of [['', 'v1'], ['apps.kruise.io', 'v1alpha1']] as const) {
      const doc = buildGroupVersionDocument(types, group, version);
      let writes = 0;
      for (const item of Object.values(doc.paths)) {
        for (const verb of ['post', 'put', 'patch']) {
          const op = item[verb] as Op | undefined;
          if (!op) continue;
          writes++;
          assert.ok(op.parameters?.some((p) => p.name === 'fieldValidation' && p.in === 'query'), `${verb} lacks fieldValidation`);
          assert.ok(op['x-kubernetes-group-version-kind'], `${verb} lacks its GVK`);
        }
      }
      assert.ok(writes > 0);
    }
  });

  it('should lay out namespaced and cluster-scoped paths with status and scale subresources', () => {
    assert.deepEqual(Object.keys(buildGroupVersionDocument(types, '', 'v1').paths).sort(), [
      '/api/v1/configmaps', '/api/v1/namespaces/{namespace}/configmaps', '/api/v1/namespaces/{namespace}/configmaps/{name}',
      '/api/v1/nodes', '/api/v1/nodes/{name}', '/api/v1/nodes/{name}/status',
    ]);
    assert.deepEqual(Object.keys(buildGroupVersionDocument(types, 'apps.kruise.io', 'v1alpha1').paths).sort(), [
      '/apis/apps.kruise.io/v1alpha1/clonesets', '/apis/apps.kruise.io/v1alpha1/namespaces/{namespace}/clonesets',
      '/apis/apps.kruise.io/v1alpha1/namespaces/{namespace}/clonesets/{name}',
      '/apis/apps.kruise.io/v1alpha1/namespaces/{namespace}/clonesets/{name}/scale',
      '/apis/apps.kruise.io/v1alpha1/namespaces/{namespace}/clonesets/{name}/status',
    ]);
  });

  it('should not offer strategic merge patch, so kubectl uses its compiled-in types for built-ins', () => {
    const doc = buildGroupVersionDocument(types, '', 'v1');
    const patch = doc.paths['/api/v1/namespaces/{namespace}/configmaps/{name}']!['patch'] as Op;
    assert.deepEqual(Object.keys(patch.requestBody!.content).sort(),
      ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json']);
  });

  it('should give built-in kinds a permissive schema with apiVersion, kind and metadata', () => {
    const doc = buildGroupVersionDocument(types, '', 'v1');
    const cm = doc.components.schemas['io.k8s.api.core.v1.ConfigMap']!;
    assert.equal(cm['x-kubernetes-preserve-unknown-fields'], true);
    assert.deepEqual(Object.keys(cm['properties'] as object), ['apiVersion', 'kind', 'metadata']);
    assert.deepEqual(cm['x-kubernetes-group-version-kind'], [{ group: '', kind: 'ConfigMap', version: 'v1' }]);
    assert.deepEqual(doc.components.schemas['io.k8s.api.core.v1.ConfigMapList']!['x-kubernetes-group-version-kind'],
      [{ group: '', kind: 'ConfigMapList', version: 'v1' }]);
  });

  it('should embed a custom resource schema with metadata referring to ObjectMeta', () => {
    const doc = buildGroupVersionDocument(types, 'apps.kruise.io', 'v1alpha1');
    const cs = doc.components.schemas['io.kruise.apps.v1alpha1.CloneSet']!;
    const props = cs['properties'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(props['spec'], { type: 'object', properties: { replicas: { type: 'integer' } } });
    assert.deepEqual(props['metadata']!['allOf'], [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }]);
    assert.ok(doc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
    assert.ok(doc.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
    assert.deepEqual(cloneSets.schema!['properties'], { spec: { type: 'object', properties: { replicas: { type: 'integer' } } }, metadata: { type: 'object' } },
      'the ResourceType schema must not change');
  });

  it('should resolve every $ref to a component', () => {
    for (const gv of buildOpenApiV3(types).groupVersions.values()) {
      for (const m of gv.json.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
        assert.ok(gv.document.components.schemas[m[1]!], `${gv.key}: dangling ${m[1]}`);
      }
    }
  });
});

describe('schemaName', () => {
  const rows: [Pick<ResourceType, 'group' | 'version' | 'builtin'>, string, string][] = [
    [{ group: '', version: 'v1', builtin: true }, 'Pod', 'io.k8s.api.core.v1.Pod'],
    [{ group: 'apps', version: 'v1', builtin: true }, 'Deployment', 'io.k8s.api.apps.v1.Deployment'],
    [{ group: 'coordination.k8s.io', version: 'v1', builtin: true }, 'Lease', 'io.k8s.api.coordination.v1.Lease'],
    [{ group: 'apiextensions.k8s.io', version: 'v1', builtin: true }, 'CustomResourceDefinition', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition'],
    [{ group: 'apps.kruise.io', version: 'v1alpha1', builtin: false }, 'CloneSet', 'io.kruise.apps.v1alpha1.CloneSet'],
  ];
  for (const [t, kind, expected] of rows) {
    it(`should name ${kind} of "${t.group}" ${expected}`, () => assert.equal(schemaName(t, kind), expected));
  }
});

describe('resolveOpenApiV3Request', () => {
  const set = buildOpenApiV3(types);
  const now = new Date('2026-01-01T00:00:00Z');
  const gv = set.groupVersions.get('apis/apps.kruise.io/v1alpha1')!;

  it('should serve the index as JSON', () => {
    const r = resolveOpenApiV3Request(set, '/openapi/v3', null, 'application/json, */*', now);
    assert.equal(r.status, 200);
    assert.equal(r.body, set.indexJson);
    assert.equal(r.headers['Content-Type'], 'application/json');
  });

  it('should serve a group-version with immutable caching when the hash matches', () => {
    const r = resolveOpenApiV3Request(set, `/openapi/v3/${gv.key}`, gv.hash, 'application/json', now);
    assert.equal(r.status, 200);
    assert.equal(r.body, gv.json);
    assert.equal(r.headers['Cache-Control'], 'public, immutable');
    assert.equal(r.headers['Expires'], 'Fri, 01 Jan 2027 00:00:00 GMT');
    assert.equal(r.headers['Etag'], `"${gv.hash}"`);
  });

  it('should serve a group-version without caching headers when no hash is given', () => {
    const r = resolveOpenApiV3Request(set, `/openapi/v3/${gv.key}`, null, undefined, now);
    assert.equal(r.status, 200);
    assert.equal(r.headers['Cache-Control'], undefined);
  });

  it('should redirect a stale hash to the current one', () => {
    const r = resolveOpenApiV3Request(set, `/openapi/v3/${gv.key}`, 'OLD', 'application/json', now);
    assert.equal(r.status, 301);
    assert.equal(r.headers['Location'], `/openapi/v3/${gv.key}?hash=${gv.hash}`);
  });

  it('should answer 404 for an unknown group-version', () => {
    assert.equal(resolveOpenApiV3Request(set, '/openapi/v3/apis/nope/v1', null, 'application/json', now).status, 404);
  });

  it('should answer 406 when only protobuf is acceptable', () => {
    const r = resolveOpenApiV3Request(set, `/openapi/v3/${gv.key}`, null, 'application/com.github.proto-openapi.spec.v3@v1.0+protobuf', now);
    assert.equal(r.status, 406);
  });
});
