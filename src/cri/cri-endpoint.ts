/**
 * CRI endpoints are unix sockets. We accept the forms crictl and kubelet accept (`unix:///path`, `unix:/path`) and
 * a bare absolute path, and give grpc-js one canonical address.
 */
import { isAbsolute, normalize } from 'node:path';
import { KruiseError } from '../api/errors.js';

export interface CriEndpoint {
  /** The socket's absolute path. */
  readonly socketPath: string;
  /** `unix://<socketPath>`, the address handed to grpc-js. */
  readonly address: string;
}

/** Unix socket paths longer than this do not fit `sockaddr_un.sun_path` on Linux (108 bytes with the NUL). */
export const MAX_UNIX_SOCKET_PATH_BYTES = 107;

export function parseCriEndpoint(endpoint: string): CriEndpoint {
  let path: string;
  if (endpoint.startsWith('unix://')) path = endpoint.slice('unix://'.length);
  else if (endpoint.startsWith('unix:')) path = endpoint.slice('unix:'.length);
  else if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(endpoint)) {
    throw new KruiseError(`CRI endpoint ${JSON.stringify(endpoint)}: only unix sockets are supported (unix:///path)`, {
      reason: 'Invalid', fieldPath: 'cri-endpoint',
    });
  } else path = endpoint;
  if (!isAbsolute(path)) {
    throw new KruiseError(`CRI endpoint ${JSON.stringify(endpoint)}: the socket path must be absolute`, {
      reason: 'Invalid', fieldPath: 'cri-endpoint',
    });
  }
  const socketPath = normalize(path);
  if (Buffer.byteLength(socketPath) > MAX_UNIX_SOCKET_PATH_BYTES) {
    throw new KruiseError(
      `CRI endpoint ${JSON.stringify(endpoint)}: a unix socket path has at most ${MAX_UNIX_SOCKET_PATH_BYTES} bytes`,
      { reason: 'Invalid', fieldPath: 'cri-endpoint' },
    );
  }
  return Object.freeze({ socketPath, address: `unix://${socketPath}` });
}
