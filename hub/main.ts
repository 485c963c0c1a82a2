import { jsonLogger } from '../adapters/shared/logger';
import { ConfigError } from '../config/config-error';
import { loadConfig } from '../config/load-config';
import type { HubConfig } from '../config/schema';
import { startHub } from './hub';
import type { Hub } from './hub';

/** Exit statuses: 2 for bad configuration (one line naming the key), 1 for a failed start. */
const EXIT_CONFIG = 2;
const EXIT_FAILED = 1;

async function main(): Promise<void> {
  let config: HubConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`config error: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const logger = jsonLogger(config.logLevel, 'hub');

  // Signal handlers go in before the start: a SIGTERM that arrives while
  // flows are still loading must still end in an orderly stop.
  let hub: Hub | null = null;
  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting', { timeoutMs: config.shutdownTimeoutMs });
      process.exit(EXIT_FAILED);
    }, config.shutdownTimeoutMs);
    force.unref();
    if (hub) hub.stop().then(() => process.exit(0), () => process.exit(EXIT_FAILED));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // A stray rejection must not take down every flow; log its class, not its text.
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled rejection', { error: reason instanceof Error ? reason.name : typeof reason });
  });

  try {
    hub = await startHub(config, logger);
  } catch (err) {
    logger.error('hub failed to start', { error: err instanceof Error ? err.message : String(err) });
    process.exit(EXIT_FAILED);
  }
  if (shuttingDown) {
    const started = hub;
    started.stop().then(() => process.exit(0), () => process.exit(EXIT_FAILED));
  }
}

void main();
