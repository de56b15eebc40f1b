import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldErrorMessage } from '../../../src/api/field-errors.js';
import { compileSchema } from '../../../src/sandbox/apiserver/crd/index.js';
import type { JsonSchemaProps } from '../../../src/sandbox/apiserver/resource-type.js';

const schema: JsonSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['image'],
      properties: {
        replicas: { type: 'integer', format: 'int32', default: 1 },
        parallelism: { type: 'integer', format: 'int32', minimum: 0 },
        ratio: { type: 'number', format: 'double', exclusiveMaximum: true, maximum: 1 },
        image: { type: 'string', minLength: 2, maxLength: 5, pattern: '^[a-z]+$' },
        maxUnavailable: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        completionPolicy: { type: 'object', properties: { type: { type: 'string', enum: ['Always', 'Never'] } } },
        containers: {
          type: 'array', maxItems: 2, minItems: 1,
          items: { type: 'object', properties: { name: { type: 'string' }, pullPolicy: { type: 'string', default: 'IfNotPresent' } } },
        },
        selectors: {
          type: 'object',
          additionalProperties: { type: 'object', properties: { weight: { type: 'integer', default: 10 } } },
        },
        deadline: { type: 'string', format: 'date-time', nullable: true },
        note: { type: 'string' },
        owner: { type: 'string', format: 'my-own-format' },
        count: { type: 'integer', format: 'int64' },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'object', properties: { a: { type: 'string' } } } } },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
        withDefaultObject: { type: 'object', default: {}, properties: { inner: { type: 'string', default: 'x' } } },
      },
    },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

const base = () => ({ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', metadata: { name: 'a' }, spec: { image: 'ngx' } as Record<string, unknown> });

describe('compileSchema', () => {
  it('should return the same compiled schema for the same schema object', () => {
    assert.equal(compileSchema(schema), compileSchema(schema));
    assert.notEqual(compileSchema(schema), compileSchema(structuredClone(schema)));
  });

  it('should compile schemas with numeric and unknown formats without throwing', () => {
    const c = compileSchema({ type: 'object', properties: { a: { type: 'integer', format: 'int32' }, b: { type: 'number', format: 'float' }, c: { type: 'string', format: 'whatever' } } });
    assert.deepEqual(c.validate({ a: 1, b: 1.5, c: 'anything' }), []);
  });
});

describe('applyDefaults', () => {
  const c = compileSchema(schema);
  const cases: { name: string; spec: Record<string, unknown>; expect: Record<string, unknown> }[] = [
    { name: 'should set an absent scalar property', spec: { image: 'a' }, expect: { replicas: 1 } },
    { name: 'should keep a value that is present', spec: { image: 'a', replicas: 5 }, expect: { replicas: 5 } },
    { name: 'should replace a non-nullable null with the default', spec: { image: 'a', replicas: null }, expect: { replicas: 1 } },
    { name: 'should default fields inside array items', spec: { containers: [{ name: 'a' }, { name: 'b', pullPolicy: 'Always' }] },
      expect: { containers: [{ name: 'a', pullPolicy: 'IfNotPresent' }, { name: 'b', pullPolicy: 'Always' }] } },
    { name: 'should default fields inside additionalProperties values', spec: { selectors: { x: {}, y: { weight: 1 } } },
      expect: { selectors: { x: { weight: 10 }, y: { weight: 1 } } } },
    { name: 'should default inside a default it has just applied', spec: {}, expect: { withDefaultObject: { inner: 'x' } } },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const input = { ...base(), spec: tc.spec };
      const out = c.applyDefaults(input);
      for (const [k, v] of Object.entries(tc.expect)) assert.deepEqual((out.spec as Record<string, unknown>)[k], v);
      assert.deepEqual(input.spec, tc.spec, 'input must not change');
    });
  }
});

describe('prune', () => {
  const c = compileSchema(schema);
  it('should drop unknown fields and report their paths', () => {
    const r = c.prune({ ...base(), spec: { image: 'a', foo: 1, containers: [{ name: 'a', bar: 2 }] }, other: true });
    assert.deepEqual(r.unknownFields, ['other', 'spec.containers[0].bar', 'spec.foo']);
    assert.deepEqual(r.object.spec, { image: 'a', containers: [{ name: 'a' }] });
    assert.equal('other' in r.object, false);
  });

  it('should keep apiVersion and kind at the root and cut metadata down to ObjectMeta', () => {
    const r = c.prune({ apiVersion: 'x/v1', kind: 'K', metadata: { name: 'a', labels: { a: 'b' }, bogus: 1, ownerReferences: [{ uid: 'u', extra: 1 }] } });
    assert.deepEqual(r.object, { apiVersion: 'x/v1', kind: 'K', metadata: { name: 'a', labels: { a: 'b' }, ownerReferences: [{ uid: 'u' }] } });
    assert.deepEqual(r.unknownFields, ['metadata.bogus', 'metadata.ownerReferences[0].extra']);
  });

  it('should keep unknown fields under x-kubernetes-preserve-unknown-fields but prune specified properties there', () => {
    const r = c.prune({ ...base(), spec: { image: 'a', extra: { anything: { deep: 1 }, known: { a: 'x', b: 'y' } } }, status: { free: 1 } });
    assert.deepEqual(r.object.spec, { image: 'a', extra: { anything: { deep: 1 }, known: { a: 'x' } } });
    assert.deepEqual(r.object.status, { free: 1 });
    assert.deepEqual(r.unknownFields, ['spec.extra.known.b']);
  });

  it('should keep an embedded resource but drop unknown fields of its metadata', () => {
    const r = c.prune({ ...base(), spec: { image: 'a', template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', nope: 1 }, spec: { x: 1 } } } });
    assert.deepEqual(r.object.spec['template'], { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 1 } });
    assert.deepEqual(r.unknownFields, ['spec.template.metadata.nope']);
  });

  it('should drop nulls of non-nullable fields without a default and keep nullable or defaulted ones', () => {
    const r = c.prune({ ...base(), spec: { image: 'a', note: null, deadline: null, replicas: null } });
    assert.deepEqual(r.object.spec, { image: 'a', deadline: null, replicas: null });
  });

  it('should not change its input', () => {
    const input = { ...base(), spec: { image: 'a', foo: 1 } };
    c.prune(input);
    assert.deepEqual(input.spec, { image: 'a', foo: 1 });
  });
});

describe('validate', () => {
  const c = compileSchema(schema);
  const cases: { name: string; spec: Record<string, unknown>; messages: string[] }[] = [
    { name: 'should accept a valid object', spec: { image: 'ngx', replicas: 2, maxUnavailable: '10%', deadline: '2024-01-02T03:04:05Z' }, messages: [] },
    { name: 'should report a missing required field', spec: {}, messages: ['spec.image: Required value'] },
    { name: 'should report a wrong type with the actual JSON type', spec: { image: 'ngx', replicas: 'string' },
      messages: ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'] },
    { name: 'should call a fractional number a number', spec: { image: 'ngx', replicas: 1.5 },
      messages: ['spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"'] },
    { name: 'should report minimum', spec: { image: 'ngx', parallelism: -1 },
      messages: ['spec.parallelism: Invalid value: -1: spec.parallelism in body should be greater than or equal to 0'] },
    { name: 'should report an exclusive maximum', spec: { image: 'ngx', ratio: 1 },
      messages: ['spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1'] },
    { name: 'should report an enum violation as unsupported value', spec: { image: 'ngx', completionPolicy: { type: 'Sometimes' } },
      messages: ['spec.completionPolicy.type: Unsupported value: "Sometimes": supported values: "Always", "Never"'] },
    { name: 'should accept an integer or a string for int-or-string', spec: { image: 'ngx', maxUnavailable: 3 }, messages: [] },
    { name: 'should reject other types for int-or-string with one error', spec: { image: 'ngx', maxUnavailable: true },
      messages: ['spec.maxUnavailable: Invalid value: "boolean": spec.maxUnavailable in body must be of type integer,string: "boolean"'] },
    { name: 'should accept null for a nullable field', spec: { image: 'ngx', deadline: null }, messages: [] },
    { name: 'should reject null for a non-nullable field', spec: { image: 'ngx', note: null },
      messages: ['spec.note: Invalid value: "null": spec.note in body must be of type string: "null"'] },
    { name: 'should report a string format violation', spec: { image: 'ngx', deadline: 'tomorrow' },
      messages: ['spec.deadline: Invalid value: "tomorrow": spec.deadline in body must be of type date-time: "tomorrow"'] },
    { name: 'should ignore formats Kubernetes does not know', spec: { image: 'ngx', owner: '???', count: 12 }, messages: [] },
    { name: 'should report maxLength as too long', spec: { image: 'abcdef' }, messages: ['spec.image: Too long: may not be more than 5 bytes'] },
    { name: 'should report minLength', spec: { image: 'a' }, messages: ['spec.image: Invalid value: "a": spec.image in body should be at least 2 chars long'] },
    { name: 'should report a pattern mismatch', spec: { image: 'AB' }, messages: ['spec.image: Invalid value: "AB": spec.image in body should match \'^[a-z]+$\''] },
    { name: 'should report maxItems as too many', spec: { image: 'ngx', containers: [{}, {}, {}] }, messages: ['spec.containers: Too many: must have at most 2 items'] },
    { name: 'should report minItems', spec: { image: 'ngx', containers: [] }, messages: ['spec.containers: Invalid value: 0: spec.containers in body should have at least 1 items'] },
    { name: 'should use indexes for array items', spec: { image: 'ngx', containers: [{ name: 1 }] },
      messages: ['spec.containers[0].name: Invalid value: "integer": spec.containers[0].name in body must be of type string: "integer"'] },
    { name: 'should use dotted keys for map values', spec: { image: 'ngx', selectors: { a: { weight: 'x' } } },
      messages: ['spec.selectors.a.weight: Invalid value: "string": spec.selectors.a.weight in body must be of type integer: "string"'] },
    { name: 'should require apiVersion and kind of an embedded resource', spec: { image: 'ngx', template: { metadata: {} } },
      messages: ['spec.template.apiVersion: Required value', 'spec.template.kind: Required value'] },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      assert.deepEqual(c.validate({ ...base(), spec: tc.spec }).map(fieldErrorMessage), tc.messages);
    });
  }

  it('should report anyOf, oneOf and not failures once at the node', () => {
    const v = compileSchema({ type: 'object', properties: {
      a: { type: 'string', anyOf: [{ pattern: '^x' }, { pattern: '^y' }] },
      b: { type: 'string', oneOf: [{ pattern: '^x' }, { pattern: 'x$' }] },
      c: { type: 'string', not: { pattern: '^z' } },
    } });
    assert.deepEqual(v.validate({ a: 'q', b: 'xx', c: 'zz' }).map(fieldErrorMessage), [
      'a: Invalid value: "": "a" must validate at least one schema (anyOf)',
      'b: Invalid value: "": "b" must validate one and only one schema (oneOf). Found 2 valid alternatives',
      'c: Invalid value: "": "c" must not validate the schema (not)',
    ]);
  });

  it('should report properties and items counts and forbidden properties', () => {
    const v = compileSchema({ type: 'object', properties: {
      m: { type: 'object', maxProperties: 1, additionalProperties: { type: 'string' } },
      n: { type: 'object', minProperties: 2, additionalProperties: { type: 'string' } },
      closed: { type: 'object', additionalProperties: false },
      k: { type: 'integer', multipleOf: 5 },
    } });
    assert.deepEqual(v.validate({ m: { a: 'x', b: 'y' }, n: { a: 'x' }, closed: { z: 1 }, k: 7 }).map(fieldErrorMessage), [
      'm: Too many: must have at most 1 item',
      'n: Invalid value: 1: n in body should have at least 2 properties',
      'closed: Invalid value: "": closed.z in body is a forbidden property',
      'k: Invalid value: 7: k in body should be a multiple of 5',
    ]);
  });
});
