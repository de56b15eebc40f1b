/**
 * CriClient against a tiny in-test grpc-js server built from the same proto: deadlines, retry rules, error mapping
 * and credential scrubbing.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import {
  CriClient, CriError, REDACTED, RegistryKeyring, SECRET_TYPE_DOCKER_CONFIG_JSON, addCriServices, loadCriProto,
  pullAuthAttempts, pullImageWithCredentials, type AuthConfig, type CriProto,
} from '../../../src/cri/index.js';

const proto: CriProto = loadCriProto();

const USERNAME = 'alice';
const PASSWORD = 'p4ss-W0rd/with+chars';
const AUTH = Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64');

interface ServerState {
  calls: Map<string, number>;
  /** ImageStatus fails with UNAVAILABLE this many times before answering. */
  imageStatusUnavailable: number;
  pullAuths: (AuthConfig | null)[];
  /** Callbacks of unanswered ListContainers calls, ended in `after`. */
  hanging: (() => void)[];
}

const state: ServerState = { calls: new Map(), imageStatusUnavailable: 0, pullAuths: [], hanging: [] };
const count = (method: string) => state.calls.set(method, (state.calls.get(method) ?? 0) + 1);
const calls = (method: string) => state.calls.get(method) ?? 0;

function unavailable(message: string): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNAVAILABLE, details: message };
}

let dir = '';
let socketPath = '';
const server = new grpc.Server();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cric-'));
  socketPath = join(dir, 'cri.sock');
  addCriServices(server, proto, {
    runtime: {
      Version: (_call, callback) => {
        count('Version');
        callback(null, { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.0', runtimeApiVersion: 'v1' });
      },
      ListContainers: (_call, callback) => {
        count('ListContainers');
        // Never answers while the test runs.
        state.hanging.push(() => callback({ code: grpc.status.ABORTED, details: 'test over' }));
      },
      ContainerStatus: (call, callback) => {
        count('ContainerStatus');
        callback({ code: grpc.status.NOT_FOUND, details: `an error occurred when try to find container "${call.request.containerId}": not found` });
      },
      CreateContainer: (_call, callback) => {
        count('CreateContainer');
        callback(unavailable('runtime is restarting'));
      },
      StopContainer: (call, callback) => {
        count('StopContainer');
        assert.equal(call.request.timeout, '30');
        callback(unavailable('runtime is restarting'));
      },
      ExecSync: (call, callback) => {
        count('ExecSync');
        callback(null, { stdout: Buffer.from(call.request.cmd.join(' ')), stderr: Buffer.alloc(0), exitCode: 3 });
      },
    },
    image: {
      ImageStatus: (call, callback) => {
        count('ImageStatus');
        if (state.imageStatusUnavailable > 0) {
          state.imageStatusUnavailable--;
          callback(unavailable('connection reset'));
          return;
        }
        callback(null, { image: { id: 'sha256:abc', repoTags: [call.request.image?.image ?? ''], size: '12345678901234' } });
      },
      PullImage: (call, callback) => {
        count('PullImage');
        const auth = call.request.auth;
        state.pullAuths.push(auth);
        if (call.request.image?.image === 'docker.io/library/unavailable:latest') {
          callback(unavailable('runtime is restarting'));
          return;
        }
        // A careless runtime: echoes every credential form it was given, as containerd's errors can.
        const echo = auth === null
          ? 'no credentials'
          : `user ${auth.username} password ${auth.password} auth ${auth.auth} token ${auth.identityToken} ` +
            `url https://${auth.username}:${auth.password}@registry.example.com/v2/ ` +
            `json {"password":${JSON.stringify(auth.password)}} b64 ${Buffer.from(auth.password).toString('base64')}`;
        callback({
          code: grpc.status.UNKNOWN,
          details: `failed to pull and unpack image "${call.request.image?.image}": failed to resolve reference: ` +
            `pulling from host registry.example.com failed with status code [manifests latest]: 401 Unauthorized (${echo})`,
        });
      },
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
});

after(async () => {
  for (const end of state.hanging) end();
  server.forceShutdown();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  state.calls.clear();
  state.imageStatusUnavailable = 0;
  state.pullAuths = [];
});

function client(overrides: Partial<ConstructorParameters<typeof CriClient>[0]> = {}): CriClient {
  const c = new CriClient({
    endpoint: `unix://${socketPath}`, proto, retry: { initialBackoffMs: 5, maxBackoffMs: 20 }, ...overrides,
  });
  after(() => c.destroy());
  return c;
}

describe('CriClient', () => {
  test('decodes responses with 64-bit integers as strings and bytes as Buffers', async () => {
    const c = client();
    const v = await c.version();
    assert.deepEqual(v, { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.0', runtimeApiVersion: 'v1' });
    const s = await c.imageStatus({ image: { image: 'nginx' } });
    assert.equal(s.image?.size, '12345678901234');
    assert.deepEqual(s.image?.repoDigests, []);
    assert.equal(s.image?.uid, null);
    const e = await c.execSync({ containerId: 'c1', cmd: ['echo', 'hi'], timeout: '5' });
    assert.ok(Buffer.isBuffer(e.stdout));
    assert.equal(e.stdout.toString(), 'echo hi');
    assert.equal(e.exitCode, 3);
  });

  test('honours the deadline of a call that never returns', async () => {
    const c = client();
    const started = Date.now();
    await assert.rejects(c.listContainers({}, { timeoutMs: 150 }), (err: unknown) => {
      assert.ok(CriError.is(err));
      assert.equal(err.reason, 'DeadlineExceeded');
      assert.equal(err.grpcCode, grpc.status.DEADLINE_EXCEEDED);
      assert.equal(err.retryable, true);
      return true;
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 2000, `took ${elapsed} ms`);
    // ListContainers is idempotent, but only UNAVAILABLE is retried.
    assert.equal(calls('ListContainers'), 1);
  });

  test('retries an idempotent call on UNAVAILABLE until it succeeds', async () => {
    const c = client();
    state.imageStatusUnavailable = 2;
    const res = await c.imageStatus({ image: { image: 'nginx' } });
    assert.equal(res.image?.id, 'sha256:abc');
    assert.equal(calls('ImageStatus'), 3);
  });

  test('gives up after maxAttempts and says how many attempts were made', async () => {
    const c = client({ retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } });
    state.imageStatusUnavailable = 10;
    await assert.rejects(c.imageStatus({ image: { image: 'nginx' } }), (err: unknown) => {
      assert.ok(CriError.is(err));
      assert.equal(err.reason, 'Unavailable');
      assert.equal(err.attempts, 3);
      assert.match(err.message, /^CRI ImageStatus: UNAVAILABLE: connection reset \(after 3 attempts\)$/);
      return true;
    });
    assert.equal(calls('ImageStatus'), 3);
  });

  test('does not retry PullImage or CreateContainer on UNAVAILABLE', async () => {
    const c = client();
    await assert.rejects(c.pullImage({ image: { image: 'docker.io/library/unavailable:latest' } }), { reason: 'Unavailable' });
    await assert.rejects(c.createContainer({ podSandboxId: 'p1', config: { metadata: { name: 'c' } } }), { reason: 'Unavailable' });
    assert.equal(calls('PullImage'), 1);
    assert.equal(calls('CreateContainer'), 1);
  });

  test('retries StopContainer, which the CRI declares idempotent', async () => {
    const c = client({ retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 2 } });
    await assert.rejects(c.stopContainer({ containerId: 'c1', timeout: '30' }), { reason: 'Unavailable' });
    assert.equal(calls('StopContainer'), 2);
  });

  test('an error keeps the gRPC code and the runtime message, and is not retried when not UNAVAILABLE', async () => {
    const c = client();
    await assert.rejects(c.containerStatus({ containerId: 'abc' }), (err: unknown) => {
      assert.ok(CriError.is(err));
      assert.equal(err.grpcCode, grpc.status.NOT_FOUND);
      assert.equal(err.grpcCodeName, 'NOT_FOUND');
      assert.equal(err.reason, 'NotFound');
      assert.equal(err.retryable, false);
      assert.equal(err.method, 'ContainerStatus');
      assert.equal(err.details, 'an error occurred when try to find container "abc": not found');
      assert.equal(err.message, 'CRI ContainerStatus: NOT_FOUND: an error occurred when try to find container "abc": not found');
      return true;
    });
    assert.equal(calls('ContainerStatus'), 1);
  });

  test('aborting the signal cancels the call', async () => {
    const c = client();
    const controller = new AbortController();
    const pending = c.listContainers({}, { signal: controller.signal, timeoutMs: 10_000 });
    setTimeout(() => controller.abort(new Error('shutting down')), 30);
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(CriError.is(err));
      assert.equal(err.reason, 'Cancelled');
      assert.match(err.message, /shutting down/);
      return true;
    });
  });

  test('close refuses new calls after waiting for those in flight', async () => {
    const c = client();
    const inFlight = c.version();
    const closing = c.close();
    assert.equal(c.state, 'closing');
    await assert.rejects(c.version(), { reason: 'FailedPrecondition' });
    assert.equal((await inFlight).runtimeApiVersion, 'v1');
    await closing;
    assert.equal(c.state, 'closed');
  });

  test('destroy cancels calls in flight', async () => {
    const c = client();
    const pending = c.listContainers({}, { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await c.destroy();
    await assert.rejects(pending, { reason: 'Cancelled' });
  });

  test('invalid options are rejected at construction', () => {
    assert.throws(() => new CriClient({ endpoint: `unix://${socketPath}`, proto, timeoutMs: 0 }), { reason: 'Invalid', fieldPath: 'timeoutMs' });
    assert.throws(() => new CriClient({ endpoint: 'tcp://x:1', proto }), { reason: 'Invalid' });
  });
});

describe('credentials never leave an authenticated pull', () => {
  test('a PullImage auth failure keeps the code and message but not the credentials', async () => {
    const c = client();
    await assert.rejects(
      c.pullImage({ image: { image: 'registry.example.com/team/app:v1' }, auth: { username: USERNAME, password: PASSWORD } }),
      (err: unknown) => {
        assert.ok(CriError.is(err));
        assert.equal(err.reason, 'Unauthorized');
        assert.equal(err.grpcCode, grpc.status.UNKNOWN);
        assert.match(err.message, /401 Unauthorized/);
        assert.ok(err.message.includes(REDACTED));
        assert.ok(!err.message.includes(PASSWORD));
        return true;
      },
    );
  });

  test('every output of a failed authenticated pull with fallback to anonymous is free of secret material', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => { lines.push(line); } });
    const c = client({ logger });
    const secret = {
      metadata: { namespace: 'kruise-system', name: 'regcred' },
      type: SECRET_TYPE_DOCKER_CONFIG_JSON,
      data: {
        '.dockerconfigjson': Buffer.from(JSON.stringify({
          auths: { 'registry.example.com': { auth: AUTH, identitytoken: 'id-T0ken-value' } },
        })).toString('base64'),
      },
    };
    const { keyring, problems } = RegistryKeyring.fromSecrets([secret]);
    assert.deepEqual(problems, []);
    const auths = pullAuthAttempts(keyring, 'registry.example.com/team/app:v1');
    assert.equal(auths.length, 2);

    const err = await pullImageWithCredentials(c, 'registry.example.com/team/app:v1', auths, { logger }).then(
      () => assert.fail('the pull should fail'),
      (e: unknown) => e,
    );
    // The runtime did receive the credentials, then an anonymous attempt.
    assert.equal(state.pullAuths.length, 2);
    assert.equal(state.pullAuths[0]?.password, PASSWORD);
    assert.equal(state.pullAuths[0]?.serverAddress, '');
    assert.equal(state.pullAuths[1], null);
    assert.ok(CriError.is(err));
    assert.equal(err.reason, 'Unauthorized');

    const output = [
      ...lines, err.message, String(err.stack), inspect(err, { depth: 10 }), JSON.stringify(err),
      JSON.stringify({ ...err }),
    ].join('\n');
    assert.ok(lines.some((l) => l.includes('image pull attempt failed')), 'attempts are logged');
    assert.ok(output.includes('credentials for registry.example.com from kruise-system/regcred'));
    const forbidden = [
      PASSWORD, AUTH, `${USERNAME}:${PASSWORD}`, 'id-T0ken-value', Buffer.from(PASSWORD).toString('base64'),
      encodeURIComponent(PASSWORD),
    ];
    for (const value of forbidden) assert.ok(!output.includes(value), `output contains ${JSON.stringify(value.slice(0, 3))}...`);
  });
});
