import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { get, parse } from '../../adapters/hl7';
import { frame, MllpDecoder } from '../../adapters/mllp';
import { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import { HealthRegistry } from '../../adapters/shared/health-registry';
import type { Logger, LogMeta } from '../../adapters/shared/logger';
import { clearHubServices, setHubServices } from '../../adapters/shared/registry';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { ageRecord } from './age-record';
import type { FlowNode, NodeInit } from './node-red-helper';
import { testStoreKeys } from './store-keys';
import { pollUntil } from './poll';

/**
 * Shared pieces for the MLLP intake node and integration tests: hub services
 * with a real SQLite store, Node-RED core nodes the helper does not preload,
 * a controllable "test-step" node, and raw MLLP clients.
 */

/** Every log line, so tests can search it for PHI. */
export class CapturingLogger implements Logger {
  readonly lines: { level: string; message: string; meta?: LogMeta }[] = [];
  debug = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'debug', message, meta });
  info = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'info', message, meta });
  warn = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'warn', message, meta });
  error = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'error', message, meta });
}

export interface TestHub {
  store: EncryptedMessageStore;
  logger: CapturingLogger;
  health: HealthRegistry;
  reprocessors: ReprocessRegistry;
  /**
   * Makes a stored record look last touched `ms` ago, as a crashed run's
   * leftover would (the store itself stamps every write with the time of the write).
   */
  age(id: string, ms: number): void;
  close(): Promise<void>;
}

/** A real SQLite store behind setHubServices(); close() restores the seam. */
export async function startTestHub(): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-mllp-'));
  const store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
  const logger = new CapturingLogger();
  const health = new HealthRegistry();
  const reprocessors = new ReprocessRegistry();
  setHubServices({ store, logger, health, reprocessors });
  return {
    store,
    logger,
    health,
    reprocessors,
    age(id, ms) {
      ageRecord(dir, id, ms);
    },
    async close() {
      clearHubServices();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The test helper's RED has no `hooks` (its mock runtime leaves them out);
 * the real runtime passes @node-red/util's hooks, which is what Node.js and
 * Flow.js trigger, so hand the same module to the node under test.
 */
export function withHooks(init: NodeInit): NodeInit {
  return (RED: NodeAPI) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (!RED.hooks) (RED as { hooks: unknown }).hooks = (require('@node-red/util') as { hooks: unknown }).hooks;
    init(RED);
  };
}

/** Core node modules the helper does not preload (it only knows catch, status and complete). */
export function coreNodes(...files: string[]): NodeInit[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return files.map((f) => require(`@node-red/nodes/core/${f}`) as NodeInit);
}
export const SWITCH = 'function/10-switch.js';
export const DEBUG = 'common/21-debug.js';
export const LINK = 'common/60-link.js';

/**
 * `test-step`: a node whose behaviour the test decides per msg. Each input is
 * announced on `steps` ('input', msg, node id) and then handled by the
 * behaviour registered for the node id (default: pass it on and complete).
 */
export const steps = new EventEmitter();
export type StepBehaviour = (msg: NodeMessage & Record<string, unknown>, send: (m: NodeMessage) => void, done: (err?: Error) => void) => void;
const behaviours = new Map<string, StepBehaviour>();
export function stepBehaviour(nodeId: string, behaviour: StepBehaviour | undefined): void {
  if (behaviour) behaviours.set(nodeId, behaviour);
  else behaviours.delete(nodeId);
}
export const testStepNode: NodeInit = (RED) => {
  function TestStep(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    this.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      steps.emit('input', msg, this.id);
      const behaviour = behaviours.get(this.id);
      if (behaviour) behaviour(msg, send, done);
      else {
        send(msg);
        done();
      }
    });
  }
  RED.nodes.registerType('test-step', TestStep);
};

/** A listener config node for test flows: loopback, port 0, and whatever else the test sets. */
export function listenerNode(id: string, settings: Record<string, unknown> = {}): FlowNode {
  return {
    id,
    type: 'mllp-listener',
    name: '',
    host: '127.0.0.1',
    port: '0',
    endpoint: 'test-intake',
    ackMode: 'after-commit',
    processingTimeoutMs: '10000',
    duplicateWindowMs: '0',
    enhancedAcks: true,
    charset: '',
    maxFrameBytes: '',
    idleTimeoutMs: '0',
    maxConnections: '',
    allowedPeers: '',
    tls: false,
    requireClientCert: false,
    keyFile: '',
    certFile: '',
    caFile: '',
    ...settings,
  };
}

/** MSA-1 and MSA-2 of a response (ACK or batch of ACKs: the first MSA). */
export function msaOf(response: Buffer): { code: string; controlId: string } {
  const text = response.toString('latin1');
  const at = text.indexOf('MSH');
  const end = text.search(/\r(BTS|FTS)/);
  const ack = parse(text.slice(at, end > at ? end + 1 : undefined));
  return { code: get(ack, 'MSA-1') ?? '', controlId: get(ack, 'MSA-2') ?? '' };
}

/**
 * One raw MLLP connection: write any bytes (framed or not, split anyhow),
 * read response frames in order.
 */
export class RawMllp {
  private readonly frames: Buffer[] = [];
  private readonly waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private closedError: Error | undefined;
  private readonly decoder = new MllpDecoder({ frame: (payload) => this.onFrame(payload) });

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closedError = new Error('connection closed');
      for (const w of this.waiting.splice(0)) w.reject(this.closedError);
    });
  }

  /** @param tls - TLS options; omitted for plain TCP */
  static open(port: number, tls?: ConnectionOptions): Promise<RawMllp> {
    return new Promise((resolve, reject) => {
      const socket = tls ? tlsConnect({ host: '127.0.0.1', port, ...tls }, () => resolve(new RawMllp(socket))) : connect({ host: '127.0.0.1', port }, () => resolve(new RawMllp(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Frame and write one payload. */
  send(payload: Buffer | string): void {
    this.socket.write(frame(payload));
  }

  /** Send one payload and wait for the next response frame. */
  async request(payload: Buffer | string): Promise<Buffer> {
    this.send(payload);
    return this.next();
  }

  next(): Promise<Buffer> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Resolves when the server has closed the connection. */
  closed(): Promise<void> {
    if (this.socket.destroyed || this.closedError) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  close(): void {
    this.socket.destroy();
  }

  private onFrame(payload: Buffer): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(payload);
    else this.frames.push(payload);
  }
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all made with the openssl CLI for this run. */
export interface TestPki {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** A client certificate from another CA: must be refused. */
  strangerKey: string;
  strangerCert: string;
  dir: string;
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'hub-pki-'));
  const p = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  // EC keys: quick to generate, so the PKI can be made fresh for every run.
  const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const ca = (name: string): void => ssl('req', '-x509', ...KEY, '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.pem`));
  const leaf = (name: string, signer: string, ext: string): void => {
    ssl('req', ...KEY, '-nodes', '-subj', `/CN=${name}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
    writeFileSync(p(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p(`${signer}.pem`), '-CAkey', p(`${signer}.key`), '-CAcreateserial', '-days', '1', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`));
  };
  ca('test-ca');
  ca('stranger-ca');
  leaf('server', 'test-ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'test-ca', 'extendedKeyUsage=clientAuth\n');
  leaf('stranger', 'stranger-ca', 'extendedKeyUsage=clientAuth\n');
  const read = (name: string): string => readFileSync(p(name), 'utf8');
  return {
    dir,
    ca: read('test-ca.pem'),
    serverKey: read('server.key'),
    serverCert: read('server.pem'),
    clientKey: read('client.key'),
    clientCert: read('client.pem'),
    strangerKey: read('stranger.key'),
    strangerCert: read('stranger.pem'),
  };
}

/** Wait until `condition` holds (see pollUntil). */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await pollUntil(what, condition, { timeoutMs, intervalMs: 2 });
}
