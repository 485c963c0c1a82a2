import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * fauxqs, the local SQS-compatible server, started by the tests in library
 * mode on a loopback port chosen by the OS. fauxqs is an ES module, which
 * jest's CommonJS runtime cannot load, so it runs in a child process that
 * imports it, prints its port and stops when its stdin closes (also when
 * this process dies).
 */
export interface Fauxqs {
  endpoint: string;
  /** An SDK client pointed at it (dummy credentials; fauxqs checks none). */
  client(): SQSClient;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

const CHILD = `
import { startFauxqs } from 'fauxqs';
const server = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false });
process.stdout.write(JSON.stringify({ port: server.port }) + '\\n');
process.stdin.resume();
process.stdin.on('end', () => server.stop().finally(() => process.exit(0)));
`;

export async function startFauxqs(timeoutMs = 15_000): Promise<Fauxqs> {
  const proc: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fauxqs did not start within ${timeoutMs} ms: ${err}`)), timeoutMs);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`fauxqs printed something unexpected: ${line}`));
        }
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fauxqs exited with ${String(code)} before it was ready (is the fauxqs package installed?): ${err}`));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: SQSClient[] = [];
  return {
    endpoint,
    client() {
      const c = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 2 });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients.splice(0)) c.destroy();
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
