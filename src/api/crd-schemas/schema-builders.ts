/**
 * A typed subset of apiextensions.k8s.io/v1 JSONSchemaProps and small builders, so the CRD schemas are written
 * once in TypeScript and rendered to `deploy/crds/*.yaml`. Every builder yields a structural node: each level has
 * a `type`, except int-or-string nodes, which Kubernetes requires to use `x-kubernetes-int-or-string` instead.
 */

export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: (string | number)[];
  anyOf?: JSONSchemaProps[];
  nullable?: boolean;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
}

type Opts = { description?: string };

function withDescription<T extends JSONSchemaProps>(node: T, opts?: Opts): T {
  return opts?.description ? { description: opts.description, ...node } : node;
}

export const str = (opts?: Opts): JSONSchemaProps => withDescription({ type: 'string' }, opts);
export const enumStr = (values: readonly string[], opts?: Opts): JSONSchemaProps =>
  withDescription({ type: 'string', enum: [...values] }, opts);
export const dateTime = (opts?: Opts): JSONSchemaProps => withDescription({ type: 'string', format: 'date-time' }, opts);
export const int32 = (opts?: Opts): JSONSchemaProps => withDescription({ type: 'integer', format: 'int32' }, opts);
export const int64 = (opts?: Opts): JSONSchemaProps => withDescription({ type: 'integer', format: 'int64' }, opts);
export const bool = (opts?: Opts): JSONSchemaProps => withDescription({ type: 'boolean' }, opts);

export const intOrString = (opts?: Opts): JSONSchemaProps => withDescription({
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  'x-kubernetes-int-or-string': true,
}, opts);

export function obj(
  properties: Record<string, JSONSchemaProps>, required: readonly string[] = [], opts?: Opts,
): JSONSchemaProps {
  const node: JSONSchemaProps = { type: 'object', properties };
  if (required.length > 0) node.required = [...required];
  return withDescription(node, opts);
}

export const arr = (items: JSONSchemaProps, opts?: Opts): JSONSchemaProps =>
  withDescription({ type: 'array', items }, opts);

export const map = (values: JSONSchemaProps, opts?: Opts): JSONSchemaProps =>
  withDescription({ type: 'object', additionalProperties: values }, opts);

/** An object whose unknown fields are kept (embedded Kubernetes types: pod templates, volumes, PVCs). */
export const preserved = (opts?: Opts, properties?: Record<string, JSONSchemaProps>, required: readonly string[] = []): JSONSchemaProps => {
  const node: JSONSchemaProps = { type: 'object' };
  if (properties) node.properties = properties;
  if (required.length > 0) node.required = [...required];
  node['x-kubernetes-preserve-unknown-fields'] = true;
  return withDescription(node, opts);
};

export const labelSelectorRequirement = (): JSONSchemaProps => obj({
  key: str(),
  operator: str(),
  values: arr(str()),
}, ['key', 'operator']);

/** metav1.LabelSelector. */
export const labelSelector = (opts?: Opts): JSONSchemaProps => obj({
  matchExpressions: arr(labelSelectorRequirement()),
  matchLabels: map(str()),
}, [], opts);
