/**
 * Child-process half of astm-serial-close-race.int.test.ts: opens a socat pty
 * pair ITERATIONS times, reads through the hang-up aware binding while the
 * other end writes, closes the port while reads are in flight (every other
 * time after killing the device first), and forces a GC after each close.
 * A read that re-arms a closed port's poller crashes this process with
 * SIGSEGV once the GC has freed the poller; run in a child so that a
 * regression fails a test instead of killing the jest worker.
 *
 * Usage: node --expose-gc serial-close-stress.js <iterations> <work dir>
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { hangupAwareBinding } from '../../adapters/astm/serial-hangup-binding';
import type { PortBinding } from '../../adapters/astm/serial-hangup-binding';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 300);
  const dir = process.argv[3] ?? '/tmp';
  if (!gc) throw new Error('run with --expose-gc');
  // The hub's own binding (adapters/astm/astm-serial.ts passes it the same way: an untyped SerialPort option).
  const binding = hangupAwareBinding(SerialPort.binding as unknown as PortBinding);
  for (let i = 0; i < iterations; i++) {
    const hubEnd = join(dir, 'hub-end');
    const deviceEnd = join(dir, 'device-end');
    rmSync(hubEnd, { force: true });
    rmSync(deviceEnd, { force: true });
    const socat = spawn('socat', [`pty,raw,echo=0,link=${hubEnd}`, `pty,raw,echo=0,link=${deviceEnd}`], { stdio: 'ignore' });
    while (!existsSync(hubEnd) || !existsSync(deviceEnd)) await sleep(5);
    const hub = new SerialPort({ path: hubEnd, baudRate: 9600, binding, autoOpen: false } as ConstructorParameters<typeof SerialPort>[0]);
    const device = new SerialPort({ path: deviceEnd, baudRate: 9600, autoOpen: false });
    hub.on('error', () => undefined);
    device.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => hub.open((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => device.open((err) => (err ? reject(err) : resolve())));
    hub.on('data', () => undefined);
    for (let k = 0; k < 5; k++) {
      device.write(Buffer.from('\x05ENQ-EOT\x04'));
      await sleep(1 + (i % 3));
    }
    if (i % 2 === 1) socat.kill('SIGKILL');
    await new Promise<void>((resolve) => hub.close(() => resolve()));
    await new Promise<void>((resolve) => device.close(() => resolve()));
    socat.kill('SIGKILL');
    gc();
    await sleep(2);
    gc();
  }
  process.stdout.write(`closed ${iterations} ports with reads in flight\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`serial-close-stress: ${(err as Error).message}\n`);
  process.exit(1);
});
