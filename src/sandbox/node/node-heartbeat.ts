/**
 * An emulated node's liveness, as kubelet keeps it since node leases went GA (KEP-589):
 * - the Lease `kube-node-lease/<node>` (holder = the node, 40 s duration, owned by the Node so it goes with it) is
 *   renewed every `leaseRenewMs` (kubelet: 10 s = a quarter of the duration);
 * - the Node's conditions are re-posted through `/status` only when the runtime's readiness changed or
 *   `statusReportMs` passed since the last post (kubelet's nodeStatusReportFrequency; we use 40 s, not 5 min, so
 *   `lastHeartbeatTime` in `kubectl describe node` stays fresh in a sandbox). Both writes are merge patches of
 *   fields only this node writes, so they never conflict.
 * Each tick asks the runtime for CRI Status; RuntimeReady=false makes the node NotReady (NetworkReady is ignored:
 * the sandbox's pods use the host network, and containerd without CNI reports it false).
 * Failed writes are logged and retried on a short capped backoff, never ending the loop (STYLE §3.1). The first
 * tick is spread at random over one period, so a thousand nodes do not renew in lockstep.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/meta.js';
import type { CriApi } from '../../cri/cri-api.js';
import { isAlreadyExists, isNotFound } from '../../kube/kube-api-error.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { resources } from '../../kube/resource-ref.js';
import { nodeConditions, type NodeCondition } from './node-object.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeHeartbeatOptions {
  nodeName: string;
  nodeUid: string;
  client: KubeClient;
  cri: Pick<CriApi, 'status'>;
  logger: Logger;
  /** The conditions the Node was registered with (their transition times carry forward). */
  conditions: readonly NodeCondition[];
  /** @default 40 */
  leaseDurationSeconds?: number;
  /** @default 10000 */
  leaseRenewMs?: number;
  /** @default 40000 */
  statusReportMs?: number;
  /** Wall clock, epoch ms. @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function leaseObject(nodeName: string, nodeUid: string, durationSeconds: number, nowMs: number): KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microTime(nowMs) },
  };
}

export class NodeHeartbeat {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly renewMs: number;
  private readonly reportMs: number;
  private readonly durationSeconds: number;
  private conditions: NodeCondition[];
  private lastReportMs: number;
  private leaseExists = false;

  constructor(private readonly o: NodeHeartbeatOptions) {
    this.log = o.logger.child({ component: 'node-heartbeat' });
    this.now = o.now ?? Date.now;
    this.renewMs = o.leaseRenewMs ?? 10_000;
    this.reportMs = o.statusReportMs ?? 40_000;
    this.durationSeconds = o.leaseDurationSeconds ?? 40;
    this.conditions = [...o.conditions];
    this.lastReportMs = this.now();
  }

  /** Whether the last posted Ready condition is True. */
  get ready(): boolean {
    return this.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  }

  /** Creates or renews the Lease; the first call creates it. */
  async renewLease(signal?: AbortSignal): Promise<void> {
    const nowMs = this.now();
    if (!this.leaseExists) {
      try {
        await this.o.client.create(resources.leases, leaseObject(this.o.nodeName, this.o.nodeUid, this.durationSeconds, nowMs), signal);
        this.leaseExists = true;
        return;
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        this.leaseExists = true;
      }
    }
    try {
      await this.o.client.patch(resources.leases, NODE_LEASE_NAMESPACE, this.o.nodeName, 'merge',
        { spec: { holderIdentity: this.o.nodeName, leaseDurationSeconds: this.durationSeconds, renewTime: microTime(nowMs) } },
        signal ? { signal } : {});
    } catch (e) {
      // Deleted behind our back (or with its Node): make it again on the next renewal.
      if (isNotFound(e)) this.leaseExists = false;
      throw e;
    }
  }

  /** Asks the runtime whether it is ready and posts the conditions when that changed or the report is due. */
  async syncStatus(signal?: AbortSignal, force = false): Promise<void> {
    let runtimeReady = false;
    let message: string | undefined;
    try {
      const st = await this.o.cri.status({}, signal ? { signal } : {});
      const rr = st.status?.conditions?.find((c) => c?.type === 'RuntimeReady');
      runtimeReady = rr?.status === true;
      if (!runtimeReady) message = rr?.message || rr?.reason || 'RuntimeReady=false';
    } catch (e) {
      if (signal?.aborted) throw e;
      message = `runtime status check failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    const nowMs = this.now();
    const changed = runtimeReady !== this.ready;
    if (!force && !changed && nowMs - this.lastReportMs < this.reportMs) return;
    const conditions = nodeConditions(runtimeReady, message, new Date(nowMs), this.conditions);
    await this.o.client.patch(resources.nodes, '', this.o.nodeName, 'merge', { status: { conditions } }, { subresource: 'status', ...(signal ? { signal } : {}) });
    if (changed) this.log.info({ ready: runtimeReady, message }, 'node readiness changed');
    this.conditions = conditions;
    this.lastReportMs = nowMs;
  }

  /** Renews and reports until `signal` aborts. Never throws but for the abort. */
  async start(signal: AbortSignal): Promise<void> {
    const random = this.o.random ?? Math.random;
    let delay = random() * this.renewMs;
    let backoff = 200;
    while (!signal.aborted) {
      try {
        await sleep(Math.min(delay, 2 ** 31 - 1), undefined, { signal, ref: false });
      } catch {
        return;
      }
      try {
        await this.renewLease(signal);
        await this.syncStatus(signal);
        delay = this.renewMs;
        backoff = 200;
      } catch (e) {
        if (signal.aborted) return;
        // kubelet's lease controller: 200 ms doubling to 7 s, then the normal period.
        this.log.warn({ err: e instanceof Error ? e.message : String(e), retryInMs: backoff }, 'node heartbeat failed: retrying');
        delay = Math.min(backoff, this.renewMs);
        backoff = Math.min(backoff * 2, 7000);
      }
    }
  }
}
