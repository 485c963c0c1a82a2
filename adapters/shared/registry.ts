import type { ReprocessRegistry } from './reprocess-registry';
import type { MessageStore } from '../store/types';
import type { HealthRegistry } from './health-registry';
import { noopMetrics } from './hub-metrics';
import type { HubMetrics } from './hub-metrics';
import type { Logger } from './logger';
import type { PublicRouteRegistry } from './public-routes';
import type { MessageQueue } from '../queue/message-queue';
import type { AlertSubscriptions } from '../alerts/alert-service';
import type { QueueDirectory } from '../queue/queue-directory';

/**
 * The seam between the hub runtime and the nodes: the hub (or a test) puts its
 * services here before Node-RED loads the flows, and nodes look them up.
 * Tests swap in their own store and restore with `clearHubServices()`.
 */
export interface HubServices {
  store: MessageStore;
  logger: Logger;
  health: HealthRegistry;
  /** Absent in tests that do not care; use `metricsOf(services)`. */
  metrics?: HubMetrics;
  /** Webhook paths that authenticate by signature instead of a hub token. */
  publicRoutes?: PublicRouteRegistry;
  /** Retry queues (HUB_QUEUE_URL). */
  queue?: MessageQueue;
  /** Queue names in use (configured, and declared by queue nodes); what the REST API and monitor serve. */
  queueDirectory?: QueueDirectory;
  /** Alert events for the flows' `hub-alert` nodes (HUB_ALERT_RULES). */
  alerts?: AlertSubscriptions;
  /** Receiving nodes that can run a stored message through their flow again (REST API reprocess). */
  reprocessors?: ReprocessRegistry;
}

let current: HubServices | null = null;

export function setHubServices(services: HubServices): void {
  current = services;
}

export function clearHubServices(): void {
  current = null;
}

export function getHubServices(): HubServices {
  if (!current) throw new Error('hub services are not initialised (is the node running inside the IVF hub?)');
  return current;
}

export function metricsOf(services: HubServices): HubMetrics {
  return services.metrics ?? noopMetrics;
}
