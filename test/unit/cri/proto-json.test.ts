/**
 * The precompiled CRI descriptor (`proto/cri/runtime/v1/api.json`) against its source: the committed file is what
 * the generator makes from `api.proto`, and `loadCriProto`'s definitions behave like the ones `@grpc/proto-loader`
 * builds by parsing the `.proto` with the same options (paths, names, streaming flags, bytes on the wire, decoded
 * objects).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';
import { CRI_LOADER_OPTIONS, CRI_PACKAGE, loadCriProto, type CriProto } from '../../../src/cri/index.js';
import { criProtoJsonPath } from '../../../src/cri/proto-loading.js';
import { generateCriProtoJson } from '../../../src/cri/generate-proto-json.js';

const proto: CriProto = loadCriProto();
const parsed = protoLoader.loadSync(proto.protoPath, CRI_LOADER_OPTIONS);

function parsedService(name: 'RuntimeService' | 'ImageService'): protoLoader.ServiceDefinition {
  // Service definitions are the entries without a `format` field (messages and enums have one).
  const def = parsed[`${CRI_PACKAGE}.${name}`];
  assert.ok(def !== undefined && !('format' in def), `${name} is a service in the parsed proto`);
  return def as protoLoader.ServiceDefinition;
}

const services: readonly [string, grpc.ServiceDefinition, protoLoader.ServiceDefinition][] = [
  ['RuntimeService', proto.runtimeServiceDefinition, parsedService('RuntimeService')],
  ['ImageService', proto.imageServiceDefinition, parsedService('ImageService')],
];

/** Non-empty messages per method: 64-bit strings, enums by name, maps, repeated fields, bytes, nested messages. */
const SAMPLES: Readonly<Record<string, { readonly request?: object; readonly response?: object }>> = {
  RunPodSandbox: {
    request: {
      config: {
        metadata: { name: 'web-0', uid: 'u-1', namespace: 'default', attempt: 2 },
        hostname: 'web-0', logDirectory: '/var/log/pods/x',
        portMappings: [{ protocol: 'UDP', containerPort: 53, hostPort: 5353 }],
        labels: { app: 'web' }, annotations: { a: 'b' },
      },
      runtimeHandler: 'runc',
    },
    response: { podSandboxId: 'sb-1' },
  },
  ContainerStatus: {
    request: { containerId: 'c-1', verbose: true },
    response: {
      status: {
        id: 'c-1', metadata: { name: 'app', attempt: 1 }, state: 'CONTAINER_EXITED',
        createdAt: '1700000000000000000', startedAt: '9223372036854775807', finishedAt: '-1', exitCode: -3,
        image: { image: 'busybox:1.36', annotations: { k: 'v' } }, imageRef: 'sha256:abc', labels: { l: '1' },
        mounts: [{ containerPath: '/data', hostPath: '/srv', readonly: true, propagation: 'PROPAGATION_BIDIRECTIONAL' }],
      },
      info: { pid: '42' },
    },
  },
  ExecSync: {
    request: { containerId: 'c-1', cmd: ['sh', '-c', 'true'], timeout: '30' },
    response: { stdout: Buffer.from([0, 1, 2, 255]), stderr: Buffer.from('err'), exitCode: 1 },
  },
  ListImages: {
    request: { filter: { image: { image: 'busybox' } } },
    response: {
      images: [
        { id: 'sha256:1', repoTags: ['a:1', 'a:2'], repoDigests: ['a@sha256:1'], size: '18446744073709551615',
          uid: { value: '-7' }, username: 'root', pinned: true },
        { id: 'sha256:2', size: '0' },
      ],
    },
  },
  PullImage: {
    request: {
      image: { image: 'registry.test/app:v1', userSpecifiedImage: 'app:v1' },
      auth: { username: 'u', password: 'p', serverAddress: 'registry.test', identityToken: 't' },
      sandboxConfig: { metadata: { name: 'p' } },
    },
    response: { imageRef: 'sha256:abc' },
  },
  ImageFsInfo: {
    response: {
      imageFilesystems: [{ timestamp: '123', fsId: { mountpoint: '/var/lib' }, usedBytes: { value: '4096' } }],
    },
  },
};

describe('the precompiled CRI descriptor', () => {
  test('the committed api.json is exactly what the generator produces from api.proto', () => {
    const committed = readFileSync(criProtoJsonPath(proto.protoPath), 'utf8');
    assert.equal(committed, generateCriProtoJson(proto.protoPath),
      'regenerate it: npm run build && node dist/src/cri/generate-proto-json.js');
  });

  for (const [name, ours, theirs] of services) {
    test(`${name} declares the same methods, paths, streaming flags and original names as proto-loader's`, () => {
      assert.deepEqual(Object.keys(ours), Object.keys(theirs));
      for (const [method, def] of Object.entries(theirs)) {
        const mine = ours[method];
        assert.ok(mine !== undefined);
        assert.deepEqual(
          [mine.path, mine.requestStream, mine.responseStream, mine.originalName],
          [def.path, def.requestStream, def.responseStream, def.originalName],
          method,
        );
      }
    });

    test(`${name} encodes and decodes every message like proto-loader, empty and filled in`, () => {
      for (const [method, def] of Object.entries(theirs)) {
        const mine = ours[method];
        assert.ok(mine !== undefined);
        const sample = SAMPLES[method] ?? {};
        for (const [value, side] of [[{}, 'empty'], [sample.request ?? {}, 'sample']] as const) {
          const bytes = def.requestSerialize(value);
          assert.deepEqual(mine.requestSerialize(value), bytes, `${method} request (${side}) bytes`);
          assert.deepEqual(mine.requestDeserialize(bytes), def.requestDeserialize(bytes), `${method} request (${side})`);
        }
        for (const [value, side] of [[{}, 'empty'], [sample.response ?? {}, 'sample']] as const) {
          const bytes = def.responseSerialize(value);
          assert.deepEqual(mine.responseSerialize(value), bytes, `${method} response (${side}) bytes`);
          assert.deepEqual(mine.responseDeserialize(bytes), def.responseDeserialize(bytes), `${method} response (${side})`);
        }
      }
    });
  }

  test('a message given as an array is refused with proto-loader\'s error', () => {
    const mine = proto.image.PullImage;
    const theirs = parsedService('ImageService').PullImage;
    assert.ok(theirs !== undefined);
    assert.throws(() => theirs.requestSerialize([]), /got array instead/);
    assert.throws(() => mine.requestSerialize([] as never), /got array instead/);
  });

  test('the samples cover non-default values (so the comparison is not only of empty messages)', () => {
    const decoded = proto.runtime.ContainerStatus.responseDeserialize(
      proto.runtimeServiceDefinition.ContainerStatus!.responseSerialize(SAMPLES.ContainerStatus!.response),
    );
    assert.equal(decoded.status?.state, 'CONTAINER_EXITED');
    assert.equal(decoded.status?.startedAt, '9223372036854775807');
    assert.deepEqual(decoded.status?.mounts?.[0]?.propagation, 'PROPAGATION_BIDIRECTIONAL');
  });
});
