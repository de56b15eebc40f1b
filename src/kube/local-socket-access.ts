/**
 * Access to an API server over a Unix socket with plain HTTP and a bearer token: how the sandbox's own clients
 * (coordinator, nodes, agents, webhooks) reach the API server living in the same process. Everything above the
 * transport is the same as over HTTPS; the socket file's mode (0600) is what keeps other users out.
 */
import type { RequestOptions } from 'node:https';
import type { ClusterAccess } from './kubeconfig-loader.js';

export class LocalSocketAccess implements ClusterAccess {
  constructor(private readonly socketPath: string, private readonly token: string, private readonly namespace = 'default') {}

  getCurrentCluster(): { server: string; socketPath: string } {
    return { server: 'http://localhost', socketPath: this.socketPath };
  }

  currentNamespace(): string { return this.namespace; }

  applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    opts.headers = { ...(opts.headers as Record<string, string> | undefined), Authorization: `Bearer ${this.token}` };
    return Promise.resolve();
  }
}
