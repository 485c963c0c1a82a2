import { join } from 'node:path';
import { helper, logEvents, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import smsInit = require('../twilio-sms/twilio-sms');
import webhookInit = require('../twilio-webhook/twilio-webhook');
import accountInit = require('./twilio-account');

helper.init(require.resolve('node-red'));

const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const SERVICE = 'MG' + 'fedcba9876543210'.repeat(2);
const TOKEN = 'loopback-auth-token-6e5d4c3b2a19';

describe('twilio-account config node', () => {
  let hub: HubHarness | undefined;

  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub?.close();
    hub = undefined;
  });

  async function statuses(account: Record<string, unknown>, credentials: Record<string, unknown> = { acct: { authToken: TOKEN } }, withStore = true): Promise<{ sms: StatusTap; webhook: StatusTap }> {
    hub = await startHubHarness({ withStore });
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'twilio-account', accountSid: ACCOUNT, messagingServiceSid: SERVICE, publicBaseUrl: 'https://hub.clinic.example/in', statusPath: '/twilio/status', timeZone: 'America/New_York', quietHours: true, quietStart: '21:00', quietEnd: '08:00', ...account },
      { id: 's1', z: 'f1', type: 'twilio-sms', account: 'acct', timeCritical: false, wires: [[], []] },
      { id: 'w1', z: 'f1', type: 'twilio-webhook', account: 'acct', inboundPath: '/twilio/inbound', wires: [[], []] },
    ];
    const inits = [withCatalog(accountInit, __dirname, 'twilio-account'), withCatalog(smsInit, join(__dirname, '..', 'twilio-sms'), 'twilio-sms'), withCatalog(webhookInit, join(__dirname, '..', 'twilio-webhook'), 'twilio-webhook')];
    await helper.load(inits.map((i) => hub!.capture(i)), flow, credentials);
    return { sms: new StatusTap('s1'), webhook: new StatusTap('w1') };
  }

  test('fully configured: the sender is ready and the callbacks listen', async () => {
    const { webhook } = await statuses({});
    await webhook.until((s) => s.text === 'listening');
  });

  test.each([
    ['an account SID of the wrong shape', { accountSid: 'AC123' }],
    ['a messaging service SID of the wrong shape', { messagingServiceSid: 'PN' + '0'.repeat(32) }],
    ['an unknown time zone', { timeZone: 'Europe/Atlantis' }],
    ['quiet hours that are not HH:MM', { quietStart: '9pm' }],
    ['a status path with a parameter', { statusPath: '/twilio/:sid' }],
  ])('%s is a configuration error; the token is never logged', async (_label, account) => {
    const { sms, webhook } = await statuses(account);
    await sms.until((s) => s.text === 'error: CONFIG');
    await webhook.until((s) => s.text === 'error: CONFIG');
    expect(JSON.stringify(logEvents())).not.toContain(TOKEN);
  });

  test('no auth token: both "not configured"; outside the hub (no store) the account refuses to run', async () => {
    const unconfigured = await statuses({}, {});
    await unconfigured.sms.until((s) => s.text === 'not configured');
    await unconfigured.webhook.until((s) => s.text === 'not configured');
    await helper.unload();
    await hub?.close();
    const bare = await statuses({}, { acct: { authToken: TOKEN } }, false);
    await bare.sms.until((s) => s.text === 'error: CONFIG');
  });

  describe('settings from the environment (the reference flows ship ${HUB_TWILIO_…})', () => {
    afterEach(() => {
      delete process.env.HUB_TWILIO_AUTH_TOKEN;
      delete process.env.HUB_TWILIO_ACCOUNT_SID;
    });
    const fromEnv = { accountSid: '${HUB_TWILIO_ACCOUNT_SID}', messagingServiceSid: SERVICE, publicBaseUrl: '${HUB_PUBLIC_URL}', authTokenEnv: 'HUB_TWILIO_AUTH_TOKEN' };

    test('unset variables: not configured, and nothing logged by the account', async () => {
      const { sms, webhook } = await statuses(fromEnv, {});
      await sms.until((s) => s.text === 'not configured');
      await webhook.until((s) => s.text === 'not configured');
      expect(logEvents().filter((e) => (e as { type?: string }).type === 'twilio-account')).toEqual([]);
    });

    test('set variables: the token comes from the one the node names and the webhook listens', async () => {
      process.env.HUB_TWILIO_ACCOUNT_SID = ACCOUNT;
      process.env.HUB_TWILIO_AUTH_TOKEN = TOKEN;
      const { webhook } = await statuses({ ...fromEnv, accountSid: ACCOUNT, publicBaseUrl: 'https://hub.clinic.example/in' }, {});
      await webhook.until((s) => s.text === 'listening');
      expect(JSON.stringify(logEvents())).not.toContain(TOKEN);
    });

    test('a token variable outside HUB_TWILIO_ is a configuration error', async () => {
      process.env.HUB_ADMIN_PASSWORD_FOR_TEST = 'not-for-twilio-000';
      const { webhook } = await statuses({ ...fromEnv, accountSid: ACCOUNT, authTokenEnv: 'HUB_ADMIN_PASSWORD_FOR_TEST' }, {});
      await webhook.until((s) => s.text === 'error: CONFIG');
      expect(JSON.stringify(logEvents())).not.toContain('not-for-twilio-000');
      delete process.env.HUB_ADMIN_PASSWORD_FOR_TEST;
    });
  });
});
