/**
 * Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for: CRD printer columns, and for
 * built-in kinds the columns kubectl users expect to see.
 */
import type { KubeObject } from '../../../api/meta.js';
import type { PrinterColumn, ResourceType } from '../resource-type.js';
import { compileJsonPath } from './jsonpath.js';

interface ColumnDefinition { name: string; type: string; format: string; description: string; priority: number }

interface Column {
  def: ColumnDefinition;
  cell(obj: KubeObject, now: Date): unknown;
}

export type IncludeObject = 'None' | 'Object' | 'Metadata';

/** Kubernetes' HumanDuration, so AGE reads the same as on a real cluster. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) { const s = seconds % 60; return s === 0 ? `${minutes}m` : `${minutes}m${s}s`; }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) { const m = minutes % 60; return m === 0 ? `${hours}h` : `${hours}h${m}m`; }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) { const h = hours % 24; return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`; }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) { const d = Math.floor(hours / 24) % 365; return d === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${d}d`; }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(ts: unknown, now: Date): string {
  if (typeof ts !== 'string') return '<unknown>';
  const t = Date.parse(ts);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

const col = (name: string, type: string, cell: Column['cell'], priority = 0, format = ''): Column =>
  ({ def: { name, type, format, description: name, priority }, cell });

const NAME = col('Name', 'string', (o) => o.metadata.name ?? '', 0, 'name');
const AGE = col('Age', 'string', (o, now) => age(o.metadata.creationTimestamp, now));

type Obj = Record<string, unknown>;
const get = (o: unknown, ...path: string[]): unknown => {
  let v = o;
  for (const p of path) v = v && typeof v === 'object' ? (v as Obj)[p] : undefined;
  return v;
};
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

function podReady(o: KubeObject): string {
  const statuses = (get(o, 'status', 'containerStatuses') as Obj[] | undefined) ?? [];
  const total = ((get(o, 'spec', 'containers') as unknown[] | undefined) ?? []).length;
  return `${statuses.filter((s) => s.ready === true).length}/${total}`;
}

function podStatus(o: KubeObject): string {
  if (o.metadata.deletionTimestamp) return 'Terminating';
  const statuses = (get(o, 'status', 'containerStatuses') as Obj[] | undefined) ?? [];
  for (const s of statuses) {
    const waiting = get(s, 'state', 'waiting', 'reason');
    if (typeof waiting === 'string' && waiting !== '') return waiting;
    const terminated = get(s, 'state', 'terminated', 'reason');
    if (typeof terminated === 'string' && terminated !== '') return terminated;
  }
  const reason = get(o, 'status', 'reason');
  if (typeof reason === 'string' && reason !== '') return reason;
  return String(get(o, 'status', 'phase') ?? 'Unknown');
}

function nodeStatus(o: KubeObject): string {
  const conds = (get(o, 'status', 'conditions') as Obj[] | undefined) ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown';
  if (get(o, 'spec', 'unschedulable') === true) s += ',SchedulingDisabled';
  return s;
}

/** kubectl's CONTROLLER cell: `<kind>.<group>/<name>` of the controlling owner, lowercased kind, `<none>` without. */
function controllerOf(o: KubeObject): string {
  const owner = (o.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!owner) return '<none>';
  const slash = owner.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : owner.apiVersion.slice(0, slash);
  return `${owner.kind.toLowerCase()}${group ? `.${group}` : ''}/${owner.name}`;
}

const BUILTIN_COLUMNS: Record<string, Column[]> = {
  Pod: [NAME,
    col('Ready', 'string', podReady),
    col('Status', 'string', podStatus),
    col('Restarts', 'string', (o) => String(((get(o, 'status', 'containerStatuses') as Obj[] | undefined) ?? []).reduce((a, s) => a + num(s.restartCount), 0))),
    AGE,
    col('IP', 'string', (o) => String(get(o, 'status', 'podIP') ?? '<none>'), 1),
    col('Node', 'string', (o) => String(get(o, 'spec', 'nodeName') ?? '<none>'), 1)],
  Node: [NAME, col('Status', 'string', nodeStatus), col('Roles', 'string', () => '<none>'), AGE,
    col('Version', 'string', (o) => String(get(o, 'status', 'nodeInfo', 'kubeletVersion') ?? ''))],
  Namespace: [NAME, col('Status', 'string', (o) => String(get(o, 'status', 'phase') ?? '')), AGE],
  Deployment: [NAME,
    col('Ready', 'string', (o) => `${num(get(o, 'status', 'readyReplicas'))}/${num(get(o, 'spec', 'replicas'))}`),
    col('Up-to-date', 'integer', (o) => num(get(o, 'status', 'updatedReplicas'))),
    col('Available', 'integer', (o) => num(get(o, 'status', 'availableReplicas'))), AGE],
  StatefulSet: [NAME, col('Ready', 'string', (o) => `${num(get(o, 'status', 'readyReplicas'))}/${num(get(o, 'spec', 'replicas'))}`), AGE],
  ReplicaSet: [NAME, col('Desired', 'integer', (o) => num(get(o, 'spec', 'replicas'))),
    col('Current', 'integer', (o) => num(get(o, 'status', 'replicas'))), col('Ready', 'integer', (o) => num(get(o, 'status', 'readyReplicas'))), AGE],
  Secret: [NAME, col('Type', 'string', (o) => String(o.type ?? 'Opaque')),
    col('Data', 'integer', (o) => Object.keys((o.data as Obj | undefined) ?? {}).length), AGE],
  ConfigMap: [NAME, col('Data', 'integer', (o) => Object.keys((o.data as Obj | undefined) ?? {}).length + Object.keys((o.binaryData as Obj | undefined) ?? {}).length), AGE],
  Event: [col('Last Seen', 'string', (o, now) => age(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp, now)),
    col('Type', 'string', (o) => String(o.type ?? '')), col('Reason', 'string', (o) => String(o.reason ?? '')),
    col('Object', 'string', (o) => `${String(get(o, 'involvedObject', 'kind') ?? '').toLowerCase()}/${String(get(o, 'involvedObject', 'name') ?? '')}`),
    col('Message', 'string', (o) => String(o.message ?? ''))],
  PersistentVolumeClaim: [NAME, col('Status', 'string', (o) => String(get(o, 'status', 'phase') ?? '')), AGE],
  ControllerRevision: [NAME, col('Controller', 'string', controllerOf), col('Revision', 'integer', (o) => num(o.revision)), AGE],
  Lease: [NAME, col('Holder', 'string', (o) => String(get(o, 'spec', 'holderIdentity') ?? '')), AGE],
  CustomResourceDefinition: [NAME, col('Created At', 'date', (o) => o.metadata.creationTimestamp ?? '')],
};

function printerColumns(columns: PrinterColumn[]): Column[] {
  return [NAME, ...columns.map((c): Column => {
    let path: ((o: unknown) => unknown[]) | undefined;
    try { path = compileJsonPath(c.jsonPath); } catch { path = undefined; }
    const isAge = c.type === 'date';
    return {
      def: { name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 },
      cell: (o, now) => {
        const values = path ? path(o) : [];
        if (values.length === 0) return isAge ? '<unknown>' : null;
        if (isAge) return age(values[0], now);
        if (values.length === 1) {
          const v = values[0];
          return typeof v === 'object' ? JSON.stringify(v) : v;
        }
        return values.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(',');
      },
    };
  })];
}

function columnsFor(t: ResourceType): Column[] {
  if (!t.builtin) return t.printerColumns && t.printerColumns.length > 0 ? printerColumns(t.printerColumns) : [NAME, AGE];
  return BUILTIN_COLUMNS[t.kind] ?? [NAME, AGE];
}

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function toTable(t: ResourceType, objects: readonly KubeObject[], now: Date, include: IncludeObject,
  listMeta: { resourceVersion?: string; continue?: string; remainingItemCount?: number } = {}, withColumns = true): object {
  const columns = columnsFor(t);
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta,
    ...(withColumns ? { columnDefinitions: columns.map((c) => c.def) } : { columnDefinitions: [] }),
    rows: objects.map((o) => {
      const object = rowObject(o, include);
      return { cells: columns.map((c) => c.cell(o, now)), ...(object !== undefined ? { object } : {}) };
    }),
  };
}

/** kubectl asks for tables with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`. */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /;\s*as=Table/.test(part) && /;\s*g=meta\.k8s\.io/.test(part));
}
