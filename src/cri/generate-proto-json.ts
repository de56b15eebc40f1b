/**
 * Writes the CRI proto's precompiled descriptor, `proto/cri/runtime/v1/api.json`, which `loadCriProto` reads instead
 * of parsing the `.proto` at start-up (`proto-loading.ts` says why). Run it after changing `api.proto` and commit both:
 *
 *   npm run build && node dist/src/cri/generate-proto-json.js
 *
 * The JSON is protobufjs's `Root.toJSON()` of the proto parsed the way `@grpc/proto-loader` parses it with our
 * options (`keepCase: false`, so the field names are already camelCase). `test/unit/cri/proto-json.test.ts` fails
 * while the committed file differs from what this produces. This is a developer tool: nothing at run time imports it,
 * so the full protobufjs build (with the parser) stays off the agent's path.
 */
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { CRI_LOADER_OPTIONS, criProtoJsonPath, findCriProtoPath } from './proto-loading.js';

/** The descriptor for `protoPath` as committed: two-space indented JSON with a final newline. */
export function generateCriProtoJson(protoPath: string = findCriProtoPath()): string {
  // proto-loader hands its options to `Root.loadSync`; of them only `keepCase` changes what is parsed.
  const root = new protobuf.Root().loadSync(protoPath, { keepCase: CRI_LOADER_OPTIONS.keepCase === true });
  root.resolveAll();
  return `${JSON.stringify(root.toJSON(), null, 2)}\n`;
}

/** Writes the descriptor next to the proto and returns its path. */
export function writeCriProtoJson(protoPath: string = findCriProtoPath()): string {
  const jsonPath = criProtoJsonPath(protoPath);
  writeFileSync(jsonPath, generateCriProtoJson(protoPath));
  return jsonPath;
}

// Run as a script (`node dist/src/cri/generate-proto-json.js`), not when a test imports it.
const script = process.argv[1];
if (script !== undefined && existsSync(script) && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))) {
  process.stdout.write(`wrote ${writeCriProtoJson()}\n`);
}
