/**
 * The subset of Kubernetes JSONPath that printer columns use: `.a.b`, `[n]`, `[*]`, and filters
 * `[?(@.key=="value")]`. Several results are joined with commas, as kubectl prints them.
 */

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

export function compileJsonPath(expr: string): (obj: unknown) => unknown[] {
  const steps = parse(expr.trim().replace(/^\{|\}$/g, ''));
  return (obj) => {
    let current: unknown[] = [obj];
    for (const step of steps) {
      const next: unknown[] = [];
      for (const v of current) {
        if (v === null || v === undefined) continue;
        if ('field' in step) {
          if (typeof v === 'object' && !Array.isArray(v)) {
            const x = (v as Record<string, unknown>)[step.field];
            if (x !== undefined) next.push(x);
          }
        } else if ('index' in step) {
          if (Array.isArray(v)) {
            const x = v[step.index < 0 ? v.length + step.index : step.index];
            if (x !== undefined) next.push(x);
          }
        } else if ('all' in step) {
          if (Array.isArray(v)) next.push(...v);
          else if (typeof v === 'object') next.push(...Object.values(v as object));
        } else {
          const items = Array.isArray(v) ? v : [v];
          for (const item of items) {
            let x: unknown = item;
            for (const p of step.filter.path) x = x && typeof x === 'object' ? (x as Record<string, unknown>)[p] : undefined;
            if (x !== undefined && String(x) === step.filter.value) next.push(item);
          }
        }
      }
      current = next;
    }
    return current;
  };
}

function parse(expr: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '.') {
      i++;
      let j = i;
      while (j < expr.length && expr[j] !== '.' && expr[j] !== '[') j++;
      const name = expr.slice(i, j);
      if (name !== '') steps.push({ field: name });
      i = j;
    } else if (c === '[') {
      const end = expr.indexOf(']', i);
      if (end < 0) throw new Error(`unterminated [ in JSONPath ${expr}`);
      const inner = expr.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (inner.startsWith('?(')) {
        const m = /^\?\(@\.([\w.-]+)\s*==\s*["']?([^"')]*)["']?\)$/.exec(inner);
        if (!m) throw new Error(`unsupported JSONPath filter ${inner}`);
        steps.push({ filter: { path: m[1]!.split('.'), value: m[2]! } });
      } else if (/^['"].*['"]$/.test(inner)) steps.push({ field: inner.slice(1, -1) });
      else throw new Error(`unsupported JSONPath segment [${inner}]`);
    } else if (c === '$' || c === '@') {
      i++;
    } else {
      // A path without a leading dot (`spec.replicas`).
      let j = i;
      while (j < expr.length && expr[j] !== '.' && expr[j] !== '[') j++;
      steps.push({ field: expr.slice(i, j) });
      i = j;
    }
  }
  return steps;
}
