import { join } from 'node:path';
import { helper, logEvents, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import emailInit = require('../sendgrid-email/sendgrid-email');
import accountInit = require('./sendgrid-account');

helper.init(require.resolve('node-red'));

const KEY = 'SG.loopback-key.0123456789abcdef';

describe('sendgrid-account config node', () => {
  let hub: HubHarness;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  });

  async function status(account: Record<string, unknown>, credentials: Record<string, unknown>): Promise<StatusTap> {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'sendgrid-account', fromEmail: 'noreply@clinic.example', fromName: '', replyTo: '', categories: '', asmGroupId: '', tracking: false, sandbox: false, ...account },
      { id: 'e1', z: 'f1', type: 'sendgrid-email', account: 'acct', templateId: '', categories: '', wires: [[]] },
    ];
    await helper.load([withCatalog(accountInit, __dirname, 'sendgrid-account'), withCatalog(emailInit, join(__dirname, '..', 'sendgrid-email'), 'sendgrid-email')], flow, { acct: credentials });
    return new StatusTap('e1');
  }

  test.each([
    ['an API key that is not SG.…', {}, { apiKey: 'not-a-sendgrid-key' }],
    ['a from address that is not an address', { fromEmail: 'clinic' }, { apiKey: KEY }],
    ['more than 10 categories', { categories: 'a,b,c,d,e,f,g,h,i,j,k' }, { apiKey: KEY }],
  ])('%s is a configuration error, logged without the key', async (_label, account, credentials) => {
    const s = await status(account, credentials);
    await s.until((x) => x.text === 'error: CONFIG');
    expect(JSON.stringify(logEvents())).not.toContain(KEY);
    expect(JSON.stringify(logEvents())).not.toContain('not-a-sendgrid-key');
  });

  test('without a from address or key: "not configured"', async () => {
    const s = await status({ fromEmail: '' }, { apiKey: KEY });
    await s.until((x) => x.text === 'not configured');
  });
});
