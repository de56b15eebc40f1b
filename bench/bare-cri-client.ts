/**
 * The baseline for the CRI client overhead: the ImageService called with nothing but `@grpc/grpc-js` and
 * `@grpc/proto-loader`, the way a minimal script would. Same proto file and loader options as our client (so the
 * (de)serialisation work is identical), same channel options (none), an insecure unix-socket channel; no deadline,
 * no retries, no abort signal, no in-flight bookkeeping, no error mapping.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CRI_LOADER_OPTIONS, CRI_PACKAGE } from '../src/cri/index.js';

type UnaryMethod = (req: unknown, callback: (err: grpc.ServiceError | null, res?: unknown) => void) => grpc.ClientUnaryCall;

export class BareImageServiceClient {
  private readonly client: grpc.Client;

  constructor(address: string, protoPath: string, channelOptions: grpc.ChannelOptions = {}) {
    const pkg = protoLoader.loadSync(protoPath, CRI_LOADER_OPTIONS);
    const service = pkg[`${CRI_PACKAGE}.ImageService`] as grpc.ServiceDefinition;
    const Client = grpc.makeGenericClientConstructor(service, 'ImageService');
    this.client = new Client(address, grpc.credentials.createInsecure(), channelOptions);
  }

  imageStatus(req: unknown): Promise<unknown> {
    return this.unary('ImageStatus', req);
  }

  pullImage(req: unknown): Promise<unknown> {
    return this.unary('PullImage', req);
  }

  close(): void {
    this.client.close();
  }

  private unary(method: 'ImageStatus' | 'PullImage', req: unknown): Promise<unknown> {
    // makeGenericClientConstructor adds one method per RPC, named as in the proto.
    const fn = (this.client as unknown as Record<string, UnaryMethod>)[method]!;
    return new Promise((resolve, reject) => {
      fn.call(this.client, req, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}
