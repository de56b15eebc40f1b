/**
 * `kruise-ts sandbox`: one process with an embedded Kubernetes API server (and, as later issues land, the
 * coordinator and emulated nodes). It makes its own CA, applies our CRDs, and writes a kubeconfig.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { parseAllDocuments } from 'yaml';
import type { FeatureGates } from '../api/feature-gates.js';
import type { KubeObject } from '../api/meta.js';
import { ApiServer } from './apiserver/api-server.js';
import { createSandboxPki } from './apiserver/pki.js';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { startAdmissionServer, type AdmissionServer } from '../coordinator/admission/index.js';
import { makeClient } from '../kube/client-config.js';
import type { KubeClient } from '../kube/kube-client.js';
import { VERSION } from '../api/version.js';

export interface SandboxOptions {
  /** API server port on 127.0.0.1; 0 = any free port. @default 6443 */
  port: number;
  /** Where the kubeconfig is written (absolute). */
  kubeconfigPath: string;
  featureGates: FeatureGates;
  logger: Logger;
  /** Folder of CRD manifests to apply at start. @default the repository's deploy/crds */
  crdDir?: string;
  now?: () => Date;
}

export interface Sandbox {
  readonly apiServer: ApiServer;
  /** The coordinator's admission webhooks (deletion protection, CR defaulting and validation). */
  readonly admission: AdmissionServer;
  /** A client of the sandbox's API server, as the sandbox's own components use it. */
  readonly client: KubeClient;
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly caCertPem: string;
  readonly token: string;
  close(): Promise<void>;
}

export const DEFAULT_CRD_DIR = fileURLToPath(new URL('../../../deploy/crds/', import.meta.url));

/** Every object in every .yaml/.yml/.json file of a folder, in file-name order. */
export async function readManifests(dir: string): Promise<KubeObject[]> {
  const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  const out: KubeObject[] = [];
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${join(dir, f)}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as KubeObject | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}

export async function startSandbox(o: SandboxOptions): Promise<Sandbox> {
  const log = o.logger.child({ component: 'sandbox' });
  const now = o.now ?? (() => new Date());
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: now() });
  const token = randomBytes(32).toString('hex');
  const apiServer = await ApiServer.start({
    port: o.port,
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
    tokens: new Map([[token, { username: 'kruise-ts-admin', groups: ['system:masters', 'system:authenticated'] }]]),
    logger: o.logger,
    clock: { now },
  });
  let admission: AdmissionServer | undefined;
  let client: KubeClient | undefined;
  try {
    for (const crd of await readManifests(o.crdDir ?? DEFAULT_CRD_DIR)) {
      await apiServer.applyObject(crd);
      log.debug({ crd: crd.metadata.name }, 'applied CRD');
    }
    await apiServer.idle();
    const kubeconfig = { server: apiServer.url, caCertPem: pki.caCertPem, token };
    const kc = new KubeConfig();
    kc.loadFromString(renderKubeconfig(kubeconfig));
    client = makeClient({ kubeConfig: kc, role: 'sandbox', version: VERSION });
    // The coordinator's webhooks, registered with url clientConfigs, so deletion protection and CR validation
    // behave as on a cluster.
    admission = await startAdmissionServer({
      port: 0, host: '127.0.0.1', gates: o.featureGates, client, registry: new Registry(),
      logger: o.logger.child({ component: 'admission' }), now,
    });
    await writeKubeconfig(o.kubeconfigPath, kubeconfig);
  } catch (e) {
    await admission?.close();
    client?.close();
    await apiServer.close();
    throw e;
  }
  log.info({ url: apiServer.url, webhookPort: admission.port, featureGates: o.featureGates.toString() }, 'sandbox API server serving');
  const adm = admission;
  const kube = client;
  return {
    apiServer,
    admission: adm,
    client: kube,
    url: apiServer.url,
    kubeconfigPath: o.kubeconfigPath,
    caCertPem: pki.caCertPem,
    token,
    close: async () => {
      await adm.close(2000);
      kube.close();
      await apiServer.close();
    },
  };
}
