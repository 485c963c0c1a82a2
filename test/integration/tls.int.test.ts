import { readFileSync } from 'node:fs';
import https from 'node:https';
import { freePort, runHub, tempDataDir } from '../support/hub-process';
import { selfSignedCert } from '../support/self-signed';

function httpsGet(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

test('with HUB_TLS_CERT_FILE/KEY_FILE the hub serves HTTPS only', async () => {
  const { certFile, keyFile } = selfSignedCert();
  const port = await freePort();
  const { proc, exited, output } = runHub({ HUB_BIND: '127.0.0.1', HUB_PORT: String(port), HUB_MLLP_PORT: String(await freePort()), HUB_ASTM_PORT: String(await freePort()), HUB_DATA_DIR: tempDataDir(), HUB_TLS_CERT_FILE: certFile, HUB_TLS_KEY_FILE: keyFile, HUB_ADMIN_PASSWORD: 'tls-test-admin-password' });
  try {
    const ca = readFileSync(certFile);
    let status = 0;
    for (let i = 0; i < 150 && status !== 200; i++) {
      status = await httpsGet(`https://localhost:${port}/readyz`, ca).catch(() => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  } finally {
    proc.kill('SIGTERM');
    const exit = await exited;
    expect(exit.code).toBe(0);
  }
  expect(output()).toContain('https://');
});
