import { readFileSync } from 'node:fs';
import type { Node, NodeAPI } from 'node-red';
import { isSupportedCharset } from '../../adapters/hl7';
import { ACK_MODES, Hl7Intake, PROCESSING_TIMEOUT_MS } from '../../adapters/hl7-intake';
import type { Hl7IntakeOptions } from '../../adapters/hl7-intake';
import { MAX_FRAME_BYTES, MllpServer } from '../../adapters/mllp';
import type { MllpServerOptions, MllpServerTlsOptions } from '../../adapters/mllp';
import { errorCode } from '../../adapters/shared/errors';
import { getHubServices, metricsOf } from '../../adapters/shared/registry';
import { ListenerReadiness } from '../shared/listener-readiness';
import { setStatus } from '../shared/status';
import type { MllpListenerCredentials, MllpListenerDef, MllpListenerNode, MllpPeer } from './types';

type ListenerSettings = { server: MllpServerOptions; intake: Hl7IntakeOptions };
/** One listening session: recreated when the first user registers after the last one left. */
type Running = { server: MllpServer; intake: Hl7Intake; peers: Map<number, MllpPeer>; listening: Promise<void>; unregister: () => void };

/**
 * Config node for an inbound MLLP port. It owns the MllpServer and the
 * Hl7Intake behind it; mllp-in nodes register to receive messages, hl7-ack
 * nodes answer through it. Only this node reads the TLS credentials.
 */
export = function init(RED: NodeAPI): void {
  function MllpListener(this: MllpListenerNode, def: MllpListenerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const users = new Map<string, { user: Node; unsubscribe: () => void }>();
    const healthName = `mllp-listener:${def.name || node.id}`;
    let settings: ListenerSettings | undefined;
    let configError: Error | undefined;
    try {
      settings = readSettings(def, node.credentials ?? {}, node.id);
    } catch (err) {
      configError = err as Error;
      node.error(RED._('mllp-listener.errors.config', { message: (err as Error).message }));
    }

    let running: Running | undefined;
    let stopping: Promise<void> = Promise.resolve();
    let failure: string | undefined;

    // Readiness (/readyz) while the listener is in use: failing until it listens and whenever it cannot.
    const readiness = new ListenerReadiness(healthName, 'MLLP listener', () => (configError ? 'CONFIG' : failure), () => running?.server.port !== undefined);

    const statusAll = (): void => {
      for (const { user } of users.values()) {
        if (failure) setStatus(user, 'error', RED._('mllp-listener.status.error', { code: failure }));
        else if (running?.server.port !== undefined) {
          setStatus(user, 'connected', RED._('mllp-listener.status.listening', { port: running.server.port, count: running.peers.size }));
        } else setStatus(user, 'connecting', RED._('mllp-listener.status.starting'));
      }
    };

    const start = (): void => {
      if (running || !settings) return;
      failure = undefined;
      let services;
      try {
        services = getHubServices();
      } catch (err) {
        failure = 'NO_HUB';
        node.error(err);
        statusAll();
        return;
      }
      readiness.watch(services.health);
      let intake: Hl7Intake;
      let server: MllpServer;
      const metrics = metricsOf(services);
      const endpoint = settings.intake.endpoint;
      try {
        intake = new Hl7Intake(settings.intake, { store: services.store, logger: services.logger, metrics });
        server = new MllpServer(settings.server, intake.handle, { logger: services.logger });
      } catch (err) {
        // Option checks the adapters make themselves (peer list syntax, TLS material).
        failure = errorCode(err);
        node.error(RED._('mllp-listener.errors.config', { message: (err as Error).message }));
        statusAll();
        return;
      }
      const peers = new Map<number, MllpPeer>();
      server.on('connection', (info) => {
        peers.set(info.connectionId, { connectionId: info.connectionId, remoteAddress: info.remoteAddress, remotePort: info.remotePort, connectedAt: new Date() });
        metrics.connections(endpoint, peers.size);
        statusAll();
      });
      server.on('disconnect', (info) => {
        peers.delete(info.connectionId);
        metrics.connections(endpoint, peers.size);
        statusAll();
      });
      // Listener failures after bind, and frame handler rejections: identifiers only.
      server.on('error', (err) => node.warn(RED._('mllp-listener.errors.server', { code: errorCode(err) })));
      // Its records carry this node's id: an operator's reprocess (REST API) finds the intake through it.
      const unregister = services.reprocessors?.register(node.id, (record) => intake.reprocess(record)) ?? (() => undefined);
      const current: Running = { server, intake, peers, listening: Promise.resolve(), unregister };
      running = current;
      // Once every node of the deploy is running (a message sent earlier could meet a node not yet started):
      // what a previous run accepted and never saw through the flow goes through it now.
      RED.events.once('flows:started', () => {
        if (running !== current) return;
        current.intake.recoverInterrupted().catch((err: unknown) => node.warn(RED._('mllp-listener.errors.recover', { code: errorCode(err) })));
      });
      // Wait for the previous instance to let go of the port (a redeploy reopens it at once).
      current.listening = stopping
        .then(() => server.listen())
        .then(() => {
          if (running === current) statusAll();
        })
        .catch((err: unknown) => {
          if (running !== current) return;
          failure = errorCode(err);
          node.error(RED._('mllp-listener.errors.listen', { port: settings?.server.port ?? '', code: failure }));
          statusAll();
          throw err;
        });
      current.listening.catch(() => undefined);
      statusAll();
    };

    const stop = (): Promise<void> => {
      const current = running;
      running = undefined;
      readiness.unwatch();
      if (!current) return stopping;
      current.unregister();
      // Answer what is still waiting before the server ends its connections, so those answers still go out.
      stopping = Promise.all([current.intake.close(), current.server.close()]).then(
        () => undefined,
        (err: unknown) => node.warn(RED._('mllp-listener.errors.close', { code: errorCode(err) })),
      );
      return stopping;
    };

    Object.defineProperty(node, 'ackMode', { get: () => settings?.intake.ackMode ?? 'after-commit' });
    node.register = (user, consumer) => {
      users.get(user.id)?.unsubscribe();
      if (configError) {
        users.set(user.id, { user, unsubscribe: () => undefined });
        setStatus(user, 'error', RED._('mllp-listener.status.error', { code: 'CONFIG' }));
        try {
          readiness.watch(getHubServices().health);
        } catch {
          // Outside a hub there is no readiness to report.
        }
        return;
      }
      start();
      const intake = running?.intake;
      users.set(user.id, { user, unsubscribe: intake ? intake.onMessage(consumer) : () => undefined });
      statusAll();
    };
    node.deregister = async (user) => {
      const entry = users.get(user.id);
      if (!entry) return;
      entry.unsubscribe();
      users.delete(user.id);
      setStatus(user, 'idle');
      if (users.size === 0) await stop();
    };
    node.respond = (id, code, errors) => running?.intake.respond(id, code, errors) ?? 'unknown';
    node.connectionCount = () => running?.server.connections ?? 0;
    node.peers = () => [...(running?.peers.values() ?? [])].map((p) => ({ ...p }));
    node.boundPort = () => running?.server.port;
    node.whenListening = () => (running ? running.listening : Promise.reject(configError ?? new Error('listener is not started')));

    node.on('close', (_removed: boolean, done: () => void) => {
      for (const { unsubscribe } of users.values()) unsubscribe();
      users.clear();
      stop().finally(done);
    });
  }

  RED.nodes.registerType<MllpListenerNode, MllpListenerDef, object, MllpListenerCredentials>('mllp-listener', MllpListener, {
    credentials: { key: { type: 'password' }, cert: { type: 'text' }, ca: { type: 'text' } },
  });
};

/** Turn the editor's fields into adapter options; throws with a field name on bad input. */
function readSettings(def: MllpListenerDef, creds: MllpListenerCredentials, nodeId: string): ListenerSettings {
  const port = int(def.port, 'port', 0, 65535);
  if (port === undefined) throw new Error('port is required');
  const peers = (def.allowedPeers ?? '').split(/[\s,]+/).filter(Boolean);
  const charset = (def.charset ?? '').trim();
  if (charset && !isSupportedCharset(charset)) throw new Error(`charset "${charset}" is not a supported MSH-18 value`);
  const ackMode = def.ackMode || 'after-commit';
  if (!ACK_MODES.includes(ackMode)) throw new Error(`ackMode must be one of ${ACK_MODES.join(', ')}`);
  const server: MllpServerOptions = {
    host: (def.host ?? '').trim() || '127.0.0.1',
    port,
    maxFrameBytes: int(def.maxFrameBytes, 'maxFrameBytes', 1) ?? MAX_FRAME_BYTES,
    idleTimeoutMs: int(def.idleTimeoutMs, 'idleTimeoutMs', 0) ?? 0,
  };
  const maxConnections = int(def.maxConnections, 'maxConnections', 1);
  if (maxConnections !== undefined) server.maxConnections = maxConnections;
  if (peers.length > 0) server.allowedPeers = peers;
  if (def.tls) server.tls = readTls(def, creds);
  return {
    server,
    intake: {
      endpoint: (def.endpoint || def.name || `mllp-${port}`).trim(),
      ackMode,
      processingTimeoutMs: int(def.processingTimeoutMs, 'processingTimeoutMs', 1) ?? PROCESSING_TIMEOUT_MS,
      duplicateWindowMs: int(def.duplicateWindowMs, 'duplicateWindowMs', 0) ?? 0,
      enhancedAcks: def.enhancedAcks !== false,
      nodeId,
      ...(charset ? { defaultCharset: charset } : {}),
    },
  };
}

/** PEM from the credentials, else from the file paths (e.g. mounted secrets). */
function readTls(def: MllpListenerDef, creds: MllpListenerCredentials): MllpServerTlsOptions {
  const pem = (inline: string | undefined, file: string, what: string): string | undefined => {
    if (inline?.trim()) return inline;
    if (!file?.trim()) return undefined;
    try {
      return readFileSync(file.trim(), 'utf8');
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const key = pem(creds.key, def.keyFile, 'key');
  const cert = pem(creds.cert, def.certFile, 'certificate');
  const ca = pem(creds.ca, def.caFile, 'CA');
  if (!key || !cert) throw new Error('TLS needs a key and a certificate');
  if (def.requireClientCert && !ca) throw new Error('requiring client certificates needs a CA to verify them');
  return { key, cert, ...(ca ? { ca } : {}), ...(def.requireClientCert ? { requireClientCert: true } : {}) };
}

/** Blank means "not set"; anything else must be an integer in range. */
function int(value: string | number | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === null || String(value).trim() === '') return undefined;
  const n = Number(String(value).trim());
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
}
