/** What `kruise-ts get imagepulljobs` runs; declared (flags, help) in get-imagepulljobs.ts, imported on use. */
import { pino } from 'pino';
import { stringify as toYaml } from 'yaml';
import type { ImagePullJob } from '../api/imagepulljob-types.js';
import type { KubeObject } from '../api/meta.js';
import type { NodeImage } from '../api/nodeimage-types.js';
import { VERSION } from '../api/version.js';
import { loadKubeConfig, makeClient } from '../kube/client-config.js';
import type { ClusterAccess } from '../kube/kubeconfig-loader.js';
import { KubeApiError } from '../kube/kube-api-error.js';
import type { KubeClient } from '../kube/kube-client.js';
import { resources, type ResourceRef } from '../kube/resource-ref.js';
import { humanDuration } from '../sandbox/apiserver/http/table.js';
import { buildJobProgress } from './get-imagepulljob-progress.js';
import { makeRenderer } from './get-imagepulljob-render.js';
import { jobImageOrUndefined, watchImagePullJob } from './get-imagepulljob-watch.js';
import type { GetFlags, GetIo } from './get-imagepulljobs.js';

/** The namespace kubectl would use: -n, else the kubeconfig context's, else `default`. */
export function defaultNamespace(kc: ClusterAccess): string {
  return kc.currentNamespace?.() || 'default';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ').trimEnd()).join('\n') + '\n';
}

function age(ts: string | null | undefined, now: number): string {
  const t = ts ? Date.parse(ts) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/** Printer columns of the ImagePullJob CRD (§4.2); counts missing before the first status read `<none>`. */
export function imagePullJobRows(jobs: readonly ImagePullJob[], now: number, withNamespace: boolean): string[][] {
  const n = (v: number | undefined): string => (v === undefined ? '<none>' : String(v));
  const header = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'TOTAL', 'ACTIVE', 'SUCCEED', 'FAILED', 'AGE', 'MESSAGE'];
  return [header, ...jobs.map((j) => [
    ...(withNamespace ? [j.metadata.namespace ?? ''] : []),
    j.metadata.name ?? '', n(j.status?.desired), n(j.status?.active), n(j.status?.succeeded), n(j.status?.failed),
    age(j.metadata.creationTimestamp, now), j.status?.message ?? '<none>',
  ])];
}

/** The one-shot summary of one job: its spec and status, then its nodes. */
export function imagePullJobSummary(job: ImagePullJob, nodeImages: readonly NodeImage[], now: number): string {
  const s = job.status;
  const cp = job.spec?.completionPolicy;
  const extras = [
    cp?.activeDeadlineSeconds !== undefined ? `activeDeadlineSeconds ${cp.activeDeadlineSeconds}` : '',
    cp?.ttlSecondsAfterFinished !== undefined ? `ttlSecondsAfterFinished ${cp.ttlSecondsAfterFinished}` : '',
  ].filter(Boolean).join(', ');
  const view = buildJobProgress(job, jobImageOrUndefined(job), nodeImages);
  const fields: [string, string][] = [
    ['Name', job.metadata.name ?? ''],
    ['Namespace', job.metadata.namespace ?? ''],
    ['Image', job.spec?.image ?? ''],
    ['Completion', `${cp?.type ?? 'Always'}${extras ? ` (${extras})` : ''}`],
    ['Parallelism', String(job.spec?.parallelism ?? 1)],
    ['Age', age(job.metadata.creationTimestamp, now)],
    ['Started', s?.startTime ?? '<none>'],
    ['Completed', s?.completionTime ?? '<none>'],
    ['Status', `desired ${s?.desired ?? 0}, active ${s?.active ?? 0}, succeeded ${s?.succeeded ?? 0}, failed ${s?.failed ?? 0}`],
    ['Message', s?.message ?? '<none>'],
    ['Failed nodes', (s?.failedNodes ?? []).join(', ') || '<none>'],
  ];
  const width = Math.max(...fields.map(([k]) => k.length)) + 2;
  let text = fields.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join('\n') + '\n';
  text += view.nodes.length === 0
    ? '\nNo node has this job\'s image in its NodeImage yet.\n'
    : `\n${table([['NODE', 'PHASE', 'PROGRESS', 'MESSAGE'], ...view.nodes.map((n) => [n.node, n.phase, `${n.progress}%`, n.phase === 'Failed' ? n.message ?? '' : ''])])}`;
  return text;
}

async function listAll<T extends KubeObject>(client: KubeClient, ref: ResourceRef, namespace?: string): Promise<T[]> {
  const items: T[] = [];
  let continueToken: string | undefined;
  do {
    const page = await client.list<T>(ref, { limit: 500, ...(namespace ? { namespace } : {}), ...(continueToken ? { continueToken } : {}) });
    items.push(...page.items);
    continueToken = page.metadata.continue || undefined;
  } while (continueToken);
  return items;
}

/** An API error as a one-line message that says what to do when the resource type itself is missing. */
function apiFailure(e: unknown, what: string): string {
  if (KubeApiError.is(e)) {
    if (e.code === 404 && !e.status?.details?.name) {
      return `the server does not serve ${what} (are the kruise-ts CRDs installed? kubectl apply -f deploy/crds/)`;
    }
    return `${e.reason}: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function printObject(obj: unknown, output: 'json' | 'yaml', io: GetIo): void {
  io.out(output === 'json' ? `${JSON.stringify(obj, null, 4)}\n` : toYaml(obj));
}

export async function run(name: string | undefined, flags: GetFlags, io: GetIo): Promise<void> {
  if (flags.allNamespaces && name) io.fail('a resource cannot be retrieved by name across all namespaces (drop -A)');
  if (flags.watch && !name) io.fail('--watch needs the NAME of one imagepulljob');
  if (flags.watch && flags.output !== 'table') io.fail('--watch draws a live view: -o json|yaml cannot be combined with it');
  if (flags.timeout !== undefined && !flags.watch) io.fail('--timeout only applies to --watch');
  let kc: ClusterAccess;
  try {
    kc = await loadKubeConfig({
      ...(flags.kubeconfig ? { kubeconfigPath: flags.kubeconfig } : {}), ...(flags.context ? { context: flags.context } : {}),
      ...(process.env['KUBECONFIG'] ? { kubeconfigEnv: process.env['KUBECONFIG'] } : {}),
      ...(process.env['HOME'] ? { homeDir: process.env['HOME'] } : {}),
    });
  } catch (e) {
    io.fail(e instanceof Error ? e.message : String(e));
  }
  const namespace = flags.namespace ?? defaultNamespace(kc);
  const client = makeClient({ kubeConfig: kc, role: 'cli', version: VERSION });
  try {
    if (!name) {
      let jobs: ImagePullJob[];
      try {
        jobs = await listAll<ImagePullJob>(client, resources.imagePullJobs, flags.allNamespaces ? undefined : namespace);
      } catch (e) {
        io.fail(apiFailure(e, 'imagepulljobs'));
      }
      jobs.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
      if (flags.output !== 'table') {
        printObject({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: jobs }, flags.output, io);
      } else if (jobs.length === 0) {
        io.err(flags.allNamespaces ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`);
      } else {
        io.out(table(imagePullJobRows(jobs, Date.now(), Boolean(flags.allNamespaces))));
      }
      return;
    }
    let job: ImagePullJob;
    try {
      job = await client.get<ImagePullJob>(resources.imagePullJobs, namespace, name);
    } catch (e) {
      if (KubeApiError.is(e) && e.code === 404 && e.status?.details?.name) {
        io.fail(`imagepulljobs.apps.kruise.io "${name}" not found in namespace "${namespace}"`);
      }
      io.fail(apiFailure(e, 'imagepulljobs'));
    }
    if (flags.output !== 'table') {
      printObject(job, flags.output, io);
      return;
    }
    if (!flags.watch) {
      let nodeImages: NodeImage[];
      try {
        nodeImages = await listAll<NodeImage>(client, resources.nodeImages);
      } catch (e) {
        io.fail(apiFailure(e, 'nodeimages'));
      }
      io.out(imagePullJobSummary(job, nodeImages, Date.now()));
      return;
    }
    // Fail fast when NodeImages cannot be read (RBAC, missing CRD): the informer would retry quietly forever.
    try {
      await client.list(resources.nodeImages, { limit: 1 });
    } catch (e) {
      io.fail(apiFailure(e, 'nodeimages'));
    }
    const interrupt = new AbortController();
    const onSignal = (): void => interrupt.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const result = await watchImagePullJob({
      client, job, renderer: makeRenderer({ stream: io.stdout }), signal: interrupt.signal,
      ...(flags.timeout ? { timeoutMs: flags.timeout } : {}),
      // Informer retries (a dropped connection, a 5xx) show on stderr; the view itself is on stdout.
      logger: pino({ level: 'warn', base: { app: 'kruise-ts' } }, pino.destination(2)),
    });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (result.note) io.err(`kruise-ts: ${result.note}\n`);
    client.close();
    io.exit(result.exitCode);
  } finally {
    client.close();
  }
}

