import { join } from 'node:path';
import { helper, logEvents, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import x12DeliverInit = require('../x12-deliver/x12-deliver');
import clearinghouseInit = require('./clearinghouse');

helper.init(require.resolve('node-red'));

const PIN = 'SHA256:' + 'A'.repeat(43);
const KEY = '-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ== -----END OPENSSH PRIVATE KEY-----';

describe('clearinghouse config node', () => {
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  async function statusWith(settings: Record<string, unknown>, credentials: Record<string, unknown>): Promise<string | undefined> {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'ch', type: 'clearinghouse', transport: 'sftp', host: 'sftp.clearinghouse.example', port: '22', username: 'clinic', remoteDir: '/inbound', tempDir: '', hostKeySha256: PIN, url: '', ...settings },
      { id: 'd1', z: 'f1', type: 'x12-deliver', clearinghouse: 'ch', wires: [[]] },
    ];
    await helper.load([withCatalog(clearinghouseInit, __dirname, 'clearinghouse'), withCatalog(x12DeliverInit, join(__dirname, '..', 'x12-deliver'), 'x12-deliver')], flow, { ch: credentials });
    const status = new StatusTap('d1');
    await new Promise((r) => setTimeout(r, 20));
    return status.last?.text ?? 'ready';
  }

  test.each([
    ['complete SFTP settings (nothing connects until the first delivery)', {}, { privateKey: KEY }, 'ready'],
    ['no private key or password', {}, {}, 'not configured'],
    ['no host key pin', { hostKeySha256: '' }, { privateKey: KEY }, 'not configured'],
    ['no inbox dir', { remoteDir: '' }, { privateKey: KEY }, 'not configured'],
    ['a host key pin that is not a SHA256 fingerprint', { hostKeySha256: 'MD5:aa:bb' }, { privateKey: KEY }, 'error: CONFIG'],
    ['a port out of range', { port: '70000' }, { password: 'sftp-password-1' }, 'error: CONFIG'],
    ['HTTPS without a URL', { transport: 'https' }, { token: 'tkn' }, 'not configured'],
    ['HTTPS with a client certificate but no key', { transport: 'https', url: 'https://ch.example/837' }, { cert: '-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----' }, 'error: CONFIG'],
  ])('%s', async (_label, settings, credentials, expected) => {
    expect(await statusWith(settings, credentials)).toBe(expected);
    const logged = JSON.stringify(logEvents());
    expect(logged).not.toContain('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ');
    expect(logged).not.toContain('sftp-password-1');
  });
});
