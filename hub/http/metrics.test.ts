import type { EncryptedMessageStore } from '../../adapters/store';
import type { ConfiguredEndpoint, EndpointSource, QueueDepth, QueueStatusProvider } from '../monitor/types';
import { createMetrics } from './metrics';

const store = { ping: async () => undefined, backend: 'sqlite', pendingWrites: 3 } as unknown as EncryptedMessageStore;

function endpoint(e: Partial<ConfiguredEndpoint> & Pick<ConfiguredEndpoint, 'name' | 'kind' | 'state'>): ConfiguredEndpoint {
  return { direction: 'inbound', detail: null, port: null, connections: null, peers: [], pending: null, flowIds: [], ...e };
}

function depth(d: Partial<QueueDepth> & Pick<QueueDepth, 'queue'>): QueueDepth {
  return { backend: 'embedded', ready: 0, delayed: 0, inFlight: 0, dead: 0, oldestWaitingAgeMs: null, ...d };
}

/** `name{labels} value` lines of the exposition, without comments. */
async function lines(registry: { metrics(): Promise<string> }, prefix: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith(prefix));
}

describe('createMetrics: series read at scrape time', () => {
  test('queue depths by state and the oldest-waiting age, from one read of the backend per scrape', async () => {
    let reads = 0;
    const queues: QueueStatusProvider = {
      list: async () => {
        reads++;
        return [depth({ queue: 'lab', ready: 4, delayed: 1, inFlight: 2, dead: 3, oldestWaitingAgeMs: 90_500 }), depth({ queue: 'idle', dead: 1 }), depth({ queue: 'sqs-like', ready: 2 })];
      },
    };
    const { registry } = createMetrics(store, { queues });
    expect(await lines(registry, 'hub_queue_')).toEqual([
      'hub_queue_messages{queue="lab",state="ready"} 4',
      'hub_queue_messages{queue="lab",state="delayed"} 1',
      'hub_queue_messages{queue="lab",state="in_flight"} 2',
      'hub_queue_messages{queue="lab",state="dead"} 3',
      'hub_queue_messages{queue="idle",state="ready"} 0',
      'hub_queue_messages{queue="idle",state="delayed"} 0',
      'hub_queue_messages{queue="idle",state="in_flight"} 0',
      'hub_queue_messages{queue="idle",state="dead"} 1',
      'hub_queue_messages{queue="sqs-like",state="ready"} 2',
      'hub_queue_messages{queue="sqs-like",state="delayed"} 0',
      'hub_queue_messages{queue="sqs-like",state="in_flight"} 0',
      'hub_queue_messages{queue="sqs-like",state="dead"} 0',
      // Dead letters are not waiting: 0. A backend that cannot tell the age (SQS): no sample rather than a wrong one.
      'hub_queue_oldest_waiting_seconds{queue="lab"} 90.5',
      'hub_queue_oldest_waiting_seconds{queue="idle"} 0',
    ]);
    expect(reads).toBe(1);
  });

  test('a queue that disappears, or a backend that fails, leaves no stale depth behind', async () => {
    let answer: () => Promise<QueueDepth[]> = async () => [depth({ queue: 'gone', ready: 7 })];
    const { registry } = createMetrics(store, { queues: { list: () => answer() } });
    expect(await lines(registry, 'hub_queue_messages{queue="gone",state="ready"}')).toEqual(['hub_queue_messages{queue="gone",state="ready"} 7']);
    answer = async () => {
      throw new Error('broker unreachable');
    };
    expect(await lines(registry, 'hub_queue_messages')).toEqual([]);
    expect((await registry.metrics()).includes('hub_store_up{backend="sqlite"} 1')).toBe(true);
  });

  test('broker health: up when the ping answers, down when it fails or does not answer in time', async () => {
    let ping: () => Promise<void> = async () => undefined;
    const { registry } = createMetrics(store, { queue: { backend: 'rabbitmq', ping: () => ping() } });
    expect(await lines(registry, 'hub_queue_up')).toEqual(['hub_queue_up{backend="rabbitmq"} 1']);
    ping = () => Promise.reject(new Error('ECONNREFUSED'));
    expect(await lines(registry, 'hub_queue_up')).toEqual(['hub_queue_up{backend="rabbitmq"} 0']);
    // A broker that hangs must not hang the scrape (and the store's health with it).
    ping = () => new Promise<void>(() => undefined);
    expect(await lines(registry, 'hub_queue_up')).toEqual(['hub_queue_up{backend="rabbitmq"} 0']);
  });

  test('endpoints: up by state, connections, and the flows that use each as an info series', async () => {
    const source: EndpointSource = {
      list: () => ({
        flows: [
          { id: 't1', label: 'HL7 intake', disabled: false },
          { id: 't2', label: 'Lab results', disabled: false },
        ],
        endpoints: [
          endpoint({ name: 'hl7-intake', kind: 'mllp-listener', state: 'listening', connections: 2, flowIds: ['t1', 't2'] }),
          endpoint({ name: 'lis', kind: 'mllp-endpoint', state: 'error', connections: 0, flowIds: ['t2'] }),
          endpoint({ name: 'http-intake', kind: 'store-record', state: 'idle' }),
        ],
      }),
    };
    const { registry, metrics } = createMetrics(store, { endpoints: source });
    // Pushed by a node that is not a config node (an analyzer link): kept, not overwritten.
    metrics.connections('analyzer-1', 1);
    expect(await lines(registry, 'hub_endpoint_up')).toEqual([
      'hub_endpoint_up{endpoint="hl7-intake",kind="mllp-listener"} 1',
      'hub_endpoint_up{endpoint="lis",kind="mllp-endpoint"} 0',
      'hub_endpoint_up{endpoint="http-intake",kind="store-record"} 1',
    ]);
    expect(await lines(registry, 'hub_endpoint_info')).toEqual([
      'hub_endpoint_info{endpoint="hl7-intake",kind="mllp-listener",flow="HL7 intake"} 1',
      'hub_endpoint_info{endpoint="hl7-intake",kind="mllp-listener",flow="Lab results"} 1',
      'hub_endpoint_info{endpoint="lis",kind="mllp-endpoint",flow="Lab results"} 1',
      'hub_endpoint_info{endpoint="http-intake",kind="store-record",flow=""} 1',
    ]);
    expect((await lines(registry, 'hub_connections')).sort()).toEqual(['hub_connections{endpoint="analyzer-1"} 1', 'hub_connections{endpoint="hl7-intake"} 2', 'hub_connections{endpoint="lis"} 0']);
  });

  test('without sources only the store and pushed series are served', async () => {
    const { registry, metrics } = createMetrics(store);
    metrics.message('hl7-intake', 'received', 'ORU^R01');
    const text = await registry.metrics();
    expect(text).toContain('hub_messages_total{endpoint="hl7-intake",outcome="received",type="ORU^R01"} 1');
    expect(text).toContain('hub_store_pending_writes 3');
    expect(text).not.toContain('hub_queue_');
    expect(text).not.toContain('hub_endpoint_');
    expect(text).toContain('hub_process_resident_memory_bytes');
  });
});
