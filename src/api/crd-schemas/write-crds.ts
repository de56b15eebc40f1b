/**
 * Build-time generator: writes `deploy/crds/*.yaml` from the TypeScript schemas. Run after compiling:
 * `node dist/src/api/crd-schemas/write-crds.js` (any outDir works: the repo root is found from package.json).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KRUISE_CRDS, crdFileName, renderCrdYaml } from './crds.js';
import type { KruiseKind } from '../group-version.js';

export function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export function writeCrds(repoRoot: string): string[] {
  const outDir = join(repoRoot, 'deploy', 'crds');
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const kind of Object.keys(KRUISE_CRDS) as KruiseKind[]) {
    const file = join(outDir, crdFileName(kind));
    writeFileSync(file, renderCrdYaml(kind));
    written.push(file);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
  for (const f of writeCrds(root)) process.stdout.write(`wrote ${f}\n`);
}
