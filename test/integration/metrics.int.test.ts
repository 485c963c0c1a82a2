import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { sendMllp } from '../e2e/monitor-support';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME, canaryOru } from '../fixtures/canary';
import { createToken, freePort, login, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { auth, functionNode, waitUntil } from '../support/queue-hub';
import type { FlowNode } from '../support/queue-hub';

/**
 * `/metrics` of the built hub, scraped as Prometheus would: every documented
 * series is there with values that match what the test did (HL7 over MLLP
 * into the reference intake, messages left waiting in one queue and
 * dead-lettered in another, one MLLP connection held open), no canary PHI,
 * and the token requirement (or HUB_METRICS_PUBLIC=true).
 */
const ADMIN_PASSWORD = 'metrics-admin-password';
const CANARIES = [CANARY_MRN, CANARY_DOB, ...CANARY_NAME.split('^')];

/** The series the hub documents (name → labels every sample carries). */
const DOCUMENTED: Record<string, string[]> = {
  hub_store_up: ['backend'],
  hub_store_pending_writes: [],
  hub_queue_up: ['backend'],
  hub_queue_messages: ['queue', 'state'],
  hub_queue_oldest_waiting_seconds: ['queue'],
  hub_messages_total: ['endpoint', 'outcome', 'type'],
  hub_ack_latency_seconds: ['endpoint'],
  hub_processing_seconds: ['endpoint'],
  hub_connections: ['endpoint'],
  hub_endpoint_up: ['endpoint', 'kind'],
  hub_endpoint_info: ['endpoint', 'kind', 'flow'],
};

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format 0.0.4, samples only. */
function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { samples, types };
}

class Scrape {
  constructor(
    readonly text: string,
    readonly samples: Sample[],
    readonly types: Map<string, string>,
  ) {}

  /** The value of the one sample with exactly these labels (histograms: pass `le` too), or undefined. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const want = Object.entries(labels);
    const hit = this.samples.filter((s) => s.name === name && Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v));
    if (hit.length > 1) throw new Error(`${hit.length} samples of ${name} ${JSON.stringify(labels)}`);
    return hit[0]?.value;
  }

  named(name: string): Sample[] {
    return this.samples.filter((s) => s.name === name);
  }
}

async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, { headers: token ? auth(token) : {} });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
  const text = await res.text();
  const { samples, types } = parseMetrics(text);
  return new Scrape(text, samples, types);
}

/** Queue `mq-wait` has no consumer (messages wait); queue `mq-dead` has one that refuses every message for good. */
const queueFlow: FlowNode[] = [
  { id: 'mx-in-wait', type: 'http in', name: '', url: '/metrics-wait', method: 'post', upload: false, swaggerDoc: '', wires: [['mx-out-wait']] },
  { id: 'mx-out-wait', type: 'queue-out', name: '', queue: 'mq-wait', keyProperty: '', policy: '', wires: [['mx-res']] },
  { id: 'mx-in-dead', type: 'http in', name: '', url: '/metrics-dead', method: 'post', upload: false, swaggerDoc: '', wires: [['mx-out-dead']] },
  { id: 'mx-out-dead', type: 'queue-out', name: '', queue: 'mq-dead', keyProperty: '', policy: '', wires: [['mx-res']] },
  { id: 'mx-res', type: 'http response', name: '', statusCode: '202', headers: {}, wires: [] },
  { id: 'mx-qin', type: 'queue-in', name: '', queue: 'mq-dead', concurrency: '', timeout: '', drain: '', wires: [['mx-refuse'], []] },
  functionNode({
    id: 'mx-refuse',
    name: 'refuses for good',
    func: "msg.retryable = false;\nthrow new Error('refused');",
    wires: [[]],
  }),
];

describe('/metrics of the hub process', () => {
  let hub: HubProcess;
  let mllpPort: number;
  let admin: string;
  let scraper: string;
  let held: Socket | undefined;

  beforeAll(async () => {
    mllpPort = await freePort();
    hub = await startHubProcess({
      HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HUB_MLLP_PORT: String(mllpPort),
      HUB_QUEUE_POLICIES: JSON.stringify({ 'mq-wait': {}, 'mq-dead': { maxAttempts: 1 } }),
    });
    admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
    scraper = await createToken(hub.url, admin, 'prometheus', 'viewer');
    // Added beside the reference flows (POST /flow), which keep running.
    const added = await fetch(`${hub.url}/flow`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'application/json' }, body: JSON.stringify({ label: 'metrics test queues', nodes: queueFlow }) });
    expect(added.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    held?.destroy();
    await hub?.stop();
  });

  test('without a token /metrics is refused', async () => {
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${hub.url}/metrics`, { headers: auth('hub_not-a-real-token') })).status).toBe(401);
  });

  test('every documented series is present with values that match what was sent, queued and dead-lettered', async () => {
    // Three results and one payload the intake cannot parse (stored as an error, answered AR).
    expect(await sendMllp(mllpPort, [canaryOru('MX-1'), canaryOru('MX-2'), canaryOru('MX-3')])).toEqual(['AA', 'AA', 'AA']);
    expect(await sendMllp(mllpPort, [`NOT HL7|${CANARY_MRN}|${CANARY_NAME}\r`])).toEqual(['AR']);
    for (const [path, n] of [['/in/metrics-wait', 2], ['/in/metrics-dead', 1]] as const) {
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${hub.url}${path}`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'text/plain' }, body: `queued body ${i} for ${CANARY_MRN}` });
        expect(res.status).toBe(202);
      }
    }
    // One sender stays connected while we scrape.
    held = connect(mllpPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => held!.once('connect', resolve).once('error', reject));

    let s!: Scrape;
    const sentOrErrored = (): number =>
      (s.value('hub_messages_total', { endpoint: 'hl7-intake', outcome: 'sent', type: 'ORU^R01' }) ?? 0) + (s.value('hub_messages_total', { endpoint: 'hl7-intake', outcome: 'errored', type: 'ORU^R01' }) ?? 0);
    await waitUntil('the results to be settled by the flow, the dead letter and the held connection to show', async () => {
      s = await scrape(hub.url, scraper);
      return sentOrErrored() === 3 && s.value('hub_queue_messages', { queue: 'mq-dead', state: 'dead' }) === 1 && s.value('hub_connections', { endpoint: 'hl7-intake' }) === 1;
    }, 30_000, hub);

    for (const [name, labels] of Object.entries(DOCUMENTED)) {
      expect(s.types.has(name) ? name : `${name} missing`).toBe(name);
      const samples = s.named(name).concat(s.named(`${name}_count`));
      expect(samples.length > 0 ? name : `${name} has no samples`).toBe(name);
      for (const sample of samples) expect(Object.keys(sample.labels).filter((k) => k !== 'le').sort()).toEqual([...labels].sort());
    }
    expect(s.types.get('hub_messages_total')).toBe('counter');
    expect(s.types.get('hub_ack_latency_seconds')).toBe('histogram');
    expect(s.types.get('hub_queue_messages')).toBe('gauge');

    // Store and broker health.
    expect(s.value('hub_store_up', { backend: 'sqlite' })).toBe(1);
    expect(s.value('hub_store_pending_writes')).toBeGreaterThanOrEqual(0);
    expect(s.value('hub_queue_up', { backend: 'embedded' })).toBe(1);

    // The MLLP intake reports every arrival and its outcome.
    expect(s.value('hub_messages_total', { endpoint: 'hl7-intake', outcome: 'received', type: 'ORU^R01' })).toBe(3);
    expect(s.value('hub_messages_total', { endpoint: 'hl7-intake', outcome: 'received', type: '' })).toBe(1);
    expect(s.value('hub_messages_total', { endpoint: 'hl7-intake', outcome: 'errored', type: '' })).toBe(1);
    expect(s.value('hub_ack_latency_seconds_count', { endpoint: 'hl7-intake' })).toBe(4);
    expect(s.value('hub_ack_latency_seconds_bucket', { endpoint: 'hl7-intake', le: '+Inf' })).toBe(4);
    expect(s.value('hub_ack_latency_seconds_sum', { endpoint: 'hl7-intake' })).toBeGreaterThan(0);
    expect(s.value('hub_processing_seconds_count', { endpoint: 'hl7-intake' })).toBe(3);
    expect(s.value('hub_connections', { endpoint: 'hl7-intake' })).toBe(1);

    // Endpoints, and the flow each one feeds (joined in by endpoint).
    expect(s.value('hub_endpoint_up', { endpoint: 'hl7-intake', kind: 'mllp-listener' })).toBe(1);
    expect(s.value('hub_endpoint_info', { endpoint: 'hl7-intake', kind: 'mllp-listener', flow: 'HL7 intake' })).toBe(1);

    // Queue depths by state and the age of the oldest waiting message.
    expect(s.value('hub_queue_messages', { queue: 'mq-wait', state: 'ready' })).toBe(2);
    for (const state of ['delayed', 'in_flight', 'dead']) expect(s.value('hub_queue_messages', { queue: 'mq-wait', state })).toBe(0);
    expect(s.value('hub_queue_messages', { queue: 'mq-dead', state: 'ready' })).toBe(0);
    const age = s.value('hub_queue_oldest_waiting_seconds', { queue: 'mq-wait' })!;
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan(600);
    expect(s.value('hub_queue_oldest_waiting_seconds', { queue: 'mq-dead' })).toBe(0);

    // The process's own metrics (prom-client defaults under the hub_ prefix).
    expect(s.value('hub_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(s.types.get('hub_nodejs_eventloop_lag_seconds')).toBe('gauge');

    for (const c of CANARIES) expect(s.text).not.toContain(c);
  });

  test('a closed connection brings the connection gauge back to 0', async () => {
    held?.destroy();
    held = undefined;
    await waitUntil('the connection gauge to drop', async () => (await scrape(hub.url, scraper)).value('hub_connections', { endpoint: 'hl7-intake' }) === 0, 15_000, hub);
  });
});

describe('/metrics with HUB_METRICS_PUBLIC=true', () => {
  let hub: HubProcess;

  beforeAll(async () => {
    hub = await startHubProcess({ HUB_ADMIN_PASSWORD: ADMIN_PASSWORD, HUB_METRICS_PUBLIC: 'true' });
  }, 60_000);

  afterAll(async () => {
    await hub?.stop();
  });

  test('a scraper needs no token, and the rest of the API still does', async () => {
    const s = await scrape(hub.url);
    expect(s.value('hub_store_up', { backend: 'sqlite' })).toBe(1);
    expect(s.value('hub_queue_up', { backend: 'embedded' })).toBe(1);
    expect((await fetch(`${hub.url}/api/v1/messages`)).status).toBe(401);
  });
});
