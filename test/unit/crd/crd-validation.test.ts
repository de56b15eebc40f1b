import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldErrorMessage } from '../../../src/api/field-errors.js';
import { defaultCrd, validateCrd } from '../../../src/sandbox/apiserver/crd/index.js';

// The fixture is edited freely by each case; a loose type keeps the cases short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Crd = { metadata: Record<string, unknown>; spec: Record<string, any> };

function crd(): Crd {
  return {
    metadata: { name: 'clonesets.apps.kruise.io' },
    spec: {
      group: 'apps.kruise.io', scope: 'Namespaced',
      names: { plural: 'clonesets', singular: 'cloneset', kind: 'CloneSet', shortNames: ['clone'] },
      versions: [{
        name: 'v1alpha1', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer', default: 1 } } } } } },
      }],
    },
  };
}

const S = 'spec.versions[0].schema.openAPIV3Schema';

describe('defaultCrd', () => {
  it('should default listKind to kind + List and singular to the lower-case kind', () => {
    const c = crd();
    delete c.spec['names'].singular;
    const d = defaultCrd(c);
    assert.equal(d.spec['names'].listKind, 'CloneSetList');
    assert.equal(d.spec['names'].singular, 'cloneset');
    assert.deepEqual(d.spec['conversion'], { strategy: 'None' });
    assert.equal(c.spec['names'].listKind, undefined, 'input must not change');
  });
});

describe('validateCrd', () => {
  const cases: { name: string; mutate: (c: Crd) => void; messages: string[] }[] = [
    { name: 'should accept a valid CRD', mutate: () => {}, messages: [] },
    { name: 'should require metadata.name to be plural.group', mutate: (c) => { c.metadata['name'] = 'foo.apps.kruise.io'; },
      messages: ['metadata.name: Invalid value: "foo.apps.kruise.io": must be spec.names.plural+"."+spec.group'] },
    { name: 'should require a name', mutate: (c) => { delete c.metadata['name']; },
      messages: ['metadata.name: Required value: name or generateName is required'] },
    { name: 'should require a group with a dot', mutate: (c) => { c.spec['group'] = 'kruise'; c.metadata['name'] = 'clonesets.kruise'; },
      messages: ['spec.group: Invalid value: "kruise": should be a domain with at least one dot'] },
    { name: 'should require a group', mutate: (c) => { c.spec['group'] = ''; c.metadata['name'] = 'clonesets.'; },
      messages: [
        'metadata.name: Invalid value: "clonesets.": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')',
        'spec.group: Required value',
      ] },
    { name: 'should reject an unknown scope', mutate: (c) => { c.spec['scope'] = 'Global'; },
      messages: ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"'] },
    { name: 'should require a scope', mutate: (c) => { delete c.spec['scope']; }, messages: ['spec.scope: Required value'] },
    { name: 'should require names', mutate: (c) => { c.spec['names'] = {}; c.metadata['name'] = '.apps.kruise.io'; },
      messages: [
        'metadata.name: Invalid value: ".apps.kruise.io": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')',
        'spec.names.plural: Required value', 'spec.names.singular: Required value', 'spec.names.kind: Required value',
        'spec.names.listKind: Required value',
      ] },
    { name: 'should reject a short name that is not a DNS label', mutate: (c) => { c.spec['names'].shortNames = ['Bad_'] },
      messages: ['spec.names.shortNames[0]: Invalid value: "Bad_": a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character (e.g. \'my-name\',  or \'abc-123\', regex used for validation is \'[a-z]([-a-z0-9]*[a-z0-9])?\')'] },
    { name: 'should reject kind equal to listKind', mutate: (c) => { c.spec['names'].listKind = 'CloneSet'; },
      messages: ['spec.names.listKind: Invalid value: "CloneSet": kind and listKind may not be the same'] },
    { name: 'should require a storage version', mutate: (c) => { c.spec['versions'][0].storage = false; },
      messages: [/^spec\.versions: Invalid value: \[.*\]: must have exactly one version marked as storage version$/.source] },
    { name: 'should require at least one version', mutate: (c) => { c.spec['versions'] = []; },
      messages: ['spec.versions: Invalid value: []: must have exactly one version marked as storage version'] },
    { name: 'should require unique version names', mutate: (c) => { c.spec['versions'].push({ ...c.spec['versions'][0], storage: false }); },
      messages: [/^spec\.versions: Invalid value: \[.*\]: must contain unique version names$/.source] },
    { name: 'should require a schema for every version', mutate: (c) => { delete c.spec['versions'][0].schema; },
      messages: ['spec.versions[0].schema.openAPIV3Schema: Required value'] },
    { name: 'should reject preserveUnknownFields', mutate: (c) => { c.spec['preserveUnknownFields'] = true; },
      messages: ['spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead'] },
    { name: 'should require a type for object fields', mutate: (c) => { delete c.spec['versions'][0].schema.openAPIV3Schema.properties.spec.type; },
      messages: [`${S}.properties[spec].type: Required value: must not be empty for specified object fields`] },
    { name: 'should require a type for array items', mutate: (c) => { c.spec['versions'][0].schema.openAPIV3Schema.properties.list = { type: 'array', items: {} }; },
      messages: [`${S}.properties[list].items.type: Required value: must not be empty for specified array items`] },
    { name: 'should require items for arrays', mutate: (c) => { c.spec['versions'][0].schema.openAPIV3Schema.properties.list = { type: 'array' }; },
      messages: [`${S}.properties[list].items: Required value: must be specified`] },
    { name: 'should require type object at the root', mutate: (c) => { c.spec['versions'][0].schema.openAPIV3Schema.type = 'string'; },
      messages: [`${S}.type: Invalid value: "string": must be object at the root`] },
    { name: 'should accept untyped fields with int-or-string or preserve-unknown-fields', mutate: (c) => {
      const p = c.spec['versions'][0].schema.openAPIV3Schema.properties;
      p.a = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
      p.b = { 'x-kubernetes-preserve-unknown-fields': true };
    }, messages: [] },
    { name: 'should forbid type inside value validations', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema.properties.spec.anyOf = [{ type: 'object' }];
    }, messages: [`${S}.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural`] },
    // Upstream checks completeness from the root's value validations only (complete.go).
    { name: 'should require fields named in root value validations to be specified', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema.allOf = [{ properties: { other: { minLength: 1 } } }];
    }, messages: [`${S}.properties[other]: Required value: because it is defined in ${S}.allOf[0].properties[other]`] },
    { name: 'should only allow name and generateName restrictions on root metadata', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema.properties.metadata = { type: 'object', properties: { labels: { type: 'object' } } };
    }, messages: [`${S}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`] },
    { name: 'should forbid additionalProperties at the root', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema = { type: 'object', additionalProperties: { type: 'string' } };
    }, messages: [`${S}.additionalProperties: Forbidden: must not be used at the root`] },
    { name: 'should reject unsupported keywords', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema.properties.spec.properties.r = { $ref: '#/x', type: 'string' };
    }, messages: [`${S}.properties[spec].properties[r].$ref: Forbidden: $ref is not supported`] },
    { name: 'should reject an unknown type', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema.properties.spec.properties.r = { type: 'int' };
    }, messages: [`${S}.properties[spec].properties[r].type: Unsupported value: "int": supported values: "array", "boolean", "integer", "number", "object", "string"`] },
    { name: 'should reject a default that does not validate', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema.properties.spec.properties.replicas.default = 'one';
    }, messages: [`${S}.properties[spec].properties[replicas].default: Invalid value: "string":  in body must be of type integer: "string"`] },
    { name: 'should reject a default with unknown fields', mutate: (c) => {
      c.spec['versions'][0].schema.openAPIV3Schema.properties.spec.default = { nope: 1 };
    }, messages: [`${S}.properties[spec].default: Invalid value: {"nope":1}: must not have unknown fields`] },
    { name: 'should reject a scale subresource path outside spec', mutate: (c) => {
      c.spec['versions'][0].subresources = { scale: { specReplicasPath: '.status.replicas', statusReplicasPath: '.status.replicas' } };
    }, messages: ['spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec'] },
    { name: 'should reject a printer column with an unknown type', mutate: (c) => {
      c.spec['versions'][0].additionalPrinterColumns = [{ name: 'X', type: 'float', jsonPath: '.spec.x' }];
    }, messages: ['spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "float": must be one of boolean,date,integer,number,string'] },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const c = crd();
      tc.mutate(c);
      const messages = validateCrd(c).map(fieldErrorMessage);
      assert.equal(messages.length, tc.messages.length, messages.join('\n'));
      tc.messages.forEach((m, i) => {
        if (m.startsWith('^')) assert.match(messages[i]!, new RegExp(m));
        else assert.equal(messages[i], m);
      });
    });
  }
});
