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

  describe('settings from the environment (reference flows ship ${HUB_CLEARINGHOUSE_…} references)', () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const k of Object.keys(process.env)) if (k.startsWith('HUB_CLEARINGHOUSE_')) delete process.env[k];
      Object.assign(process.env, saved);
    });
    const envFlow = { transport: 'sftp', host: '', username: '', remoteDir: '', hostKeySha256: '${HUB_CLEARINGHOUSE_HOST_KEY}', endpointUrl: '${HUB_CLEARINGHOUSE_URL}', passwordEnv: 'HUB_CLEARINGHOUSE_PASSWORD', privateKeyEnv: 'HUB_CLEARINGHOUSE_PRIVATE_KEY', tokenEnv: 'HUB_CLEARINGHOUSE_TOKEN' };

    test('unset variables (the literal ${…} Node-RED leaves) mean not configured, with nothing logged', async () => {
      expect(await statusWith(envFlow, {})).toBe('not configured');
      expect(logEvents().filter((e) => ['clearinghouse', 'x12-deliver'].includes((e as { type?: string }).type ?? ''))).toEqual([]);
    });

    test('an sftp:// URL with the password from the variable the node names makes a ready SFTP delivery', async () => {
      process.env.HUB_CLEARINGHOUSE_PASSWORD = 'sftp-password-1';
      expect(await statusWith({ ...envFlow, endpointUrl: 'sftp://clinic@127.0.0.1:2222/inbound', hostKeySha256: PIN }, {})).toBe('ready');
      expect(JSON.stringify(logEvents())).not.toContain('sftp-password-1');
    });

    test('an sftp:// URL without any secret is not configured', async () => {
      expect(await statusWith({ ...envFlow, endpointUrl: 'sftp://clinic@127.0.0.1/inbound', hostKeySha256: PIN }, {})).toBe('not configured');
    });

    test('a password inside the sftp:// URL is refused without echoing it', async () => {
      expect(await statusWith({ ...envFlow, endpointUrl: 'sftp://clinic:sftp-password-1@127.0.0.1/inbound', hostKeySha256: PIN }, {})).toBe('error: CONFIG');
      expect(JSON.stringify(logEvents())).not.toContain('sftp-password-1');
    });

    test('an https:// URL switches the transport to HTTPS', async () => {
      process.env.HUB_CLEARINGHOUSE_TOKEN = 'ch-token-1';
      expect(await statusWith({ ...envFlow, endpointUrl: 'https://ch.example/837' }, {})).toBe('ready');
    });

    test('a secret variable outside HUB_CLEARINGHOUSE_ is refused: a flow cannot send another hub secret to its host', async () => {
      process.env.HUB_ADMIN_PASSWORD = 'admin-password-not-for-sftp';
      expect(await statusWith({ ...envFlow, endpointUrl: 'sftp://clinic@127.0.0.1/inbound', hostKeySha256: PIN, passwordEnv: 'HUB_ADMIN_PASSWORD' }, {})).toBe('error: CONFIG');
      expect(JSON.stringify(logEvents())).not.toContain('admin-password-not-for-sftp');
    });
  });
});
