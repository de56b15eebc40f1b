/**
 * Which webhooks apply to a request: pure functions over the request attributes, the webhook and (for the
 * namespaceSelector) a namespace-label lookup. Mirrors the kube-apiserver's predicates
 * (k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/{rules,namespace,object}, generic.Webhook.ShouldCallHook).
 *
 * matchPolicy: the sandbox serves one version per resource and has no equivalent-resource mapper, so every
 * webhook is matched as `Exact`; `Equivalent` (the v1 default) therefore behaves like `Exact`. A rule for
 * `extensions/v1beta1/deployments` will not catch `apps/v1` requests here.
 */
import type { LabelSelector } from '../../../api/meta.js';
import { matchesSelector, selectorFromLabelSelector } from '../../../api/label-selector.js';
import { type ApiError, apiErrors } from '../api-error.js';
import type { AdmissionAttributes, RuleWithOperations } from './types.js';

/** Returns the labels of a namespace, or undefined when it does not exist. */
export type NamespaceLabelLookup = (namespace: string) => Record<string, string> | undefined;

/** What a selector predicate decided; errors only count when a rule also matches (ShouldCallHook). */
export type SelectorVerdict =
  | { kind: 'match' }
  | { kind: 'no-match' }
  | { kind: 'error'; error: ApiError };

const MATCH: SelectorVerdict = Object.freeze({ kind: 'match' });
const NO_MATCH: SelectorVerdict = Object.freeze({ kind: 'no-match' });

type RuleAttributes = Pick<AdmissionAttributes, 'operation' | 'resource' | 'subResource' | 'namespace'>;

function isNamespaceResource(attrs: Pick<AdmissionAttributes, 'resource'>): boolean {
  return attrs.resource.group === '' && attrs.resource.version === 'v1' && attrs.resource.resource === 'namespaces';
}

function exactOrWildcard(items: readonly string[] | undefined, requested: string): boolean {
  return (items ?? []).some((item) => item === '*' || item === requested);
}

/** rules.Matcher.Matches: scope, operation, group, version and resource[/subresource] all match. */
export function matchesRule(rule: RuleWithOperations, attrs: RuleAttributes): boolean {
  return matchesScope(rule.scope, attrs)
    && exactOrWildcard(rule.operations, attrs.operation)
    && exactOrWildcard(rule.apiGroups, attrs.resource.group)
    && exactOrWildcard(rule.apiVersions, attrs.resource.version)
    && matchesResource(rule.resources, attrs);
}

export function matchesAnyRule(rules: readonly RuleWithOperations[], attrs: RuleAttributes): boolean {
  return rules.some((rule) => matchesRule(rule, attrs));
}

function matchesScope(scope: string | undefined, attrs: RuleAttributes): boolean {
  switch (scope ?? '*') {
    case '*':
      return true;
    // A Namespace is cluster-scoped even though requests for it carry its own name as `namespace`.
    case 'Namespaced':
      return !isNamespaceResource(attrs) && attrs.namespace !== '';
    case 'Cluster':
      return isNamespaceResource(attrs) || attrs.namespace === '';
    default:
      return false;
  }
}

/** `pods` matches only the main resource, `pods/status` one subresource, `pods/*` all of them, `*\/*` anything. */
function matchesResource(resources: readonly string[] | undefined, attrs: RuleAttributes): boolean {
  return (resources ?? []).some((entry) => {
    const slash = entry.indexOf('/');
    const res = slash < 0 ? entry : entry.slice(0, slash);
    const sub = slash < 0 ? '' : entry.slice(slash + 1);
    return (res === '*' || res === attrs.resource.resource) && (sub === '*' || sub === attrs.subResource);
  });
}

function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/**
 * Selectors compiled per selector object: the webhooks they belong to are compiled once per stored configuration,
 * so the same objects come back on every request (parsing them was visible in the sandbox nodes' profile).
 */
const compiledSelectors = new WeakMap<LabelSelector, ReturnType<typeof selectorFromLabelSelector>>();

/** Evaluates a selector, turning a malformed one into the InternalError the kube-apiserver returns. */
function evaluate(selector: LabelSelector, labels: Record<string, string> | undefined): SelectorVerdict {
  try {
    let compiled = compiledSelectors.get(selector);
    if (!compiled) {
      compiled = selectorFromLabelSelector(selector);
      compiledSelectors.set(selector, compiled);
    }
    return matchesSelector(compiled, labels ?? {}) ? MATCH : NO_MATCH;
  } catch (err) {
    return { kind: 'error', error: apiErrors.internal(err instanceof Error ? err.message : String(err)) };
  }
}

/**
 * namespace.Matcher.MatchNamespaceSelector. Cluster-scoped objects other than Namespaces always match. For a
 * Namespace being created or updated the labels come from the object itself (the store does not have them
 * yet); otherwise from the live namespace, and a missing namespace is a 404 `namespaces "x" not found`.
 */
export function matchNamespaceSelector(
  selector: LabelSelector,
  attrs: Pick<AdmissionAttributes, 'operation' | 'resource' | 'subResource' | 'namespace' | 'name' | 'object'>,
  getNamespaceLabels: NamespaceLabelLookup,
): SelectorVerdict {
  // Kubernetes compares only the resource name here (any group), unlike the scope check above.
  const namespaceResource = attrs.resource.resource === 'namespaces';
  if (attrs.namespace === '' && !namespaceResource) return MATCH;
  if (isEmptySelector(selector)) return MATCH;
  if (namespaceResource && attrs.subResource === '' && (attrs.operation === 'CREATE' || attrs.operation === 'UPDATE')) {
    return evaluate(selector, attrs.object?.metadata.labels);
  }
  const namespace = attrs.namespace !== '' ? attrs.namespace : attrs.name;
  const labels = getNamespaceLabels(namespace);
  if (labels === undefined) return { kind: 'error', error: apiErrors.notFound({ group: '', resource: 'namespaces' }, namespace) };
  return evaluate(selector, labels);
}

/** object.Matcher.MatchObjectSelector: the selector matches the new object or the old one. */
export function matchObjectSelector(selector: LabelSelector, attrs: Pick<AdmissionAttributes, 'object' | 'oldObject'>): SelectorVerdict {
  if (isEmptySelector(selector)) return MATCH;
  let error: ApiError | undefined;
  for (const obj of [attrs.object, attrs.oldObject]) {
    if (obj === undefined) continue;
    const verdict = evaluate(selector, obj.metadata?.labels);
    if (verdict.kind === 'match') return MATCH;
    if (verdict.kind === 'error') error = verdict.error;
  }
  return error === undefined ? NO_MATCH : { kind: 'error', error };
}

/** The webhook fields matching reads; CompiledWebhook has them all. */
export interface MatchableWebhook {
  rules: readonly RuleWithOperations[];
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
}

/**
 * generic.Webhook.ShouldCallHook: true when the webhook applies. A selector error (namespace not found, bad
 * selector) is thrown only when a rule matches, so webhooks that do not apply never fail a request.
 */
export function shouldCallWebhook(webhook: MatchableWebhook, attrs: AdmissionAttributes, getNamespaceLabels: NamespaceLabelLookup): boolean {
  const ns = matchNamespaceSelector(webhook.namespaceSelector, attrs, getNamespaceLabels);
  if (ns.kind === 'no-match') return false;
  const obj = matchObjectSelector(webhook.objectSelector, attrs);
  if (obj.kind === 'no-match') return false;
  if (!matchesAnyRule(webhook.rules, attrs)) return false;
  if (ns.kind === 'error') throw ns.error;
  if (obj.kind === 'error') throw obj.error;
  return true;
}

const ADMISSION_CONFIGURATION_KINDS = new Set([
  'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding',
]);

/** Webhooks never see writes to admission configuration itself, so a broken webhook cannot lock itself in. */
export function isExemptAdmissionConfigurationResource(attrs: Pick<AdmissionAttributes, 'kind'>): boolean {
  return attrs.kind.group === 'admissionregistration.k8s.io' && ADMISSION_CONFIGURATION_KINDS.has(attrs.kind.kind);
}
