import type { Node, NodeAPI, NodeDef } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { Ssh2SftpUploader } from '../../adapters/sftp';
import type { SftpLoginOptions } from '../../adapters/sftp';
import { HttpsX12Delivery, SftpX12Delivery } from '../../adapters/x12';
import type { X12Delivery } from '../../adapters/x12';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { pemText } from '../mllp-endpoint/pem-text';
import { envSetting, secretSetting } from '../shared/env-setting';
import type { ClearinghouseNode } from './clearinghouse-node';

interface ClearinghouseDef extends NodeDef {
  transport: 'sftp' | 'https';
  host: string;
  port: string | number;
  username: string;
  remoteDir: string;
  tempDir: string;
  hostKeySha256: string;
  url: string;
  timeout: string | number;
  maxAttempts: string | number;
  /**
   * `sftp://user@host[:port]/remote/dir` or `https://…`, typically
   * `${HUB_CLEARINGHOUSE_URL}`: when set it chooses the transport and
   * replaces the host, port, user, directory and URL fields.
   */
  endpointUrl?: string;
  /** Environment variables (HUB_CLEARINGHOUSE_…) for secrets whose credential is empty. */
  passwordEnv?: string;
  privateKeyEnv?: string;
  tokenEnv?: string;
  caEnv?: string;
}

interface ClearinghouseCredentials {
  privateKey?: string;
  passphrase?: string;
  password?: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * Config node for a claims clearinghouse: an SFTP inbox (key login, pinned
 * host key, atomic temp-then-rename uploads) or an HTTPS submission API
 * (bearer token, private CA, optional client certificate). Owns the
 * delivery adapter; secrets are credentials only.
 */
export = function init(RED: NodeAPI): void {
  function Clearinghouse(this: Node, def: ClearinghouseDef): void {
    RED.nodes.createNode(this, def);
    const node = this as ClearinghouseNode;
    const logger = nodeLogger(node);
    const users = new Set<Node>();
    let settings: ClearinghouseDef = def;
    let credentials = (node.credentials ?? {}) as ClearinghouseCredentials;
    node.transport = def.transport === 'https' ? 'https' : 'sftp';
    node.storeName = def.name || 'clearinghouse';
    node.delivery = undefined;
    node.sftpLogin = undefined;
    node.problem = 'not-configured';

    try {
      settings = fromEndpointUrl(def);
      credentials = withEnvSecrets(def, credentials);
      node.transport = settings.transport === 'https' ? 'https' : 'sftp';
      node.storeName = def.name || (node.transport === 'https' ? hostOf(settings.url) : (settings.host ?? '').trim()) || 'clearinghouse';
      node.sftpLogin = node.transport === 'sftp' ? sftpLogin(settings, credentials) : undefined;
      const delivery = node.transport === 'https' ? httpsDelivery(settings, credentials, logger) : sftpDelivery(settings, node.sftpLogin, logger);
      if (delivery) {
        node.delivery = delivery;
        node.problem = undefined;
      }
    } catch (err) {
      node.problem = 'invalid';
      // Constructor errors name the setting, never a secret.
      node.warn(RED._('clearinghouse.errors.config', { reason: err instanceof Error ? err.message : String(err) }));
    }

    node.register = (user: Node): void => {
      users.add(user);
    };
    node.deregister = async (user: Node): Promise<void> => {
      users.delete(user);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      const delivery = node.delivery;
      node.delivery = undefined;
      Promise.resolve(delivery?.close())
        .catch((err: unknown) => node.warn(RED._('clearinghouse.errors.close', { code: errorCode(err) })))
        .finally(done);
    });
  }

  RED.nodes.registerType('clearinghouse', Clearinghouse, {
    credentials: {
      privateKey: { type: 'password' },
      passphrase: { type: 'password' },
      password: { type: 'password' },
      token: { type: 'password' },
      ca: { type: 'password' },
      cert: { type: 'password' },
      key: { type: 'password' },
    },
  });
};

/** The settings with `endpointUrl` applied; unchanged when it is empty (or an unset `${VAR}`). */
function fromEndpointUrl(def: ClearinghouseDef): ClearinghouseDef {
  const raw = envSetting(def.endpointUrl);
  const pin = envSetting(def.hostKeySha256);
  if (raw === '') return { ...def, hostKeySha256: pin };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // The URL may carry a user name: name the setting only.
    throw new Error('the clearinghouse URL is not a URL');
  }
  if (url.protocol === 'https:' || url.protocol === 'http:') return { ...def, transport: 'https', url: raw, hostKeySha256: pin };
  if (url.protocol !== 'sftp:') throw new Error(`the clearinghouse URL must be sftp:// or https://, got ${url.protocol}`);
  if (url.password) throw new Error('the clearinghouse URL must not carry a password; use HUB_CLEARINGHOUSE_PASSWORD');
  return {
    ...def,
    transport: 'sftp',
    host: url.hostname,
    port: url.port || 22,
    username: decodeURIComponent(url.username),
    remoteDir: decodeURIComponent(url.pathname) || '/',
    hostKeySha256: pin,
  };
}

function withEnvSecrets(def: ClearinghouseDef, c: ClearinghouseCredentials): ClearinghouseCredentials {
  const prefix = 'HUB_CLEARINGHOUSE_';
  const password = secretSetting(c.password, def.passwordEnv, prefix);
  const privateKey = secretSetting(c.privateKey, def.privateKeyEnv, prefix);
  const token = secretSetting(c.token, def.tokenEnv, prefix);
  const ca = secretSetting(c.ca, def.caEnv, prefix);
  return { ...c, ...(password ? { password } : {}), ...(privateKey ? { privateKey } : {}), ...(token ? { token } : {}), ...(ca ? { ca } : {}) };
}

/** The SFTP login; undefined when the settings are incomplete (not configured yet). */
function sftpLogin(def: ClearinghouseDef, c: ClearinghouseCredentials): SftpLoginOptions | undefined {
  const host = (def.host ?? '').trim();
  const username = (def.username ?? '').trim();
  const privateKey = pemText(c.privateKey);
  const pin = (def.hostKeySha256 ?? '').trim();
  if (!host || !username || !pin || (!privateKey && !c.password)) return undefined;
  const port = number(def.port, 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port must be 1-65535, got ${String(def.port)}`);
  if (!/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/.test(pin)) throw new Error('host key pin must be the SHA256 fingerprint ssh-keygen -lf prints');
  return {
    host,
    port,
    username,
    ...(privateKey ? { privateKey } : {}),
    ...(c.passphrase ? { passphrase: c.passphrase } : {}),
    ...(c.password ? { password: c.password } : {}),
    hostKeySha256: pin,
    connectTimeoutMs: number(def.timeout, 10_000),
  };
}

/** Undefined when the SFTP settings are incomplete (not configured yet). */
function sftpDelivery(def: ClearinghouseDef, login: SftpLoginOptions | undefined, logger: ReturnType<typeof nodeLogger>): X12Delivery | undefined {
  const remoteDir = (def.remoteDir ?? '').trim();
  if (!login || !remoteDir) return undefined;
  const uploader = new Ssh2SftpUploader(
    { ...login, remoteDir, ...(def.tempDir?.trim() ? { tempDir: def.tempDir.trim() } : {}), maxAttempts: number(def.maxAttempts, 4) },
    { logger },
  );
  return new SftpX12Delivery(uploader);
}

function httpsDelivery(def: ClearinghouseDef, c: ClearinghouseCredentials, logger: ReturnType<typeof nodeLogger>): X12Delivery | undefined {
  const url = (def.url ?? '').trim();
  if (!url) return undefined;
  const ca = pemText(c.ca);
  const cert = pemText(c.cert);
  const key = pemText(c.key);
  if (Boolean(cert) !== Boolean(key)) throw new Error('a client certificate needs its private key, and a key its certificate');
  return new HttpsX12Delivery(
    {
      url,
      ...(c.token ? { bearerToken: c.token } : {}),
      ...(ca || cert ? { tls: { ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}) } } : {}),
      timeoutMs: number(def.timeout, 30_000),
      maxAttempts: number(def.maxAttempts, 3),
    },
    { logger },
  );
}

function hostOf(url: string | undefined): string {
  try {
    return new URL(url ?? '').host;
  } catch {
    return '';
  }
}

function number(value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === null || String(value).trim() === '') return fallback;
  return Number(value);
}
