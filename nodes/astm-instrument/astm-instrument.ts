import type { Node, NodeAPI } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import { ListenerReadiness } from '../shared/listener-readiness';
import { setStatus } from '../shared/status';
import { AnalyzerLink } from './analyzer-link';
import type { AnalyzerLinkOptions, LinkState } from './analyzer-link';
import { readSettings } from './settings';
import type { AstmInConsumer, AstmInstrumentDef, AstmInstrumentNode } from './types';

/** One running link: recreated when the first user registers after the last one left. */
type Running = { link: AnalyzerLink; started: Promise<void>; unregister: () => void };

/**
 * Config node for one analyzer: its transport (the hub listens, connects
 * to a terminal server, or opens a serial port), E1381 timers, profile (mapping table) and
 * instrument id. It owns the AnalyzerLink; astm-in nodes register to
 * receive, astm-out nodes to send. The link starts with the first user and
 * closes with the last one, or with the flow.
 */
export = function init(RED: NodeAPI): void {
  function AstmInstrument(this: AstmInstrumentNode, def: AstmInstrumentDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const users = new Map<string, { user: Node; unsubscribe: () => void }>();
    const healthName = `astm-instrument:${def.name || def.instrumentId || node.id}`;
    let settings: AnalyzerLinkOptions | undefined;
    let configError: Error | undefined;
    try {
      settings = readSettings(def, { nodeId: node.id, flowId: node.z ?? null });
    } catch (err) {
      configError = err as Error;
      node.error(RED._('astm-instrument.errors.config', { message: (err as Error).message }));
    }
    Object.defineProperty(node, 'instrumentId', { value: settings?.instrumentId ?? (def.instrumentId || node.id), enumerable: true });

    let running: Running | undefined;
    let stopping: Promise<void> = Promise.resolve();
    let failure: string | undefined;

    // Readiness (/readyz) while the listener is in use, failing until it listens and whenever it cannot; server
    // mode only: a client-mode link waits for the analyzer, which says nothing about this hub's readiness.
    const readiness = new ListenerReadiness(healthName, 'ASTM instrument', () => (configError ? 'CONFIG' : failure), () => running?.link.port !== undefined);

    const statusOf = (user: Node): void => {
      if (configError) return setStatus(user, 'error', RED._('astm-instrument.status.error', { code: 'CONFIG' }));
      if (failure) return setStatus(user, 'error', RED._('astm-instrument.status.error', { code: failure }));
      const state: LinkState = running?.link.state ?? { phase: 'starting' };
      switch (state.phase) {
        case 'listening':
          return setStatus(user, 'connected', RED._('astm-instrument.status.listening', { port: state.port, count: state.connections }));
        case 'connected': {
          const t = settings?.transport;
          if (t?.mode === 'serial') return setStatus(user, 'connected', RED._('astm-instrument.status.connectedSerial', { path: t.options.path }));
          return setStatus(user, 'connected', RED._('astm-instrument.status.connected', { host: t?.options.host ?? '', port: t?.options.port ?? '' }));
        }
        case 'connecting':
          return setStatus(user, 'connecting', RED._('astm-instrument.status.connecting'));
        case 'retrying':
          return setStatus(user, 'connecting', RED._('astm-instrument.status.retrying'));
        case 'error':
          return setStatus(user, 'error', RED._('astm-instrument.status.error', { code: state.code }));
        case 'closed':
          return setStatus(user, 'idle');
        default:
          return setStatus(user, 'connecting', RED._('astm-instrument.status.starting'));
      }
    };
    const statusAll = (): void => {
      for (const { user } of users.values()) statusOf(user);
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
        return;
      }
      if (settings.transport.mode === 'server') readiness.watch(services.health);
      let link: AnalyzerLink;
      try {
        link = new AnalyzerLink(settings, { store: services.store, logger: services.logger, ...(services.metrics ? { metrics: services.metrics } : {}) });
      } catch (err) {
        // Checks the adapters make themselves (port range, host).
        failure = errorCode(err);
        node.error(RED._('astm-instrument.errors.config', { message: (err as Error).message }));
        return;
      }
      // Its records carry this node's id: an operator's reprocess (REST API, monitor) finds the link through it.
      const unregister = services.reprocessors?.register(node.id, (record) => link.reprocess(record)) ?? (() => undefined);
      const current: Running = { link, started: Promise.resolve(), unregister };
      running = current;
      link.on('state', statusAll);
      // Once every node of the deploy is running (its astm-in nodes registered): what a previous run
      // stored and acknowledged and never processed goes through the flow now.
      RED.events.once('flows:started', () => {
        if (running !== current) return;
        current.link.recoverInterrupted().catch((err: unknown) => node.warn(RED._('astm-instrument.errors.recover', { code: errorCode(err) })));
      });
      // Wait for the previous link to let go of the port (a redeploy reopens it at once).
      current.started = stopping
        .then(() => link.start())
        .catch((err: unknown) => {
          if (running !== current) return;
          failure = errorCode(err);
          node.error(RED._('astm-instrument.errors.start', { port: where(settings), code: failure }));
          statusAll();
          throw err;
        });
      current.started.catch(() => undefined);
    };

    const stop = (): Promise<void> => {
      const current = running;
      running = undefined;
      readiness.unwatch();
      if (!current) return stopping;
      current.unregister();
      stopping = current.link.close().then(
        () => undefined,
        (err: unknown) => node.warn(RED._('astm-instrument.errors.close', { code: errorCode(err) })),
      );
      return stopping;
    };

    const linkOrThrow = (): AnalyzerLink => {
      if (!running) throw configError ?? new Error(RED._('astm-instrument.errors.not-started'));
      return running.link;
    };

    node.register = (user: Node, consumer?: AstmInConsumer) => {
      users.get(user.id)?.unsubscribe();
      if (configError) {
        users.set(user.id, { user, unsubscribe: () => undefined });
        statusOf(user);
        try {
          readiness.watch(getHubServices().health);
        } catch {
          // Outside a hub there is no readiness to report.
        }
        return;
      }
      start();
      const unsubscribe = consumer && running ? running.link.onDelivery(consumer) : () => undefined;
      users.set(user.id, { user, unsubscribe });
      statusOf(user);
    };
    node.deregister = async (user: Node) => {
      const entry = users.get(user.id);
      if (!entry) return;
      entry.unsubscribe();
      users.delete(user.id);
      setStatus(user, 'idle');
      if (users.size === 0) await stop();
    };
    node.refreshStatus = (user: Node) => statusOf(user);
    node.sendOrders = async (input, opts) => linkOrThrow().sendOrders(input, opts);
    node.answerQuery = async (queryId, orders, opts) => linkOrThrow().answerQuery(queryId, orders, opts);
    node.connectionCount = () => running?.link.connections ?? 0;
    node.peers = () => running?.link.peers() ?? [];
    node.boundPort = () => running?.link.port;
    node.whenStarted = () => (running ? running.started : Promise.reject(configError ?? new Error(RED._('astm-instrument.errors.not-started'))));

    node.on('close', (_removed: boolean, done: () => void) => {
      for (const { unsubscribe } of users.values()) unsubscribe();
      users.clear();
      stop().finally(done);
    });
  }

  /** The port number, or the device path in serial mode, for start errors. */
  function where(s: AnalyzerLinkOptions | undefined): string | number {
    if (!s) return '';
    return s.transport.mode === 'serial' ? s.transport.options.path : s.transport.options.port;
  }

  RED.nodes.registerType('astm-instrument', AstmInstrument);
};
