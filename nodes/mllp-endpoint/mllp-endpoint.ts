import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Hl7Sender, type Hl7SenderOptions, type PoolState } from '../../adapters/hl7-send';
import { errorCode } from '../../adapters/shared/errors';
import { setStatus } from '../shared/status';
import { envSetting } from '../shared/env-setting';
import type { MllpEndpointNode } from './mllp-endpoint-node';
import { nodeLogger } from './node-logger';
import { pemText } from './pem-text';

interface MllpEndpointDef extends NodeDef {
  host: string;
  port: string | number;
  tls: boolean;
  servername: string;
  verifyServer: boolean;
  connections: string | number;
  ackTimeout: string | number;
  reconnectMin: string | number;
  reconnectMax: string | number;
  aeRetryable: boolean;
}

interface MllpEndpointCredentials {
  ca?: string;
  cert?: string;
  key?: string;
}

const DEFAULTS = { connections: 1, ackTimeoutMs: 30_000, reconnectMinMs: 1000, reconnectMaxMs: 30_000 };

/**
 * Config node for one outbound MLLP receiver. It owns the Hl7Sender (its
 * pool of connections), opens it when the first user registers, pushes the
 * connection state to every user, and closes it in its own close handler.
 * TLS material comes from credentials only.
 */
export = function init(RED: NodeAPI): void {
  function MllpEndpoint(this: Node, def: MllpEndpointDef): void {
    RED.nodes.createNode(this, def);
    const node = this as MllpEndpointNode;
    const users = new Set<Node>();
    const credentials = (node.credentials ?? {}) as MllpEndpointCredentials;
    node.storeName = def.name || `${def.host}:${def.port}`;

    let sender: Hl7Sender | undefined;
    // A host or port left as an unset `${HUB_…}` reference is "not configured": shown, never an error.
    const configured = envSetting(def.host) !== '' && envSetting(def.port) !== '';
    try {
      if (configured) sender = new Hl7Sender(senderOptions({ ...def, host: envSetting(def.host), port: envSetting(def.port) }, credentials), { logger: nodeLogger(node) });
    } catch (err) {
      // Constructor errors name the bad setting, never a secret.
      node.error(RED._('mllp-endpoint.errors.config', { reason: err instanceof Error ? err.message : String(err) }));
    }
    node.sender = sender;

    const describeState = (state: PoolState): ['idle' | 'connecting' | 'connected' | 'error', string] => {
      switch (state.state) {
        case 'connected':
          return [
            'connected',
            state.connections > 1
              ? RED._('mllp-endpoint.status.connected-n', { connected: state.connected, connections: state.connections })
              : RED._('mllp-endpoint.status.connected'),
          ];
        case 'connecting':
          return ['connecting', RED._('mllp-endpoint.status.connecting')];
        case 'disconnected':
          return [
            'error',
            state.errorCode
              ? RED._('mllp-endpoint.status.disconnected-code', { code: state.errorCode })
              : RED._('mllp-endpoint.status.disconnected'),
          ];
        default:
          return ['idle', ''];
      }
    };
    const push = (user: Node): void => {
      if (!sender) {
        setStatus(user, 'error', RED._(configured ? 'mllp-endpoint.status.config-error' : 'mllp-endpoint.status.not-configured'));
        return;
      }
      const state = sender.state;
      const [kind, text] = describeState(state);
      if (kind === 'idle') setStatus(user, 'idle');
      else setStatus(user, kind, text);
    };
    sender?.on('state', () => {
      for (const user of users) push(user);
    });

    node.register = (user: Node): void => {
      users.add(user);
      if (users.size === 1) sender?.start();
      push(user);
    };

    node.deregister = async (user: Node): Promise<void> => {
      users.delete(user);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      if (!sender) {
        done();
        return;
      }
      sender
        .close()
        .catch((err: unknown) => node.warn(RED._('mllp-endpoint.errors.close', { code: errorCode(err) })))
        .finally(done);
    });
  }

  RED.nodes.registerType('mllp-endpoint', MllpEndpoint, {
    credentials: {
      ca: { type: 'password' },
      cert: { type: 'password' },
      key: { type: 'password' },
    },
  });
};

function senderOptions(def: MllpEndpointDef, credentials: MllpEndpointCredentials): Hl7SenderOptions {
  const reconnectMin = integer(def.reconnectMin, DEFAULTS.reconnectMinMs);
  const reconnectMax = integer(def.reconnectMax, DEFAULTS.reconnectMaxMs);
  if (reconnectMax < reconnectMin) throw new Error(`reconnect maximum (${reconnectMax} ms) is below the minimum (${reconnectMin} ms)`);
  const options: Hl7SenderOptions = {
    host: (def.host ?? '').trim(),
    port: integer(def.port, NaN),
    connections: integer(def.connections, DEFAULTS.connections),
    ackTimeoutMs: integer(def.ackTimeout, DEFAULTS.ackTimeoutMs),
    reconnect: { initialDelayMs: reconnectMin, maxDelayMs: reconnectMax },
    aeRetryable: def.aeRetryable === true,
  };
  if (def.tls) {
    const cert = pemText(credentials.cert);
    const key = pemText(credentials.key);
    if (Boolean(cert) !== Boolean(key)) throw new Error('a client certificate needs its private key, and a key its certificate');
    const ca = pemText(credentials.ca);
    options.tls = {
      ...(ca ? { ca } : {}),
      ...(cert && key ? { cert, key } : {}),
      ...(def.servername?.trim() ? { servername: def.servername.trim() } : {}),
      rejectUnauthorized: def.verifyServer !== false,
    };
  }
  return options;
}

/** Editor number fields arrive as strings; blank means the default. */
function integer(value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === null || String(value).trim() === '') return fallback;
  return Number(value);
}
