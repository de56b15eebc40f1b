/**
 * Our CRI client on a real containerd 1.6 (the test harness' testbed: a local plain-HTTP registry, containerd with
 * its CRI plugin, overlayfs), against two references in the same run:
 *
 * 1. Client overhead: ImageStatus and PullImage of an image already present, through our CriClient and through a
 *    bare grpc-js client (bare-cri-client.ts), in paired rounds (paired-rounds.ts) of `calls` calls each,
 *    sequential and `concurrency` in flight. PullImage of a present image is still a registry round trip:
 *    containerd resolves the tag (HEAD of the manifest) and finds every blob present.
 * 2. Cold pull of a `largeImageBytes` image (large-image.ts) through our client against `ctr images pull` on the
 *    same containerd, alternating. Both fetch into the content store and unpack into overlayfs. Before every pull
 *    the image is removed (CRI RemoveImage, then `ctr images rm --sync` of any record left) and the benchmark waits
 *    until no record, blob (on disk) or snapshot of it is left, so every pull downloads and unpacks everything.
 *    `ctr` is a new process per pull: its start-up (measured with `ctr version`) is reported, and a second ratio
 *    subtracts it.
 */
import { performance } from 'node:perf_hooks';
import { CriClient, loadCriProto } from '../src/cri/index.js';
import { startContainerdTestbed, type BuiltImage, type ContainerdStopReport } from '../test/support/containerd/index.js';
import { BareImageServiceClient } from './bare-cri-client.js';
import { Ctr } from './ctr-tool.js';
import { buildLargeImage } from './large-image.js';
import { pairedRounds, type PairedResult } from './paired-rounds.js';
import { round, summarise, type Summary } from './stats.js';

export interface ContainerdPhaseOptions {
  calls: number;
  concurrency: number;
  imageStatusRounds: number;
  imageStatusConcurrentRounds: number;
  pullImageRounds: number;
  pullImageConcurrentRounds: number;
  warmupCalls: number;
  coldPullRounds: number;
  largeImageBytes: number;
  largeImageSeed: number;
}

export interface ColdPullResult {
  image: string;
  layerBytes: number;
  rounds: number;
  oursMs: Summary;
  ctrMs: Summary;
  /** `ctr version` wall time: ctr's process start and one round trip, paid by every ctr pull. */
  ctrStartupMs: Summary;
  /** ours ÷ ctr of the median pull time. */
  ratio: number | null;
  /** ours ÷ (ctr − ctr start-up) of the medians: only the pull work on ctr's side. */
  ratioWithoutCtrStartup: number | null;
  /** Per round, ours ÷ ctr. */
  perRound: number[];
  /** How long after the removal the blobs and the snapshot were gone (the garbage collection). */
  removalWaitMs: Summary;
  oursMiBPerSecond: number;
  ctrMiBPerSecond: number;
}

export interface ContainerdPhaseResult {
  containerdVersion: string;
  ctrVersion: string;
  overhead: {
    imageStatus: { sequential: PairedResult; concurrent: PairedResult };
    pullImage: { sequential: PairedResult; concurrent: PairedResult };
  };
  coldPull: ColdPullResult;
  cleanup: { stopReport: ContainerdStopReport; leftovers: string[] };
}

const ratio3 = (a: number, b: number): number | null => (b > 0 && Number.isFinite(a) ? round(a / b, 3) : null);

/** The facts `Ctr.remnants` checks for one image. */
function imageFacts(image: BuiltImage, host: string) {
  const config = JSON.parse(image.config.bytes.toString('utf8')) as { rootfs: { diff_ids: string[] } };
  if (config.rootfs.diff_ids.length !== 1) throw new Error('the large image must have exactly one layer');
  return {
    name: `${host}/${image.name}`,
    imageId: image.imageId,
    digest: image.digest,
    blobDigests: [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)],
    // The chain id of a one-layer image is its layer's diff id: the key of its committed snapshot.
    chainId: config.rootfs.diff_ids[0]!,
  };
}

export async function runContainerdPhase(o: ContainerdPhaseOptions, log: (line: string) => void): Promise<ContainerdPhaseResult> {
  const started = performance.now();
  const large = await buildLargeImage({ name: 'kbench/large', tag: '1', sizeBytes: o.largeImageBytes, seed: o.largeImageSeed });
  log(`containerd: built a ${(large.layers[0]!.bytes.length / 1024 ** 2).toFixed(1)} MiB layer in ${Math.round(performance.now() - started)} ms (layer ${large.layers[0]!.digest.slice(0, 19)}…)`);
  const testbed = await startContainerdTestbed({ images: [{ name: 'kbench/present', tag: '1', cmd: ['sh'] }] });
  let ours: CriClient | undefined;
  let bare: BareImageServiceClient | undefined;
  let result: Omit<ContainerdPhaseResult, 'cleanup'> | undefined;
  let failure: unknown;
  try {
    await testbed.registry.push(large);
    const proto = loadCriProto();
    ours = new CriClient({ endpoint: testbed.containerd.endpoint, proto, timeoutMs: 30_000, pullImageTimeoutMs: 300_000 });
    bare = new BareImageServiceClient(ours.endpoint.address, proto.protoPath);
    const ctr = new Ctr(testbed.containerd.socketPath, testbed.containerd.layout.root);
    const version = await ours.version({});
    const ctrVersion = (await ctr.version()).stdout.trim().replace(/\s+/g, ' ');
    log(`containerd: ${version.runtimeName} ${version.runtimeVersion} at ${testbed.containerd.endpoint}, testbed up in ${Math.round(performance.now() - started)} ms`);

    // ---- 1. overhead on a present image ----
    const present = testbed.ref('kbench/present:1');
    const presentId = testbed.images.get('kbench/present:1')!.imageId;
    await ours.pullImage({ image: { image: present } });
    const statusReq = { image: { image: present } };
    const pullReq = { image: { image: present } };
    for (const [who, res] of [['ours', await ours.imageStatus(statusReq)], ['bare', await bare.imageStatus(statusReq)]] as const) {
      const id = (res as { image?: { id?: string } | null }).image?.id;
      if (id !== presentId) throw new Error(`ImageStatus through ${who} client: image id ${String(id)}, expected ${presentId}`);
    }
    const c = ours;
    const b = bare;
    const paired = async (name: string, oursCall: () => Promise<unknown>, bareCall: () => Promise<unknown>, rounds: number, concurrentRounds: number) => {
      const sequential = await pairedRounds(oursCall, bareCall, { calls: o.calls, concurrency: 1, rounds, warmup: o.warmupCalls });
      log(`${name} sequential: ours p50 ${sequential.ours.latencyMs.p50} ms, bare p50 ${sequential.bare.latencyMs.p50} ms, ratio ${sequential.ratio} (pooled ${sequential.pooledRatio}; per round ${sequential.perRound.join(' ')})`);
      const concurrent = await pairedRounds(oursCall, bareCall, { calls: o.calls, concurrency: o.concurrency, rounds: concurrentRounds, warmup: 0 });
      log(`${name} ${o.concurrency} in flight: ours ${concurrent.ours.roundWallMs.p50} ms per ${o.calls} (${concurrent.ours.callsPerSecond}/s), ` +
        `bare ${concurrent.bare.roundWallMs.p50} ms (${concurrent.bare.callsPerSecond}/s), ratio ${concurrent.ratio} (per round ${concurrent.perRound.join(' ')}); ` +
        `client CPU ${concurrent.ours.cpuUsPerCall} vs ${concurrent.bare.cpuUsPerCall} µs/call`);
      return { sequential, concurrent };
    };
    const imageStatus = await paired('ImageStatus', () => c.imageStatus(statusReq), () => b.imageStatus(statusReq), o.imageStatusRounds, o.imageStatusConcurrentRounds);
    const pullImage = await paired('PullImage (present)', () => c.pullImage(pullReq), () => b.pullImage(pullReq), o.pullImageRounds, o.pullImageConcurrentRounds);

    // ---- 2. cold pulls ----
    const ref = `${testbed.registry.host}/${large.name}:${large.tag}`;
    const facts = imageFacts(large, testbed.registry.host);
    const removalWait: number[] = [];
    const removeLarge = async (): Promise<void> => {
      await c.removeImage({ image: { image: ref } });
      await ctr.removeImages((await ctr.imageNames()).filter((n) => n.includes(facts.name) || n === facts.imageId));
      removalWait.push(await ctr.waitGone(facts));
    };
    const checkPulled = async (who: string): Promise<void> => {
      const left = await ctr.remnants(facts);
      const missing = [...facts.blobDigests.map((d) => `blob ${d}`), `snapshot ${facts.chainId}`].filter((x) => !left.includes(x));
      if (missing.length > 0) throw new Error(`after the ${who} pull, containerd lacks ${missing.join(', ')}`);
    };
    const pullOurs = async (): Promise<number> => {
      const t = performance.now();
      const { imageRef } = await c.pullImage({ image: { image: ref } });
      const ms = performance.now() - t;
      if (imageRef !== large.imageId) throw new Error(`PullImage answered ${imageRef}, expected ${large.imageId}`);
      await checkPulled('CRI');
      return ms;
    };
    const pullCtr = async (): Promise<number> => {
      const ms = (await ctr.pull(ref)).ms;
      await checkPulled('ctr');
      return ms;
    };
    await ctr.waitGone(facts);
    // Untimed warm-up of both paths (the registry's page cache, containerd's resolver, ctr's binary).
    await pullOurs();
    await removeLarge();
    await pullCtr();
    await removeLarge();
    removalWait.length = 0;
    const oursMs: number[] = [];
    const ctrMs: number[] = [];
    const startup: number[] = [];
    const perRound: number[] = [];
    for (let r = 0; r < o.coldPullRounds; r++) {
      const order = r % 2 === 0 ? ['ours', 'ctr'] as const : ['ctr', 'ours'] as const;
      const got: Record<string, number> = {};
      for (const who of order) {
        got[who] = who === 'ours' ? await pullOurs() : await pullCtr();
        await removeLarge();
      }
      startup.push((await ctr.version()).ms);
      oursMs.push(got.ours!);
      ctrMs.push(got.ctr!);
      perRound.push(ratio3(got.ours!, got.ctr!) ?? NaN);
      log(`cold pull round ${r + 1}/${o.coldPullRounds}: ours ${Math.round(got.ours!)} ms, ctr ${Math.round(got.ctr!)} ms`);
    }
    const oursS = summarise(oursMs);
    const ctrS = summarise(ctrMs);
    const startupS = summarise(startup);
    const mib = large.layers[0]!.bytes.length / 1024 ** 2;
    const coldPull: ColdPullResult = {
      image: ref,
      layerBytes: large.layers[0]!.bytes.length,
      rounds: o.coldPullRounds,
      oursMs: oursS,
      ctrMs: ctrS,
      ctrStartupMs: startupS,
      ratio: ratio3(oursS.p50, ctrS.p50),
      ratioWithoutCtrStartup: ratio3(oursS.p50, ctrS.p50 - startupS.p50),
      perRound,
      removalWaitMs: summarise(removalWait),
      oursMiBPerSecond: round((mib * 1000) / oursS.p50, 1),
      ctrMiBPerSecond: round((mib * 1000) / ctrS.p50, 1),
    };
    log(`cold pull of ${mib.toFixed(1)} MiB: ours p50 ${oursS.p50} ms, ctr p50 ${ctrS.p50} ms (ctr start-up p50 ${startupS.p50} ms), ` +
      `ratio ${coldPull.ratio} (${coldPull.ratioWithoutCtrStartup} without ctr's start-up)`);
    result = {
      containerdVersion: `${version.runtimeName} ${version.runtimeVersion}`,
      ctrVersion,
      overhead: { imageStatus, pullImage },
      coldPull,
    };
  } catch (err) {
    failure = err;
  }
  bare?.close();
  await ours?.destroy();
  let stopReport: ContainerdStopReport;
  try {
    stopReport = await testbed.stop();
  } catch (err) {
    throw failure === undefined ? err : new AggregateError([failure, err], 'containerd benchmark failed, and so did its cleanup');
  }
  const leftovers = testbed.leftovers();
  if (failure !== undefined) throw failure;
  if (leftovers.length > 0) throw new Error(`the containerd testbed left behind: ${leftovers.join(', ')}`);
  log(`containerd: testbed stopped, nothing left behind`);
  return { ...result!, cleanup: { stopReport, leftovers } };
}
