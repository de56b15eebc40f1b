/**
 * The contract between an emulated node (registration, heartbeats, which pods are bound to it) and its pod
 * lifecycle (sandboxes, pulls, containers, hooks, probes, status, graceful deletion), so the two can be built and
 * tested apart. One `NodePods` per node.
 */
import type { Logger } from 'pino';
import type { Pod } from '../../api/pod-types.js';
import type { CriApi } from '../../cri/cri-api.js';
import type { EventRecorder } from '../../kube/events/index.js';
import type { KubeClient } from '../../kube/kube-client.js';

export interface NodePodsOptions {
  nodeName: string;
  /** This node's runtime: the built-in one (over gRPC or in-process) or a real containerd. */
  cri: CriApi;
  /** Writes pod status through `/status`, deletes finished graceful deletions, reads pull secrets. */
  client: KubeClient;
  recorder: EventRecorder;
  logger: Logger;
  /** Wall clock in ms (status times); injectable for tests. @default Date.now */
  now?: () => number;
  /** Labels put on every sandbox this node creates, so a node sees only its own on a shared runtime. */
  sandboxLabels?: Readonly<Record<string, string>>;
}

export interface NodePods {
  /** A pod bound to this node was added or changed (a deletionTimestamp included). Cheap and idempotent. */
  observe(pod: Pod): void;
  /** The pod object is gone from the API: stop and remove whatever still runs for it. */
  forget(namespace: string, name: string, uid: string): void;
  /** Runs the pod workers until `signal` aborts; resolves once they have stopped (containers keep running). */
  start(signal: AbortSignal): Promise<void>;
  /** Stops every container and removes every sandbox this node created (sandbox shutdown). */
  teardown(): Promise<void>;
  /** Pods with a live sandbox, for node status and tests. */
  podCount(): number;
}

export type CreateNodePods = (o: NodePodsOptions) => NodePods;
