export { InformerFactory } from './informer-factory.js';
export type { InformerFactoryOptions, InformerScope } from './informer-factory.js';
export { SharedInformer } from './shared-informer.js';
export type { EventHandler, InformerMetrics, InformerOptions } from './shared-informer.js';
export { ObjectCache, objectKey, defaultIndexers, INDEX_CONTROLLER_UID, INDEX_NAMESPACE, INDEX_NODE_NAME } from './object-cache.js';
export type { CacheDelta, IndexFunc } from './object-cache.js';
