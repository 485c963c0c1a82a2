import { HealthRegistry } from '../../adapters/shared/health-registry';
import { silentLogger } from '../../adapters/shared/logger';
import { clearHubServices, setHubServices } from '../../adapters/shared/registry';
import type { AlertListener, AlertSubscriptions } from '../../adapters/alerts';
import type { AlertEvent } from '../../adapters/alerts/types';
import type { MessageStore } from '../../adapters/store';
import { helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import hubAlertInit = require('./hub-alert');

helper.init(require.resolve('node-red'));

const hubAlertNode = withCatalog(hubAlertInit, __dirname, 'hub-alert');

/** Stands in for the hub's AlertService: the test pushes events, and sees who is subscribed. */
class FakeAlerts implements AlertSubscriptions {
  readonly listeners = new Set<AlertListener>();
  subscribe(l: AlertListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: AlertEvent): void {
    for (const l of this.listeners) l(e);
  }
}

const event = (over: Partial<AlertEvent> = {}): AlertEvent => ({
  id: 'evt-1',
  kind: 'fired',
  rule: 'lis-down',
  type: 'endpoint-down',
  at: '2026-01-05T09:00:00.000Z',
  since: '2026-01-05T08:59:00.000Z',
  condition: 'endpoint lis-mllp down for ≥ 60 s',
  value: 60,
  threshold: 60,
  unit: 'seconds',
  subjects: ['lis-mllp'],
  text: '[FIRING] lis-down: down: lis-mllp (error, 60 s) (endpoint lis-mllp down for ≥ 60 s)',
  ...over,
});

function flow(settings: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'hub-alert test' },
    { id: 'n1', z: 'f1', type: 'hub-alert', name: '', fired: true, reminder: true, recovered: true, rules: '', ...settings, wires: [['out']] },
    { id: 'out', z: 'f1', type: 'helper' },
  ];
}

describe('hub-alert node', () => {
  let alerts: FakeAlerts;

  beforeEach(async () => {
    alerts = new FakeAlerts();
    setHubServices({ store: {} as MessageStore, logger: silentLogger, health: new HealthRegistry(), alerts });
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    clearHubServices();
  });

  async function load(settings: Record<string, unknown> = {}): Promise<{ out: MessageTap; status: StatusTap }> {
    await helper.load(hubAlertNode, flow(settings));
    return { out: new MessageTap('out'), status: new StatusTap('n1') };
  }

  test('emits each alert with the text as payload, the event and template data; status follows the rule', async () => {
    const { out, status } = await load();
    expect(alerts.listeners.size).toBe(1);
    alerts.emit(event());
    const fired = await out.next();
    expect(fired).toMatchObject({ topic: 'alert.fired', payload: event().text, alert: event() });
    expect(fired.templateData).toEqual({ rule: 'lis-down', kind: 'fired', text: event().text, condition: event().condition, value: 60, threshold: 60, at: event().at, since: event().since });
    expect(await status.until((s) => s.fill === 'red')).toEqual({ fill: 'red', shape: 'ring', text: 'firing: lis-down' });

    alerts.emit(event({ id: 'evt-2', kind: 'recovered', text: '[RECOVERED] lis-down: endpoint lis-mllp is connected (was firing for 2 min)' }));
    expect(await out.next()).toMatchObject({ topic: 'alert.recovered', payload: expect.stringContaining('[RECOVERED]') });
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: 'recovered: lis-down' });
  });

  test('only the chosen kinds and rules pass', async () => {
    const { out } = await load({ reminder: false, rules: 'lis-down, lab-backlog' });
    alerts.emit(event({ id: 'a', kind: 'reminder' }));
    alerts.emit(event({ id: 'b', rule: 'other-rule' }));
    alerts.emit(event({ id: 'c', rule: 'lab-backlog' }));
    expect((await out.next()).alert).toMatchObject({ id: 'c' });
    expect(out.pending).toBe(0);
  });

  test('a redeploy unsubscribes the old node', async () => {
    await load();
    expect(alerts.listeners.size).toBe(1);
    await helper.unload();
    expect(alerts.listeners.size).toBe(0);
  });

  test('outside the hub it says so in its status and log, and sends nothing', async () => {
    clearHubServices();
    const { status } = await load();
    expect(await status.until((s) => s.fill === 'red')).toEqual({ fill: 'red', shape: 'ring', text: 'no alert service' });
    expect(JSON.stringify(logEvents())).toContain('alert service is not available');
  });
});
