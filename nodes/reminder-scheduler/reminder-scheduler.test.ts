import { InMemoryQueue } from '../../adapters/queue';
import type { QueueMessage } from '../../adapters/queue';
import { getHubServices, setHubServices } from '../../adapters/shared/registry';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../../test/fixtures/canary';
import { canarySiu } from '../../test/fixtures/siu';
import { eventually, startTestHub } from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import { flowNode, helper, logEvents, MessageTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import { decodePayload } from '../shared/queue-payload';
import schedulerInit = require('./reminder-scheduler');

helper.init(require.resolve('node-red'));

/** HL7 DTM in UTC, `ms` from now. */
function dtmIn(ms: number): string {
  return `${new Date(Date.now() + ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}

describe('reminder-scheduler node', () => {
  let hub: TestHub;
  let queue: InMemoryQueue;
  const consumed: QueueMessage[] = [];

  beforeEach(async () => {
    consumed.length = 0;
    hub = await startTestHub();
    queue = new InMemoryQueue({ closeTimeoutMs: 1000 }, { logger: hub.logger });
    setHubServices({ ...getHubServices(), queue });
    await queue.consume('reminders', async (m) => void consumed.push(m));
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await queue.close();
    await hub.close();
  });

  async function load(props: Record<string, unknown> = {}): Promise<MessageTap> {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'rs', z: 'f1', type: 'reminder-scheduler', queue: 'reminders', offsets: '1m,2h', timeZone: 'America/New_York', smsTemplate: '', email: false, interval: '0.05', ...props, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load([withCatalog(schedulerInit, __dirname, 'reminder-scheduler')], flow);
    return new MessageTap('out');
  }

  test('an SIU schedules a content-free SMS that is queued, under its store record id, when due', async () => {
    const out = await load();
    // Due one minute before a start 61 s away; the 2 h offset is already past and skipped.
    flowNode('rs').receive({ payload: canarySiu('S12', { start: dtmIn(61_000), phone: '6175550123' }) });
    const msg = await out.next();
    expect(msg.reminders).toEqual({ scheduled: 1, cancelled: 0, noContact: false });
    await eventually(() => consumed.length === 1, 'the reminder on the queue');
    const m = consumed[0]!;
    const payload = decodePayload(m.body, m.headers, m.id).payload as { channel: string; to: string; text: string };
    expect(payload).toMatchObject({ channel: 'sms', to: '+16175550123' });
    expect(payload.text).toMatch(/^Reminder from your care team: you have an appointment on \w{3}, \w{3} \d+ at \d+:\d\d [AP]M\. Reply STOP to opt out\.$/);
    const record = await hub.store.get(m.id, { includeBody: true });
    expect(record).toMatchObject({ direction: 'outbound', endpoint: 'reminders', messageType: 'SMS', status: 'queued' });
    const leaked = JSON.stringify({ payload, headers: m.headers, logs: logEvents(), status: record });
    for (const canary of [CANARY_MRN, CANARY_NAME.split('^')[0]!, CANARY_DOB, 'Cycle monitoring', 'MONITORING']) expect(leaked).not.toContain(canary);
  });

  test('S15 cancels the pending reminders: their records become filtered and nothing is queued', async () => {
    const out = await load({ offsets: '1m' });
    flowNode('rs').receive({ payload: canarySiu('S12', { id: 'APPT-9', start: dtmIn(3_600_000), phone: '6175550123' }) });
    expect((await out.next()).reminders).toMatchObject({ scheduled: 1 });
    flowNode('rs').receive({ payload: canarySiu('S15', { id: 'APPT-9' }) });
    expect((await out.next()).reminders).toEqual({ scheduled: 0, cancelled: 1, noContact: false });
    const reminders = await hub.store.search({ endpoint: 'reminders', limit: 10 });
    expect(reminders.items.map((r) => r.status)).toEqual(['filtered']);
    expect(consumed).toEqual([]);
  });

  test('input that is neither an SIU nor an appointment event reaches Catch as PARSE, not retryable', async () => {
    await load();
    const caught = new MessageTap('caught');
    flowNode('rs').receive({ payload: { not: 'hl7' } });
    const msg = await caught.next();
    expect(msg.retryable).toBe(false);
    expect((msg.error as { message: string }).message).toMatch(/neither an SIU/);
  });
});
