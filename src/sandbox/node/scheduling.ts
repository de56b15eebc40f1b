/**
 * The sandbox scheduler's decision, as a pure function: which Ready, schedulable node a pod goes to. It honours
 * `spec.nodeSelector` and the node's pod capacity, and spreads by pod count (fewest pods first, then name), which is
 * all the sandbox needs; affinity, taints and resources are not modelled (a pod that asks for them is placed by
 * nodeSelector alone).
 */

export interface SchedulableNode {
  name: string;
  labels: Readonly<Record<string, string>>;
  ready: boolean;
  unschedulable: boolean;
  /** Pods already bound to the node and not finished. */
  podCount: number;
  /** `status.allocatable.pods`: a node holding this many pods takes no more ("Too many pods"). Absent: no limit. */
  maxPods?: number;
}

export interface PodToSchedule {
  nodeSelector?: Readonly<Record<string, string>>;
}

export type SchedulingDecision =
  | { kind: 'bind'; node: string }
  | { kind: 'unschedulable'; message: string };

export function decideNode(pod: PodToSchedule, nodes: readonly SchedulableNode[]): SchedulingDecision {
  let notReady = 0;
  let cordoned = 0;
  let selectorMismatch = 0;
  let full = 0;
  let best: SchedulableNode | undefined;
  for (const n of nodes) {
    if (!n.ready) { notReady++; continue; }
    if (n.unschedulable) { cordoned++; continue; }
    const sel = pod.nodeSelector ?? {};
    if (!Object.entries(sel).every(([k, v]) => n.labels[k] === v)) { selectorMismatch++; continue; }
    if (n.maxPods !== undefined && n.podCount >= n.maxPods) { full++; continue; }
    if (!best || n.podCount < best.podCount || (n.podCount === best.podCount && n.name < best.name)) best = n;
  }
  if (best) return { kind: 'bind', node: best.name };
  // Kubernetes' wording: "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match ...".
  const reasons: string[] = [];
  if (selectorMismatch > 0) reasons.push(`${selectorMismatch} node(s) didn't match Pod's node affinity/selector`);
  if (notReady > 0) reasons.push(`${notReady} node(s) had untolerated taint {node.kubernetes.io/not-ready: }`);
  if (cordoned > 0) reasons.push(`${cordoned} node(s) were unschedulable`);
  if (full > 0) reasons.push(`${full} Too many pods`);
  const detail = reasons.length > 0 ? ` ${reasons.sort().join(', ')}.` : '';
  return { kind: 'unschedulable', message: `0/${nodes.length} nodes are available:${detail}` };
}
