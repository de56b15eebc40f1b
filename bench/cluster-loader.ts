/**
 * Fills an in-process ApiServer with the benchmark cluster: namespaces, nodes, the ReplicaSets that own the pods
 * (the sandbox's garbage collector deletes pods whose owner is missing) and the pods, all from bench/fixtures.ts
 * and one seeded PRNG. Runs inside the server child, through the server's own REST service as the system user:
 * the informer benchmark measures reading the cluster, not writing it, so HTTP is skipped here.
 */
import type { KubeObject } from '../src/api/meta.js';
import type { ApiServer } from '../src/sandbox/apiserver/api-server.js';
import { Rng, namespaceName, namespaceObject, nodeName, nodeObject, podObject, replicaSetObject, type OwnerRef } from './fixtures.js';

export interface ClusterShape {
  seed: number;
  nodes: number;
  pods: number;
  namespaces: number;
  /** Pods per owning ReplicaSet. */
  podsPerOwner: number;
}

export async function loadCluster(server: ApiServer, c: ClusterShape): Promise<{ pods: number; seconds: number }> {
  const started = performance.now();
  const rng = new Rng(c.seed);
  for (let i = 0; i < c.namespaces; i++) await server.applyObject(namespaceObject(namespaceName(i)) as KubeObject);
  for (let i = 0; i < c.nodes; i++) await server.applyObject(nodeObject(i) as KubeObject);
  const owners: OwnerRef[] = [];
  for (let i = 0; i < Math.ceil(c.pods / c.podsPerOwner); i++) {
    const namespace = namespaceName(i % c.namespaces);
    const app = `svc-${String(i).padStart(3, '0')}`;
    const hash = rng.suffix(10);
    const team = `team-${i % 7}`;
    const rs = await server.applyObject(replicaSetObject(namespace, app, hash, team) as KubeObject);
    owners.push({ namespace, app, hash, team, name: rs.metadata.name!, uid: rs.metadata.uid! });
  }
  const names = new Set<string>();
  for (let i = 0; i < c.pods; i++) {
    const owner = owners[Math.floor(i / c.podsPerOwner)]!;
    let name: string;
    do name = `${owner.app}-${owner.hash}-${rng.suffix(5)}`; while (names.has(name));
    names.add(name);
    await server.applyObject(podObject(owner, name, nodeName(rng.int(c.nodes))) as KubeObject);
  }
  await server.idle();
  return { pods: server.storage.count('/pods'), seconds: (performance.now() - started) / 1000 };
}
