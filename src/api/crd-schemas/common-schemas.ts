/** Schema pieces shared by several kinds: the object envelope, update-strategy parts, object references. */
import { arr, int32, labelSelector, obj, str, type JSONSchemaProps } from './schema-builders.js';

/** apiVersion/kind/metadata/spec/status; metadata is validated by the API server itself, as for every CRD. */
export function envelope(spec: JSONSchemaProps, status: JSONSchemaProps, description: string): JSONSchemaProps {
  return obj({
    apiVersion: str({ description: 'The versioned schema of this object (apps.kruise.io/v1alpha1).' }),
    kind: str({ description: 'The kind of this object.' }),
    metadata: { type: 'object' },
    spec,
    status,
  }, [], { description });
}

export const scatterStrategy = (): JSONSchemaProps => arr(obj({ key: str(), value: str() }, ['key', 'value']), {
  description: 'Spread updates so that Pods with the same label key=value are not updated in one batch.',
});

export const priorityStrategy = (): JSONSchemaProps => obj({
  orderPriority: arr(obj({ orderedKey: str() }, ['orderedKey'])),
  weightPriority: arr(obj({ matchSelector: labelSelector(), weight: int32() }, ['matchSelector', 'weight'])),
}, [], { description: 'Which Pods are updated first: by summed weights of matching selectors, or by label value order.' });

export const objectReference = (): JSONSchemaProps => obj({
  apiVersion: str(),
  fieldPath: str(),
  kind: str(),
  name: str(),
  namespace: str(),
  resourceVersion: str(),
  uid: str(),
});
