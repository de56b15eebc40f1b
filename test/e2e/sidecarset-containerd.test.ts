/**
 * SidecarSet HotUpgrade on a real containerd 1.6 (issue 9, spec §7.5): `startSandbox` in-process with one node on
 * the testbed's containerd, so the agent's swap restarts real containers. One Pod gets a HotUpgrade sidecar whose
 * postStart hook writes `$SIDECARSET_VERSION $SIDECARSET_VERSION_ALT` to `/tmp/marker` in its own container (the
 * version env contract of §7.5 step 3); the test reads it with CRI ExecSync. The sidecar swaps X-1 → X-2 → X-1, and
 * after each swap containerd runs the new image in the working container and the empty image in the other, and the
 * marker shows the postStart ran in the new container with the versions of a hot upgrade (VERSION > ALT > 0).
 * After close and the testbed's stop nothing of ours is left. Skips, naming what is missing, without root or the
 * Debian packages (`containerd runc docker-registry busybox-static`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import { SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION } from '../../src/api/sidecarset-hot-upgrade.js';
import type { SidecarSet } from '../../src/api/sidecarset-types.js';
import { SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION } from '../../src/api/well-known-keys.js';
import { SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION } from '../../src/coordinator/sidecarset/hot-upgrade-request.js';
import type { CriClient } from '../../src/cri/cri-client.js';
import { resources, retryOnConflict } from '../../src/kube/index.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { missingPrerequisites, mountsUnder, startSandboxOnContainerd, type ContainerdTestbed, type SandboxOnContainerd } from '../support/containerd/index.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const missing = missingPrerequisites();
const NS = 'default';
const SET = 'proxy-sidecarset';
const POD = 'shop-0';

const isReady = (p: Pod): boolean => p.status?.phase === 'Running'
  && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const annotation = (p: Pod, key: string): string | undefined => p.metadata.annotations?.[key];

describe('SidecarSet hot upgrade on a real containerd', { skip: missing.length > 0 ? `missing: ${missing.join(', ')}` : false }, () => {
  let env: SandboxOnContainerd | undefined;
  let testbed: ContainerdTestbed;
  let cri: CriClient;
  let sandbox: Sandbox | undefined;

  before(async () => {
    // Images must differ in cmd; the containers run their own command anyway.
    env = await startSandboxOnContainerd({
      prefix: 'kruise-ts-ss-ctd-', nodes: 1, logger: log,
      testbed: {
        images: [
          { name: 'kss/app', tag: '1', cmd: ['sh', '-c', 'echo app'] },
          { name: 'kss/proxy', tag: '1', cmd: ['sh', '-c', 'echo one'] },
          { name: 'kss/proxy', tag: '2', cmd: ['sh', '-c', 'echo two'] },
          { name: 'kss/proxy-empty', tag: '1', cmd: ['sh', '-c', 'echo empty'] },
        ],
      },
    });
    ({ testbed, cri, sandbox } = env);
  });
  after(async () => { await env?.close(); });

  it('should swap the hot sidecar X-1 → X-2 → X-1 on containerd, running postStart in each new container', async () => {
    const sb = sandbox!;
    const v1 = testbed.ref('kss/proxy:1');
    const v2 = testbed.ref('kss/proxy:2');
    const empty = testbed.ref('kss/proxy-empty:1');
    const getPod = async (): Promise<Pod> => sb.client.get<KubeObject>(resources.pods, NS, POD) as unknown as Promise<Pod>;
    const editImage = (image: string): Promise<SidecarSet> => retryOnConflict(async () => {
      const s = await sb.client.get<SidecarSet>(resources.sidecarSets, '', SET);
      s.spec.containers![0]!.image = image;
      return sb.client.update<SidecarSet>(resources.sidecarSets, s);
    });
    /** The running containerd container of one of the pair: its id and the image containerd reports. */
    const running = async (p: Pod, name: string): Promise<{ id: string; image: string }> => {
      const { containers } = await cri.listContainers({
        filter: { state: { state: 'CONTAINER_RUNNING' }, labelSelector: { 'io.kubernetes.pod.uid': p.metadata.uid!, 'io.kubernetes.container.name': name } },
      });
      assert.equal(containers.length, 1, `${name}: one running container`);
      const st = (await cri.containerStatus({ containerId: containers[0]!.id })).status;
      return { id: containers[0]!.id, image: st?.image?.image ?? '' };
    };
    const marker = async (containerId: string): Promise<string> => {
      const r = await cri.execSync({ containerId, cmd: ['cat', '/tmp/marker'], timeout: '10' });
      assert.equal(r.exitCode, 0, `cat /tmp/marker: ${Buffer.from(r.stderr ?? '').toString()}`);
      return Buffer.from(r.stdout ?? '').toString().trim();
    };
    /** The Pod once the swap is done: `work` working, the request gone, the status Succeeded, the Pod Ready. */
    const waitSwapped = (work: string, image: string): Promise<Pod> => waitFor(async () => {
      const p = await getPod();
      const st = JSON.parse(annotation(p, SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION) ?? '{}') as { phase?: string };
      const other = work === 'proxy-1' ? 'proxy-2' : 'proxy-1';
      const images = Object.fromEntries((p.status?.containerStatuses ?? []).map((c) => [c.name, c.image]));
      return st.phase === 'Succeeded' && annotation(p, SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION) === undefined
        && annotation(p, SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION) === JSON.stringify({ proxy: work })
        && images[work] === image && images[other] === empty && isReady(p) ? p : undefined;
    }, `${POD} working ${work} on ${image}`, 120_000);
    const swapRv = (p: Pod): string => (JSON.parse(annotation(p, SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION)!) as { resourceVersion: string }).resourceVersion;

    await sb.client.create(resources.sidecarSets, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name: SET },
      spec: {
        selector: { matchLabels: { app: 'shop' } },
        containers: [{
          name: 'proxy', image: v1, command: ['sleep', '3600'],
          lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo "$SIDECARSET_VERSION $SIDECARSET_VERSION_ALT" > /tmp/marker'] } } },
          upgradeStrategy: { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: empty },
        }],
        updateStrategy: { maxUnavailable: 1 },
      },
    } as KubeObject);
    // The host network: containerd here has no CNI.
    await sb.client.create(resources.pods, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: POD, namespace: NS, labels: { app: 'shop' } },
      spec: {
        hostNetwork: true, terminationGracePeriodSeconds: 2,
        containers: [{ name: 'app', image: testbed.ref('kss/app:1'), command: ['sleep', '3600'] }],
      },
    } as KubeObject);
    const first = await waitFor(async () => {
      const p = await getPod();
      return isReady(p) ? p : undefined;
    }, `${POD} Ready on containerd`, 90_000);
    assert.deepEqual(first.spec.containers.map((c) => [c.name, c.image]), [['proxy-1', v1], ['proxy-2', empty], ['app', testbed.ref('kss/app:1')]]);
    const [x1, x2] = [await running(first, 'proxy-1'), await running(first, 'proxy-2')];
    assert.deepEqual([x1.image, x2.image], [v1, empty]);
    // What each container's postStart wrote, against what §7.5's version contract says it must have seen; compared
    // at the end, so that a wrong marker does not hide how the swaps went.
    const markers: { seen: string[]; want: string[] } = { seen: [], want: [] };
    const expectMarker = async (containerId: string, want: string, what: string): Promise<void> => {
      markers.seen.push(`${what}: ${await marker(containerId)}`);
      markers.want.push(`${what}: ${want}`);
    };
    // Injection: proxy-1 starts first (VERSION 1, ALT 0: initialise), proxy-2 idles (VERSION 0 < ALT 1).
    await expectMarker(x1.id, '1 0', 'injected proxy-1');
    await expectMarker(x2.id, '0 1', 'injected proxy-2');

    // proxy:1 → proxy:2: proxy-2 gets the new image and works, proxy-1 is reset to the empty image.
    await editImage(v2);
    const second = await waitSwapped('proxy-2', v2);
    const rv1 = swapRv(second);
    const w2 = await running(second, 'proxy-2');
    assert.equal(w2.image, v2, 'containerd runs the new image in the working container');
    assert.equal((await running(second, 'proxy-1')).image, empty, 'and the empty image in the other');
    assert.notEqual(w2.id, x2.id, 'a new container');
    // The new side of a hot upgrade migrates: VERSION (the request) > ALT (proxy-1's version before) > 0.
    await expectMarker(w2.id, `${rv1} 1`, 'new proxy-2 (migrates)');
    await expectMarker((await running(second, 'proxy-1')).id, `0 ${rv1}`, 'reset proxy-1 (idles)');

    // And back: proxy-1 gets proxy:1 and works, proxy-2 is reset.
    await editImage(v1);
    const third = await waitSwapped('proxy-1', v1);
    const rv2 = swapRv(third);
    assert.ok(Number(rv2) > Number(rv1), `a newer request: ${rv2} after ${rv1}`);
    const w1 = await running(third, 'proxy-1');
    assert.equal(w1.image, v1);
    assert.equal((await running(third, 'proxy-2')).image, empty);
    await expectMarker(w1.id, `${rv2} ${rv1}`, 'new proxy-1 (migrates)');
    await expectMarker((await running(third, 'proxy-2')).id, `0 ${rv2}`, 'reset proxy-2 (idles)');
    const restarts = Object.fromEntries((third.status?.containerStatuses ?? []).map((c) => [c.name, c.restartCount]));
    assert.deepEqual(restarts, { 'proxy-1': 2, 'proxy-2': 2, app: 0 }, 'each of the pair restarted once per swap, the app never');

    await sb.client.delete(resources.sidecarSets, '', SET);
    await sb.client.delete(resources.pods, NS, POD);
    await waitFor(async () => (await sb.client.list(resources.pods, { namespace: NS })).items.length === 0, 'the pod to be gone', 60_000);
    await sb.close();
    sandbox = undefined;
    assert.deepEqual((await cri.listPodSandbox({})).items, [], 'no pod sandbox left in containerd');
    assert.deepEqual((await cri.listContainers({})).containers, [], 'no container left in containerd');
    assert.deepEqual(mountsUnder(testbed.description.baseDir), [], 'no rootfs or shm mount left');
    // The postStart of every new container ran in it (`cat` found the file) and saw SIDECARSET_VERSION and
    // SIDECARSET_VERSION_ALT from the downward API (metadata.annotations['version…'] / ['versionalt…']).
    assert.deepEqual(markers.seen, markers.want, 'each postStart saw the versions of §7.5');
  });
});
