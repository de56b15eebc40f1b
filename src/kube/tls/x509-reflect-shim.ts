/**
 * The smallest Reflect metadata API that @peculiar/x509 2.x needs. Its dependency tsyringe throws at load time
 * unless `Reflect.getMetadata` exists ("tsyringe requires a reflect polyfill"), and the project ships no
 * `reflect-metadata` package. tsyringe only reads and writes constructor parameter metadata through
 * `getMetadata`, `getOwnMetadata` and `defineMetadata`, so those three are provided, and only when absent: a real
 * polyfill loaded earlier wins.
 *
 * Import this module before `@peculiar/x509` (ES modules evaluate imports in order). It patches the global
 * `Reflect` once; that is the one module-level side effect of the TLS helpers and the reason it lives alone.
 * Known gap: no `Reflect.metadata` decorator factory and no property-key variants; nothing we load uses them.
 */
type MetadataTarget = object;

interface ReflectMetadataApi {
  getMetadata(key: unknown, target: MetadataTarget): unknown;
  getOwnMetadata(key: unknown, target: MetadataTarget): unknown;
  defineMetadata(key: unknown, value: unknown, target: MetadataTarget): void;
}

const reflect = Reflect as typeof Reflect & Partial<ReflectMetadataApi>;

if (typeof reflect.getMetadata !== 'function') {
  const store = new WeakMap<MetadataTarget, Map<unknown, unknown>>();
  const getOwnMetadata = (key: unknown, target: MetadataTarget): unknown => store.get(target)?.get(key);
  const api: ReflectMetadataApi = {
    getOwnMetadata,
    getMetadata(key, target) {
      for (let t: MetadataTarget | null = target; t !== null; t = Object.getPrototypeOf(t) as MetadataTarget | null) {
        const own = store.get(t);
        if (own?.has(key)) return own.get(key);
      }
      return undefined;
    },
    defineMetadata(key, value, target) {
      let own = store.get(target);
      if (own === undefined) {
        own = new Map();
        store.set(target, own);
      }
      own.set(key, value);
    },
  };
  for (const [name, fn] of Object.entries(api)) {
    Object.defineProperty(Reflect, name, { value: fn, configurable: true, writable: true, enumerable: false });
  }
}

export {};
