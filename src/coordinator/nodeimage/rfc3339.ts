/**
 * Times on the wire are RFC 3339 strings with whole seconds (metav1.Time); planners take `now` as epoch ms and
 * turn it into a string only when they write one, so tests pass plain numbers.
 */

/** `metav1.Time` serialisation: whole seconds, UTC, `Z`. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Epoch ms of an RFC 3339 string, or undefined when absent or unparsable (treated as "not set"). */
export function parseTime(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
