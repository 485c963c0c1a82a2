import type { Node, NodeAPI, NodeDef } from 'node-red';
import { BearerTokenAuth, ClientCredentialsAuth, EmrEventReceiver, FhirRestClient, InMemoryReplayGuard, WebhookVerifier } from '../../adapters/emr';
import type { FhirAuth } from '../../adapters/emr';
import { errorCode } from '../../adapters/shared/errors';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { envSetting, secretSetting } from '../shared/env-setting';
import type { ConfigProblem, EmrServerNode } from './emr-server-node';

interface EmrServerDef extends NodeDef {
  baseUrl: string;
  authType: 'none' | 'bearer' | 'oauth';
  tokenUrl: string;
  clientId: string;
  scope: string;
  authMethod: 'basic' | 'post';
  timeout: string | number;
  maxAttempts: string | number;
  signatureHeader: string;
  tolerance: string | number;
  /** Names of environment variables (`HUB_EMR_…`) read when the matching credential is empty. */
  bearerTokenEnv?: string;
  clientSecretEnv?: string;
  webhookSecretEnv?: string;
}

interface EmrServerCredentials {
  bearerToken?: string;
  clientSecret?: string;
  webhookSecret?: string;
  webhookSecretNext?: string;
  webhookToken?: string;
}

/**
 * Accepted EMR signatures, shared by every emr-server node of the process:
 * a redeploy within the 300 s window must not let a captured request in again.
 */
const replayGuard = new InMemoryReplayGuard();

/**
 * Config node for the EMR core: the FHIR R4 base URL with bearer or OAuth2
 * client-credentials auth (emr-out), and the secrets that authenticate the
 * EMR's signed events (emr-in). Secrets are credentials only. A part that is
 * not filled in is "not configured", never a crash: the users show it.
 */
export = function init(RED: NodeAPI): void {
  function EmrServer(this: Node, def: EmrServerDef): void {
    RED.nodes.createNode(this, def);
    const node = this as EmrServerNode;
    const logger = nodeLogger(node);
    const users = new Set<Node>();
    const baseUrl = envSetting(def.baseUrl);
    node.storeName = def.name || hostOf(baseUrl) || 'emr';

    const configError = (part: string, err: unknown): ConfigProblem => {
      // Constructor errors name the bad setting, never a secret.
      node.warn(RED._('emr-server.errors.config', { part, reason: err instanceof Error ? err.message : String(err) }));
      return 'invalid';
    };

    let credentials: EmrServerCredentials;
    try {
      credentials = credentialsOf(def, (node.credentials ?? {}) as EmrServerCredentials);
    } catch (err) {
      configError('environment', err);
      credentials = {};
    }

    node.fhir = undefined;
    node.fhirProblem = 'not-configured';
    if (baseUrl !== '') {
      try {
        const auth = fhirAuth(def, credentials, logger);
        if (auth !== null) {
          node.fhir = new FhirRestClient(
            { baseUrl, timeoutMs: positive(def.timeout, 15_000), maxAttempts: positive(def.maxAttempts, 3) },
            { ...(auth ? { auth } : {}), logger },
          );
          node.fhirProblem = undefined;
        }
      } catch (err) {
        node.fhirProblem = configError('FHIR', err);
      }
    }

    node.receiver = undefined;
    node.receiverProblem = 'not-configured';
    const secrets = [credentials.webhookSecret, credentials.webhookSecretNext].filter((s): s is string => typeof s === 'string' && s.length > 0);
    const tokens = credentials.webhookToken ? [credentials.webhookToken] : [];
    if (secrets.length > 0 || tokens.length > 0) {
      try {
        const verifier = new WebhookVerifier(
          { secrets, tokens, signatureHeader: def.signatureHeader?.trim() || undefined, toleranceSeconds: positive(def.tolerance, 300) },
          { replayGuard },
        );
        node.receiver = new EmrEventReceiver(verifier, { logger });
        node.receiverProblem = undefined;
      } catch (err) {
        node.receiverProblem = configError('webhook', err);
      }
    }

    node.register = (user: Node): void => {
      users.add(user);
    };
    node.deregister = async (user: Node): Promise<void> => {
      users.delete(user);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      const fhir = node.fhir;
      node.fhir = undefined;
      Promise.resolve(fhir?.close())
        .catch((err: unknown) => node.warn(RED._('emr-server.errors.close', { code: errorCode(err) })))
        .finally(done);
    });
  }

  RED.nodes.registerType('emr-server', EmrServer, {
    credentials: {
      bearerToken: { type: 'password' },
      clientSecret: { type: 'password' },
      webhookSecret: { type: 'password' },
      webhookSecretNext: { type: 'password' },
      webhookToken: { type: 'password' },
    },
  });
};

/**
 * Credentials, each falling back to the `HUB_EMR_…` variable its `…Env`
 * property names: flows shipped in `flows/` carry no secret.
 */
function credentialsOf(def: EmrServerDef, c: EmrServerCredentials): EmrServerCredentials {
  return {
    ...c,
    bearerToken: secretSetting(c.bearerToken, def.bearerTokenEnv, 'HUB_EMR_'),
    clientSecret: secretSetting(c.clientSecret, def.clientSecretEnv, 'HUB_EMR_'),
    webhookSecret: secretSetting(c.webhookSecret, def.webhookSecretEnv, 'HUB_EMR_'),
  };
}

/** Undefined: no auth; null: auth chosen but its secret not entered yet (not configured). */
function fhirAuth(def: EmrServerDef, credentials: EmrServerCredentials, logger: ReturnType<typeof nodeLogger>): FhirAuth | undefined | null {
  if (def.authType === 'bearer') return credentials.bearerToken ? new BearerTokenAuth(credentials.bearerToken) : null;
  if (def.authType === 'oauth') {
    const tokenUrl = envSetting(def.tokenUrl);
    const clientId = envSetting(def.clientId);
    if (!tokenUrl || !clientId || !credentials.clientSecret) return null;
    new URL(tokenUrl);
    return new ClientCredentialsAuth(
      { tokenUrl, clientId, clientSecret: credentials.clientSecret, ...(def.scope?.trim() ? { scope: def.scope.trim() } : {}), authMethod: def.authMethod === 'post' ? 'post' : 'basic' },
      { logger },
    );
  }
  return undefined;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** Editor number fields arrive as strings; blank or nonsense means the default. */
function positive(value: string | number | undefined, fallback: number): number {
  const n = Number(value);
  return value === undefined || value === null || String(value).trim() === '' || !Number.isFinite(n) || n <= 0 ? fallback : Math.floor(n);
}
