/** Per-request options shared by every verb. */
import type { UserInfo } from './ports.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface RequestContext {
  user: UserInfo;
  dryRun: boolean;
  fieldValidation: FieldValidation;
  /** Warnings to return to the client as `Warning: 299` headers. */
  warnings: string[];
  /**
   * True when the caller hands over the request body (freshly decoded from the wire) so the server may change it
   * in place instead of copying it first.
   */
  bodyOwned?: boolean;
}

export const SYSTEM_USER: UserInfo = { username: 'system:kruise-ts-sandbox', groups: ['system:masters'] };

export function systemContext(): RequestContext {
  return { user: SYSTEM_USER, dryRun: false, fieldValidation: 'Ignore', warnings: [] };
}
