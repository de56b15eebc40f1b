/**
 * Which resources are served right now: the built-in kinds plus the versions of every established CRD. Discovery,
 * routing and the OpenAPI documents all read from here, so a CRD becomes usable the moment it is registered.
 */
import { builtinResourceTypes } from './builtin-resources.js';
import type { ResourceType } from './resource-type.js';
import { resourceKey } from './resource-type.js';

export interface RegistryChange { kind: 'added' | 'removed'; key: string }

export class ResourceRegistry {
  private readonly byGvr = new Map<string, ResourceType>();
  /** Storage version (`group/version`) per resource key, for custom resources with several versions. */
  private readonly storageVersion = new Map<string, string>();
  private readonly crdOwned = new Map<string, string[]>();
  private revision = 0;

  constructor() {
    for (const t of builtinResourceTypes()) this.add(t);
  }

  /** Bumped on every change; OpenAPI and discovery answers are cached against it. */
  get generation(): number { return this.revision; }

  private add(t: ResourceType): void {
    this.byGvr.set(`${t.group}/${t.version}/${t.plural}`, t);
    if (!this.storageVersion.has(resourceKey(t))) this.storageVersion.set(resourceKey(t), t.version);
    this.revision++;
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byGvr.get(`${group}/${version}/${plural}`);
  }

  /** The served type for a kind in a group version (used to resolve ownerReferences and admission kinds). */
  lookupKind(group: string, version: string, kind: string): ResourceType | undefined {
    for (const t of this.byGvr.values()) if (t.group === group && t.version === version && t.kind === kind) return t;
    return undefined;
  }

  /** Any served version of a resource key, storage version first. */
  byKey(key: string): ResourceType | undefined {
    const [group, plural] = splitKey(key);
    const sv = this.storageVersion.get(key);
    if (sv !== undefined) {
      const t = this.lookup(group, sv, plural);
      if (t) return t;
    }
    for (const t of this.byGvr.values()) if (t.group === group && t.plural === plural) return t;
    return undefined;
  }

  storageVersionOf(key: string): string | undefined { return this.storageVersion.get(key); }

  all(): ResourceType[] { return [...this.byGvr.values()]; }

  groupVersions(): { group: string; versions: string[] }[] {
    const groups = new Map<string, string[]>();
    for (const t of this.byGvr.values()) {
      const vs = groups.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      groups.set(t.group, vs);
    }
    return [...groups.entries()].map(([group, versions]) => ({ group, versions: sortVersions(versions) }));
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return [...this.byGvr.values()].filter((t) => t.group === group && t.version === version);
  }

  /** Replaces the types owned by one CRD (by name) with `types`; `storage` is the storage version. */
  setCrdTypes(crdName: string, types: ResourceType[], storage: string): void {
    this.removeCrdTypes(crdName);
    for (const t of types) {
      this.byGvr.set(`${t.group}/${t.version}/${t.plural}`, t);
      this.storageVersion.set(resourceKey(t), storage);
    }
    this.crdOwned.set(crdName, types.map((t) => `${t.group}/${t.version}/${t.plural}`));
    this.revision++;
  }

  removeCrdTypes(crdName: string): void {
    const owned = this.crdOwned.get(crdName);
    if (!owned) return;
    for (const gvr of owned) {
      const t = this.byGvr.get(gvr);
      if (t) this.storageVersion.delete(resourceKey(t));
      this.byGvr.delete(gvr);
    }
    this.crdOwned.delete(crdName);
    this.revision++;
  }
}

function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    const stage = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const ra = rank(a), rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return a.localeCompare(b);
  });
}
