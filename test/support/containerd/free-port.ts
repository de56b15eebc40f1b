/**
 * A free TCP port on 127.0.0.1 for a child that cannot report the port it bound (distribution logs the configured
 * address, not the bound one, so `:0` is no use). There is a window between closing our probe and the child
 * binding; callers retry on "address already in use".
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => { resolve(port); });
    });
  });
}
