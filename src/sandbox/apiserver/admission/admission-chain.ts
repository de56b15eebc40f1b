/**
 * The sandbox API server's admission-webhook dispatcher: mutating webhooks in order, then (called separately,
 * after the server's own defaulting and validation) validating webhooks in parallel. Transport-free: webhooks
 * are reached through a `WebhookCaller`.
 *
 * Follows the kube-apiserver 1.32 dispatchers (plugin/webhook/mutating and validating dispatcher.go):
 * - configurations sorted by name, webhooks in declaration order; each mutating webhook sees the object as
 *   patched by the ones before it, and its selectors are evaluated against that object;
 * - a denial fails the request with the webhook's Status (see `webhookDenial`);
 * - a call failure (transport, timeout, invalid response, unusable configuration) fails the request with
 *   500 `Internal error occurred: failed calling webhook "<name>": <why>` under failurePolicy Fail, and is
 *   logged and skipped under Ignore;
 * - a patch that does not apply, or a patch for a DELETE, is a 500 whatever the failurePolicy;
 * - a dry-run request reaching a webhook with side effects is a 400, whatever the failurePolicy;
 * - warnings are collected (deduplicated, in webhook order) and returned, also on failure (AdmissionError).
 *
 * Known gaps: reinvocationPolicy IfNeeded is not honoured (webhooks run once); matchPolicy is Exact only;
 * matchConditions fail per failurePolicy instead of being evaluated; auditAnnotations are dropped (no audit log).
 */
import type { Logger } from 'pino';
import pLimit from 'p-limit';
import type { KubeObject } from '../../../api/meta.js';
import { ApiError } from '../api-error.js';
import {
  AdmissionError, dryRunUnsupported, internalError, requestTimedOut,
  webhookCallFailure, webhookDenial,
} from './admission-errors.js';
import { applyJsonPatch, decodeJsonPatch } from './json-patch.js';
import { isExemptAdmissionConfigurationResource, shouldCallWebhook } from './matching.js';
import { buildAdmissionReview, verifyAdmissionResponse, type VerifiedResponse } from './review.js';
import type { AdmissionAttributes } from './types.js';
import { createHttpsWebhookCaller, type WebhookCaller } from './webhook-caller.js';
import { compileWebhookConfigurations, type CompiledWebhook } from './webhook-configuration.js';

export interface AdmissionChainOptions {
  /** MutatingWebhookConfiguration objects, as stored (read on every request, so changes apply at once). */
  listMutating(): KubeObject[];
  /** ValidatingWebhookConfiguration objects, as stored. */
  listValidating(): KubeObject[];
  /** Labels of a namespace, or undefined when it does not exist. */
  getNamespaceLabels(namespace: string): Record<string, string> | undefined;
  /** @default createHttpsWebhookCaller() */
  caller?: WebhookCaller;
  /** A fresh AdmissionReview request uid per call. */
  uid(): string;
  logger?: Logger;
  /** Validating webhooks called at once for one request. @default 8 */
  maxParallelValidating?: number;
}

interface CompiledChainOptions {
  listMutating: () => KubeObject[];
  listValidating: () => KubeObject[];
  getNamespaceLabels: (namespace: string) => Record<string, string> | undefined;
  caller: WebhookCaller;
  uid: () => string;
  logger: Logger | undefined;
  maxParallelValidating: number;
}

function compileChainOptions(o: AdmissionChainOptions): Readonly<CompiledChainOptions> {
  const maxParallelValidating = o.maxParallelValidating ?? 8;
  if (!Number.isInteger(maxParallelValidating) || maxParallelValidating < 1) {
    throw new RangeError(`maxParallelValidating must be a positive integer, got ${String(o.maxParallelValidating)}`);
  }
  return Object.freeze({
    listMutating: () => o.listMutating(),
    listValidating: () => o.listValidating(),
    getNamespaceLabels: (ns: string) => o.getNamespaceLabels(ns),
    caller: o.caller ?? createHttpsWebhookCaller(),
    uid: () => o.uid(),
    logger: o.logger?.child({ component: 'admission-webhooks' }),
    maxParallelValidating,
  });
}

export interface MutateResult {
  /** The object after every mutating webhook; undefined when the request had none (DELETE, CONNECT). */
  object?: KubeObject;
  /** Texts for `Warning: 299 - "<text>"` headers. */
  warnings: string[];
}

export interface ValidateResult {
  warnings: string[];
}

/** What one webhook call came to. */
type HookOutcome =
  | { kind: 'allowed'; response: VerifiedResponse }
  /** Denied, or an error no failurePolicy can ignore. */
  | { kind: 'rejected'; error: ApiError; warnings: readonly string[] }
  | { kind: 'call-failed'; message: string; cause: unknown; warnings: readonly string[] };

class WarningList {
  private readonly seen = new Set<string>();
  readonly items: string[] = [];

  add(warnings: readonly string[]): void {
    for (const w of warnings) {
      if (this.seen.has(w)) continue;
      this.seen.add(w);
      this.items.push(w);
    }
  }
}

/** The default signal of calls made without one; never aborted. */
const NEVER_ABORTED = new AbortController().signal;

export class AdmissionChain {
  private readonly options: Readonly<CompiledChainOptions>;

  constructor(options: AdmissionChainOptions) {
    this.options = compileChainOptions(options);
  }

  /**
   * Runs the mutating webhooks that match. Resolves with the final object and the warnings; rejects with an
   * AdmissionError (an ApiError carrying the warnings so far) when a webhook denies or fails closed.
   */
  async mutate(attrs: AdmissionAttributes, signal: AbortSignal = NEVER_ABORTED): Promise<MutateResult> {
    const warnings = new WarningList();
    // Patches make new documents, so the input is never changed and needs no copy; an unchanged object comes back
    // as the same reference, which callers use to skip re-decoding it.
    let current = attrs.object;
    const configurations = this.options.listMutating();
    if (configurations.length === 0 || isExemptAdmissionConfigurationResource(attrs)) return { ...(current ? { object: current } : {}), warnings: [] };
    const fail = (error: ApiError): never => {
      throw new AdmissionError(error, warnings.items);
    };

    for (const hook of compileWebhookConfigurations(configurations)) {
      const view: AdmissionAttributes = { ...attrs, ...(current === undefined ? {} : { object: current }) };
      if (!this.matches(hook, view, fail)) continue;

      const outcome = await this.call(hook, view, true, signal);
      warnings.add(outcome.kind === 'allowed' ? outcome.response.warnings : outcome.warnings);
      if (outcome.kind === 'rejected') fail(outcome.error);
      if (outcome.kind === 'call-failed') {
        this.failOpenOrClosed(hook, outcome, signal, fail);
        continue;
      }
      if (outcome.kind !== 'allowed') continue;
      const patched = this.applyPatch(hook, outcome.response, current, signal, fail);
      if (patched !== undefined) current = patched;
    }
    return { ...(current === undefined ? {} : { object: current }), warnings: warnings.items };
  }

  /**
   * Runs the validating webhooks that match, at most `maxParallelValidating` at once. When several deny or fail
   * closed, the first in webhook order wins (Kubernetes takes whichever finishes first; order is reproducible).
   */
  async validate(attrs: AdmissionAttributes, signal: AbortSignal = NEVER_ABORTED): Promise<ValidateResult> {
    const warnings = new WarningList();
    if (isExemptAdmissionConfigurationResource(attrs)) return { warnings: [] };
    const fail = (error: ApiError): never => {
      throw new AdmissionError(error, warnings.items);
    };
    const hooks = compileWebhookConfigurations(this.options.listValidating()).filter((hook) => this.matches(hook, attrs, fail));
    if (hooks.length === 0) return { warnings: [] };
    if (signal.aborted) fail(requestTimedOut());

    const limit = pLimit(this.options.maxParallelValidating);
    const outcomes = await Promise.all(hooks.map((hook) => limit(() => this.call(hook, attrs, false, signal))));

    let firstError: ApiError | undefined;
    outcomes.forEach((outcome, i) => {
      const hook = hooks[i] as CompiledWebhook;
      warnings.add(outcome.kind === 'allowed' ? outcome.response.warnings : outcome.warnings);
      if (outcome.kind === 'rejected') {
        firstError ??= outcome.error;
      } else if (outcome.kind === 'call-failed') {
        if (hook.failurePolicy === 'Ignore') {
          this.options.logger?.warn({ webhook: hook.name, configuration: hook.configurationName, err: outcome.cause, reason: outcome.message },
            'failed calling webhook, failing open');
        } else {
          this.options.logger?.warn({ webhook: hook.name, configuration: hook.configurationName, err: outcome.cause, reason: outcome.message },
            'failed calling webhook, failing closed');
          firstError ??= webhookCallFailure(hook.name, outcome.message);
        }
      }
    });
    if (firstError !== undefined) fail(firstError);
    return { warnings: warnings.items };
  }

  private matches(hook: CompiledWebhook, attrs: AdmissionAttributes, fail: (error: ApiError) => never): boolean {
    try {
      return shouldCallWebhook(hook, attrs, this.options.getNamespaceLabels);
    } catch (err) {
      if (ApiError.is(err)) return fail(err);
      throw err;
    }
  }

  /** Under Ignore: log, and go on unless the whole request was cancelled meanwhile; under Fail: a 500. */
  private failOpenOrClosed(hook: CompiledWebhook, outcome: Extract<HookOutcome, { kind: 'call-failed' }>, signal: AbortSignal,
    fail: (error: ApiError) => never): void {
    const fields = { webhook: hook.name, configuration: hook.configurationName, err: outcome.cause, reason: outcome.message };
    if (hook.failurePolicy === 'Ignore') {
      this.options.logger?.warn(fields, 'failed calling webhook, failing open');
      if (signal.aborted) fail(requestTimedOut());
      return;
    }
    this.options.logger?.warn(fields, 'failed calling webhook, failing closed');
    fail(webhookCallFailure(hook.name, outcome.message));
  }

  /** The patched object, undefined when the webhook made no change; fails on a bad or misplaced patch. */
  private applyPatch(hook: CompiledWebhook, response: VerifiedResponse, current: KubeObject | undefined, signal: AbortSignal,
    fail: (error: ApiError) => never): KubeObject | undefined {
    if (response.patch === undefined || response.patch.length === 0) return undefined;
    let ops;
    try {
      ops = decodeJsonPatch(response.patch);
    } catch (err) {
      this.failOpenOrClosed(hook, {
        kind: 'call-failed', message: `received undecodable patch in webhook response: ${(err as Error).message}`, cause: err, warnings: [],
      }, signal, fail);
      return undefined;
    }
    if (ops.length === 0) return undefined;
    if (current === undefined) {
      return fail(internalError(`admission webhook ${JSON.stringify(hook.name)} attempted to modify the object, which is not supported for this operation`));
    }
    if (response.patchType !== 'JSONPatch') {
      this.failOpenOrClosed(hook, {
        kind: 'call-failed', message: `unsupported patch type ${JSON.stringify(response.patchType ?? '')}`, cause: undefined, warnings: [],
      }, signal, fail);
      return undefined;
    }
    try {
      return applyJsonPatch(current, ops);
    } catch (err) {
      // The kube-apiserver returns the json-patch library's error as an internal error; ours names the webhook.
      return fail(internalError(`JSON patch from admission webhook ${JSON.stringify(hook.name)} does not apply: ${(err as Error).message}`));
    }
  }

  private async call(hook: CompiledWebhook, attrs: AdmissionAttributes, mutating: boolean, signal: AbortSignal): Promise<HookOutcome> {
    const callFailed = (message: string, cause?: unknown): HookOutcome => ({ kind: 'call-failed', message, cause, warnings: [] });
    if (attrs.dryRun) {
      if (hook.sideEffects === undefined) return callFailed('Webhook SideEffects is nil');
      if (hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
        return { kind: 'rejected', error: dryRunUnsupported(hook.name), warnings: [] };
      }
    }
    if (hook.setupError !== undefined || hook.url === undefined) return callFailed(hook.setupError ?? 'no webhook URL');

    const uid = this.options.uid();
    const review = buildAdmissionReview(uid, attrs);
    // client-go tells the webhook its deadline in the query, rounded up to whole seconds.
    const url = new URL(hook.url);
    url.searchParams.set('timeout', `${hook.timeoutSeconds}s`);
    let body: object;
    try {
      body = await this.options.caller(url.toString(), hook.caBundlePem, review, hook.timeoutSeconds * 1000, signal);
    } catch (err) {
      return callFailed(`failed to call webhook: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    let response: VerifiedResponse;
    try {
      response = verifyAdmissionResponse(uid, mutating, body);
    } catch (err) {
      return callFailed(`received invalid webhook response: ${(err as Error).message}`, err);
    }
    if (!response.allowed) return { kind: 'rejected', error: webhookDenial(hook.name, response.result), warnings: response.warnings };
    return { kind: 'allowed', response };
  }
}

