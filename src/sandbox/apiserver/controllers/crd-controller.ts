/**
 * Serves custom resources from CustomResourceDefinitions: registers each served version as it is created or
 * changed, reports NamesAccepted and Established, and on deletion removes every custom resource before the
 * definition itself goes (Kubernetes' `customresourcecleanup` behaviour).
 */
import type { KubeObject } from '../../../api/meta.js';
import { ApiError } from '../api-error.js';
import type { ResourceRegistry } from '../resource-registry.js';
import type { JsonSchemaProps, PrinterColumn, ResourceType } from '../resource-type.js';
import { resourceKey } from '../resource-type.js';
import type { ResourceService } from '../rest/resource-service.js';
import { formatTime } from '../rest/resource-service.js';
import { systemContext } from '../rest/request-context.js';
import type { StorageEvent } from '../storage/storage.js';
import { RetryQueue } from './retry-queue.js';

const CRDS = 'apiextensions.k8s.io/customresourcedefinitions';

interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: JsonSchemaProps };
  subresources?: { status?: object; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  additionalPrinterColumns?: PrinterColumn[];
}

interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  versions: CrdVersion[];
}

export function typesFromCrd(crd: KubeObject): { types: ResourceType[]; storage: string } {
  const spec = crd.spec as CrdSpec;
  const storage = spec.versions.find((v) => v.storage)?.name ?? spec.versions[0]?.name ?? 'v1';
  const types = spec.versions.filter((v) => v.served !== false).map((v): ResourceType => ({
    group: spec.group,
    version: v.name,
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    plural: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    namespaced: spec.scope !== 'Cluster',
    subresources: {
      status: v.subresources?.status !== undefined,
      ...(v.subresources?.scale ? { scale: v.subresources.scale } : {}),
    },
    ...(v.schema?.openAPIV3Schema ? { schema: v.schema.openAPIV3Schema } : {}),
    ...(v.additionalPrinterColumns ? { printerColumns: v.additionalPrinterColumns } : {}),
    builtin: false,
  }));
  return { types, storage };
}

export class CrdController {
  private readonly queue: RetryQueue;
  private readonly unsubscribe: () => void;

  constructor(private readonly svc: ResourceService, private readonly registry: ResourceRegistry, onError?: (key: string, e: unknown) => void) {
    this.queue = new RetryQueue((name) => this.sync(name), onError ? { onError } : {});
    this.unsubscribe = svc.storage.subscribe((e) => this.observe(e));
    for (const e of svc.storage.list(CRDS)) this.register(e.object);
  }

  idle(): Promise<void> { return this.queue.idle(); }

  close(): void { this.unsubscribe(); this.queue.close(); }

  private crdType(): ResourceType {
    return this.registry.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  }

  private observe(e: StorageEvent): void {
    if (e.key === CRDS) {
      const name = e.entry.object.metadata.name ?? '';
      if (e.type === 'DELETED') this.registry.removeCrdTypes(name);
      else {
        // Registration is synchronous with the commit, so the very next request can use the new resource.
        if (!e.entry.object.metadata.deletionTimestamp) this.register(e.entry.object);
        this.queue.add(name);
      }
      return;
    }
    if (e.type === 'DELETED') {
      const t = this.registry.byKey(e.key);
      if (t && !t.builtin) {
        const crdName = `${t.plural}.${t.group}`;
        const crd = this.svc.storage.get(CRDS, '', crdName);
        if (crd?.object.metadata.deletionTimestamp) this.queue.add(crdName);
      }
    }
  }

  private register(crd: KubeObject): void {
    const { types, storage } = typesFromCrd(crd);
    this.registry.setCrdTypes(crd.metadata.name ?? '', types, storage);
  }

  private async sync(name: string): Promise<void> {
    const entry = this.svc.storage.get(CRDS, '', name);
    if (!entry) return;
    const crd = entry.object;
    if (crd.metadata.deletionTimestamp) {
      await this.cleanup(crd);
      return;
    }
    const spec = crd.spec as CrdSpec;
    const status = (crd.status ?? {}) as { conditions?: { type: string; status: string }[] };
    const established = (status.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
    const now = formatTime(this.svc.now());
    const desired = {
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: established ? findTime(status, 'NamesAccepted') ?? now : now },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: established ? findTime(status, 'Established') ?? now : now },
      ],
      acceptedNames: { ...spec.names, listKind: spec.names.listKind ?? `${spec.names.kind}List`, singular: spec.names.singular ?? spec.names.kind.toLowerCase() },
      storedVersions: [...new Set([...((crd.status as { storedVersions?: string[] } | undefined)?.storedVersions ?? []), spec.versions.find((v) => v.storage)?.name ?? ''])].filter(Boolean),
    };
    const next = { ...crd, status: desired };
    try {
      await this.svc.update(this.crdType(), '', name, next, systemContext(), 'status');
    } catch (e) {
      if (ApiError.is(e) && (e.code === 404 || e.code === 409)) { if (e.code === 409) throw e; return; }
      throw e;
    }
  }

  private async cleanup(crd: KubeObject): Promise<void> {
    const { types } = typesFromCrd(crd);
    const t = types[0] ?? this.registry.byKey(`${(crd.spec as CrdSpec).group}/${(crd.spec as CrdSpec).names.plural}`);
    let remaining = 0;
    if (t) {
      for (const e of this.svc.storage.list(resourceKey(t))) {
        remaining++;
        if (e.object.metadata.deletionTimestamp) continue;
        try {
          await this.svc.delete(t, e.object.metadata.namespace ?? '', e.object.metadata.name ?? '', { propagationPolicy: 'Background' }, systemContext());
        } catch (err) {
          if (!(ApiError.is(err) && err.code === 404)) throw err;
        }
      }
    }
    if (remaining > 0) return;
    const fresh = this.svc.storage.get(CRDS, '', crd.metadata.name ?? '');
    if (fresh && (fresh.object.metadata.finalizers ?? []).length === 0) {
      this.svc.finalizeRemoval(this.crdType(), fresh);
    }
  }
}

function findTime(status: { conditions?: { type: string; lastTransitionTime?: string }[] }, type: string): string | undefined {
  return status.conditions?.find((c) => c.type === type)?.lastTransitionTime;
}
