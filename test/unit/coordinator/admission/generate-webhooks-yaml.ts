/**
 * Regenerates deploy/webhooks.yaml from the webhook table: `node <outDir>/test/unit/coordinator/admission/generate-webhooks-yaml.js`
 * (writes the file next to the repository root it is run from). webhook-configurations.test.ts checks the
 * committed file equals this output.
 */
import { writeFile } from 'node:fs/promises';
import { renderWebhooksYaml } from '../../../../src/coordinator/admission/index.js';

await writeFile(new URL('../../../../../deploy/webhooks.yaml', import.meta.url), renderWebhooksYaml());
