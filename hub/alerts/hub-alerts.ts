import { AlertService, WebhookNotifier } from '../../adapters/alerts';
import type { AlertNotifier, AlertServiceOptions, AlertSources } from '../../adapters/alerts';
import { PgAdvisoryLeadership } from '../../adapters/shared/pg-leadership';
import type { Logger } from '../../adapters/shared/logger';
import type { MessageQueue } from '../../adapters/queue';
import type { MessageStore } from '../../adapters/store';
import type { HubConfig } from '../../config/schema';
import type { EndpointSource } from '../monitor/types';

/** A queue backend that does not answer within this is "not measurable" for this pass, not "empty". */
const QUEUE_STATS_TIMEOUT_MS = 3000;

export interface HubAlertSourceDeps {
  store: MessageStore;
  endpoints: EndpointSource;
  queue?: MessageQueue;
  /** Queue names "every queue" covers; the names in the rules are always included. */
  queueNames?: () => string[];
}

/**
 * The alert rules' view of the hub: message counts from the store (the same
 * indexed counts the monitor uses, so they hold across restarts and across
 * hubs sharing a store), connection states from the running flows' config
 * nodes, and depths from the queue adapter.
 */
export function hubAlertSources(d: HubAlertSourceDeps): AlertSources {
  const seen = new Set<string>();
  // A queue that dead-letters is one to watch even if no configuration names it.
  d.queue?.on('deadLettered', (info) => seen.add(info.queue));
  return {
    async messageCounts(endpoint, from) {
      const filter = endpoint === null ? { from } : { endpoint, from };
      const [total, errored] = await Promise.all([d.store.count(filter), d.store.count({ ...filter, status: 'error' })]);
      return { total, errored };
    },
    async endpoints() {
      return d.endpoints.list().endpoints.map((e) => ({ name: e.name, state: e.state }));
    },
    async queueStats(queue) {
      if (!d.queue) throw Object.assign(new Error('no queue configured'), { code: 'NOT_FOUND' });
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          d.queue.stats(queue),
          new Promise<never>((_r, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error('queue stats timed out'), { code: 'TIMEOUT' })), QUEUE_STATS_TIMEOUT_MS);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    queueNames() {
      return [...new Set([...(d.queueNames?.() ?? []), ...seen])].sort();
    },
  };
}

/**
 * The alert service for a hub: rules and channels from configuration
 * (HUB_ALERT_*), history in the store's audit log. Not started: call
 * `start()` once flows run, so endpoints have had a chance to come up.
 */
export function createHubAlerts(config: HubConfig, d: HubAlertSourceDeps & { logger: Logger }): AlertService {
  const notifiers: AlertNotifier[] = [];
  if (config.alertWebhookUrl) notifiers.push(new WebhookNotifier({ url: config.alertWebhookUrl, secret: config.alertWebhookSecret }, { logger: d.logger }));
  const named = config.alertRules.flatMap((r) => ('queue' in r && r.queue ? [r.queue] : []));
  return new AlertService(
    {
      rules: config.alertRules,
      sources: hubAlertSources({ ...d, queueNames: () => [...named, ...Object.keys(config.queuePolicies), ...(d.queueNames?.() ?? [])] }),
      intervalMs: config.alertIntervalSeconds * 1000,
      notifiers,
      audit: d.store.audit,
      ...sharedAlerting(config, d.store.backend),
    },
    { logger: d.logger },
  );
}

/**
 * Hub processes sharing a PostgreSQL store measure the same error rates, and
 * with a broker the same queues: one of them (the holder of an advisory lock
 * in that database) evaluates those rules, so each alert is notified once.
 * Endpoint rules stay with every process: each has its own listeners.
 */
function sharedAlerting(config: HubConfig, backend: 'sqlite' | 'postgres'): Pick<AlertServiceOptions, 'shared'> {
  if (backend !== 'postgres') return {};
  const brokerQueues = !/^embedded:/.test(config.queueUrl);
  const leadership = new PgAdvisoryLeadership(config.storeUrl, 'alerts');
  return {
    shared: {
      isShared: (rule) => rule.type === 'error-rate' || (brokerQueues && rule.type !== 'endpoint-down'),
      leads: () => leadership.isLeader(),
      release: () => leadership.close(),
    },
  };
}
