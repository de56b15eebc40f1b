/**
 * Building field paths the way apimachinery's `field.Path` prints them: `.child`, `[key]` for map keys and
 * `[0]` for indexes (`spec.versions[0].schema.openAPIV3Schema.properties[spec]`).
 */
export const fieldPath = {
  child: (parent: string, ...names: string[]): string =>
    names.reduce((p, n) => (p === '' ? n : `${p}.${n}`), parent),
  key: (parent: string, key: string): string => `${parent}[${key}]`,
  index: (parent: string, i: number): string => `${parent}[${i}]`,
};

/** JSON value type guard for plain objects (not arrays, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
