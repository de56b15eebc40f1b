/**
 * Test-only fault injection for the embedded API server: tests of clients (informers, leader election, retries)
 * make the server fail the way real ones do. Nothing in the product wires an injector in.
 */

export type FaultAction =
  | { kind: 'none' }
  /** Answer with this status (a watch gets 200 and an ERROR event carrying it, as the API server does for 410). */
  | { kind: 'status'; code: number; retryAfterSeconds?: number }
  /** Answer normally after a delay. */
  | { kind: 'delay'; ms: number }
  /** Close the connection without answering. */
  | { kind: 'drop' }
  /** Keep the connection open and never answer. */
  | { kind: 'half-open' }
  /** Carry out the request (a write commits), then close the connection instead of answering. */
  | { kind: 'lose-response' };

export interface FaultRequestInfo {
  method: string;
  path: string;
  watch: boolean;
  query: URLSearchParams;
  userAgent: string;
}

export interface FaultInjector {
  beforeRequest(info: FaultRequestInfo): FaultAction;
}
