import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { HealthRegistry } from '../adapters/shared/health-registry';
import { PublicRouteRegistry } from '../adapters/shared/public-routes';
import { jsonLogger } from '../adapters/shared/logger';
import { ReprocessRegistry } from '../adapters/shared/reprocess-registry';
import type { Logger } from '../adapters/shared/logger';
import { clearHubServices, setHubServices } from '../adapters/shared/registry';
import { BodyCipher, createMessageStore } from '../adapters/store';
import { createMessageQueue, QueueDirectory } from '../adapters/queue';
import type { EncryptedMessageStore } from '../adapters/store';
import { nodeRedSettings } from '../config/node-red-settings';
import type { HubConfig } from '../config/schema';
import { apiRouter } from './api/api-router';
import { queuesApi } from './api/queues-router';
import { auditConfigChange } from './audit/config-change';
import { nodeRedAuditHandler } from './audit/node-red-audit';
import { authenticate } from './auth/http-auth';
import { nodeRedPermissions } from './auth/permissions';
import { EditorAwareTokenService } from './auth/editor-sessions';
import { UserDirectory } from './auth/user-directory';
import { FLOW_FILE, seedFlows } from './flows-seed';
import { healthRouter } from './http/health';
import { createMetrics, metricsRouter } from './http/metrics';
import { monitorRouter } from './http/monitor';
import { createHubAlerts } from './alerts/hub-alerts';
import { resolveSecrets } from './secrets';
import { nodeRedEndpointSource } from './monitor/node-red-endpoints';
import { QueueMessageOperations, queueStatusProvider } from './monitor/queue-operations';
import type { NodeRedNodesApi } from './monitor/node-red-endpoints';

// Node-RED ships no usable types for embedding; this is the part we call.
interface NodeRedRuntime {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: express.Express;
  httpNode: express.Express;
  nodes: NodeRedNodesApi;
  events: { once(event: 'flows:started', listener: () => void): void };
  version(): string;
}

export interface Hub {
  readonly url: string;
  readonly port: number;
  readonly store: EncryptedMessageStore;
  stop(): Promise<void>;
}

const ROOT = resolve(__dirname, '..', '..');

/**
 * Starts the hub: one HTTP(S) server carrying the hub's own routes first and
 * Node-RED's editor/admin API at `/` behind them. Returns once flows run.
 */
export async function startHub(config: HubConfig, logger: Logger = jsonLogger(config.logLevel, 'hub')): Promise<Hub> {
  const secrets = resolveSecrets(config);
  if (secrets.generatedAdminPassword) {
    // The one time the admin password is shown: stdout, not the JSON log stream.
    process.stdout.write(
      `\n  IVF Interface Hub: generated admin password (shown once, also in ${join(config.dataDir, 'admin-password.txt')}):\n\n      ${secrets.generatedAdminPassword}\n\n  Log in as "admin", then delete that file.\n\n`,
    );
  }

  const store = await createMessageStore({
    url: config.storeUrl,
    dataDir: config.dataDir,
    keys: secrets.storeKeys,
    activeKeyId: secrets.activeStoreKeyId,
    patientKeySecret: secrets.patientKeySecret,
  });
  const health = new HealthRegistry();
  health.register('store', () => store.ping());
  const publicRoutes = new PublicRouteRegistry();
  let queue;
  try {
    queue = await createMessageQueue({
      url: config.queueUrl,
      dataDir: config.dataDir,
      cipher: new BodyCipher(secrets.storeKeys, secrets.activeStoreKeyId),
      policies: config.queuePolicies,
      defaultPolicy: config.queueDefaultPolicy,
      prefix: config.queuePrefix ?? undefined,
      encryptBrokerBodies: config.queueEncryptBodies,
    }, { logger });
  } catch (err) {
    await store.close();
    throw err;
  }
  health.register('queue', () => queue.ping());
  // Configured queues are served from the start; queue nodes add theirs as flows start.
  const queueDirectory = new QueueDirectory(Object.keys(config.queuePolicies));
  const { registry, metrics } = createMetrics(store, { queue, queues: queueStatusProvider(queue, queueDirectory), endpoints: nodeRedEndpointSource(() => RED.nodes) });
  // Created before flows load so hub-alert nodes can subscribe; it reads the endpoints only once started (after RED.start()).
  const alerts = createHubAlerts(config, { store, logger, queue, endpoints: nodeRedEndpointSource(() => RED.nodes), queueNames: () => queueDirectory.names() });
  const reprocessors = new ReprocessRegistry();
  setHubServices({ store, logger, health, metrics, publicRoutes, queue, queueDirectory, alerts, reprocessors });
  await auditConfigChange(config, store.audit);

  const users = new UserDirectory(secrets.users);
  // Also accepts the Node-RED editor's login tokens, so editor plugins (the IVF hub sidebar) can call /api/v1.
  const tokens = new EditorAwareTokenService(store.tokens, users);
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });

  let stopping = false;
  let flowsStarted = false;
  health.register('flows', async () => {
    if (!flowsStarted) throw new Error('flows not started');
  });
  app.use(healthRouter(() => health.list(), () => stopping));
  const RED = require('node-red') as NodeRedRuntime;
  // Before /api/v1: the monitor's API lives under /api/v1/monitor, and apiRouter answers 404 for paths it does not know.
  const monitor = monitorRouter({
    store,
    tokens,
    sessionTtlMs: config.sessionTtlMinutes * 60_000,
    metrics: registry,
    endpoints: nodeRedEndpointSource(() => RED.nodes),
    queues: queueStatusProvider(queue, queueDirectory),
    operations: new QueueMessageOperations(queue, queueDirectory, store),
    alerts,
    logger,
    reprocessors,
  });
  app.use(monitor);
  // Before apiRouter, which answers 404 for paths it does not know; this one passes everything else on.
  app.use('/api/v1', queuesApi({ queue, audit: store.audit, tokens, queueNames: () => queueDirectory.names() }));
  app.use('/api/v1', apiRouter({ store, tokens, users, sessionTtlMs: config.sessionTtlMinutes * 60_000, version, reprocessors }));
  app.use(metricsRouter(registry, config.metricsPublic ? [] : [authenticate(tokens)]));

  const server = config.tlsCertFile
    ? https.createServer({
        cert: readFileSync(config.tlsCertFile),
        key: readFileSync(config.tlsKeyFile!),
        ...(config.tlsCaFile ? { ca: readFileSync(config.tlsCaFile), requestCert: true, rejectUnauthorized: true } : {}),
      }, app)
    : http.createServer(app);

  const userDir = join(config.dataDir, 'node-red');
  // Relative flow dirs are relative to the install, so the hub can start from any cwd.
  const seeded = seedFlows(resolve(ROOT, config.flowsDir), userDir);
  if (seeded) logger.info('seeded reference flows', { files: seeded });

  // Flows refer to these as ${HUB_BIND} / ${HUB_MLLP_PORT}; Node-RED resolves
  // env references when a flow starts, so they must be in the environment first.
  process.env.HUB_BIND = config.host;
  process.env.HUB_MLLP_PORT = String(config.mllpPort);
  process.env.HUB_ASTM_PORT = String(config.astmPort);

  const toNodeRedUser = (u: { username: string; role: Parameters<typeof nodeRedPermissions>[0] } | null) =>
    u ? { username: u.username, permissions: nodeRedPermissions(u.role) } : null;
  const nodeAuth = authenticate(tokens);
  RED.init(
    server,
    nodeRedSettings({
      userDir,
      flowFile: FLOW_FILE,
      nodesDir: join(ROOT, 'dist', 'palette'),
      credentialSecret: secrets.credentialSecret,
      httpNodeRoot: config.httpNodeRoot,
      sessionTtlSeconds: config.sessionTtlMinutes * 60,
      users: async (username) => toNodeRedUser(users.get(username)),
      authenticate: async (username, password) => toNodeRedUser(await users.verify(username, password)),
      tokens: async (token) => {
        const p = await tokens.verify(token);
        return p ? { username: p.username, permissions: nodeRedPermissions(p.role) } : null;
      },
      httpNodeAuth: (req: Request, res: Response, next: NextFunction) => (publicRoutes.has(req.path) ? next() : nodeAuth(req, res, next)),
      log: (level, text) => logger[level](text, { component: 'node-red' }),
      audit: nodeRedAuditHandler(store.audit, logger),
      logLevel: config.logLevel,
    }),
  );
  app.use(config.httpNodeRoot, RED.httpNode);
  app.use('/', RED.httpAdmin);

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  // Ready once the flows run, not when start() returns: that is before the
  // first flows have started (a webhook route could still answer 404).
  RED.events.once('flows:started', () => {
    flowsStarted = true;
  });
  await RED.start();
  alerts.start();

  const pruneTimer = setInterval(() => {
    store.prune(config.retention).then(
      (n) => n > 0 && logger.info('retention pruned messages', { count: n }),
      () => logger.error('retention pruning failed'),
    );
    void store.tokens.purgeExpired().catch(() => undefined);
  }, config.pruneIntervalMinutes * 60_000);
  pruneTimer.unref();

  const port = (server.address() as AddressInfo).port;
  const url = `${config.tlsCertFile ? 'https' : 'http'}://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info('hub started', { url, store: store.backend, nodeRed: RED.version() });

  let stopped: Promise<void> | null = null;
  return {
    url,
    port,
    store,
    stop(): Promise<void> {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(pruneTimer);
        // First, so endpoints going down with the flows raise no alerts; its history writes need the store.
        await alerts.stop();
        // Stop accepting first; then let nodes finish or hand back in-flight
        // work (their close handlers), then flush the store's pending commits.
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        await monitor.close();
        await RED.stop().catch(() => logger.error('Node-RED did not stop cleanly'));
        // Consumers closed with their nodes; the queue goes before the store
        // because in-flight handlers may still write statuses.
        await queue.close().catch(() => logger.error('queue did not close cleanly'));
        await store.close();
        server.closeAllConnections();
        await closed;
        clearHubServices();
        logger.info('hub stopped');
      })();
      return stopped;
    },
  };
}
