import type { Duplex } from 'node:stream';
import { AstmConnection } from './astm-connection';
import type { AstmReceivedMessage } from './astm-connection';
import { AstmSerial } from './astm-serial';
import type { AstmSerialDeps, AstmSerialOptions, SerialPortSettings } from './astm-serial';
import { AstmConfigError } from './errors';
import { duplexPair } from './memory-duplex';

const RESULT = ['H|\\^&|||ANALYZER', 'P|1', 'O|1|S-1||^^^E2', 'R|1|^^^E2|350|pg/mL', 'L|1|N', ''].join('\r');
const ORDER = ['H|\\^&|||IVF-HUB', 'P|1', 'O|1|S-2||^^^LH', 'L|1|N', ''].join('\r');
const FAST = { reconnect: { initialDelayMs: 5, maxDelayMs: 20, factor: 2, jitter: 0 }, replyTimeoutMs: 2000, establishTimeoutMs: 2000 };

/** An in-memory "device": each open hands the hub one end of a fresh pair; the test plays the analyzer on the other. */
class FakeDevice {
  readonly opened: SerialPortSettings[] = [];
  readonly analyzers: AstmConnection[] = [];
  /** The analyzer ends of the lines, to pull the plug. */
  readonly lines: Duplex[] = [];
  readonly received: string[] = [];
  /** Open errors to return, one per open, before opens succeed. */
  failures: Error[] = [];
  private arrived: ((c: AstmConnection) => void)[] = [];

  readonly openPort: NonNullable<AstmSerialDeps['openPort']> = (settings, onOpen) => {
    this.opened.push(settings);
    const [hub, analyzerEnd] = duplexPair();
    const failure = this.failures.shift();
    process.nextTick(() => {
      if (failure) {
        hub.destroy();
        onOpen(failure);
        return;
      }
      const analyzer = new AstmConnection(analyzerEnd, (m) => void this.received.push(m.text), { role: 'instrument', replyTimeoutMs: 2000, establishTimeoutMs: 2000 });
      this.analyzers.push(analyzer);
      this.lines.push(analyzerEnd);
      for (const resolve of this.arrived.splice(0)) resolve(analyzer);
      onOpen(null);
    });
    return hub;
  };

  /** The analyzer end of the n-th successful open (1-based). */
  analyzer(n: number): Promise<AstmConnection> {
    const have = this.analyzers[n - 1];
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const check = (): void => {
        const c = this.analyzers[n - 1];
        if (c) resolve(c);
        else this.arrived.push(check);
      };
      this.arrived.push(check);
    });
  }
}

function until<T extends unknown[]>(emitter: AstmSerial, event: 'connected' | 'disconnected' | 'reconnecting', count = 1): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = (..._args: T): void => {
      if (++seen >= count) {
        emitter.off(event, on as never);
        resolve();
      }
    };
    emitter.on(event, on as never);
  });
}

describe('AstmSerial', () => {
  let serial: AstmSerial | undefined;
  afterEach(async () => {
    await serial?.close();
    serial = undefined;
  });

  function create(device: FakeDevice, options: Partial<AstmSerialOptions> = {}, handler: (m: AstmReceivedMessage) => void = () => undefined): AstmSerial {
    serial = new AstmSerial({ path: '/dev/ttyUSB0', ...FAST, ...options }, handler, { openPort: device.openPort });
    return serial;
  }

  test('opens the port with the line settings (defaults 9600 8N1, no flow control)', async () => {
    const device = new FakeDevice();
    const s = create(device);
    const connected = until(s, 'connected');
    s.start();
    await connected;
    expect(device.opened).toEqual([{ path: '/dev/ttyUSB0', baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false }]);
    expect(s.connected).toBe(true);
  });

  test('delivers the messages the analyzer sends', async () => {
    const device = new FakeDevice();
    const got: string[] = [];
    const s = create(device, {}, (m) => void got.push(m.text));
    const delivered = new Promise<void>((resolve) => s.once('delivered', () => resolve()));
    s.start();
    const analyzer = await device.analyzer(1);
    await analyzer.send([RESULT]);
    await delivered;
    expect(got).toEqual([RESULT]);
  });

  test('send goes out as the E1381 host and reaches the analyzer', async () => {
    const device = new FakeDevice();
    const s = create(device);
    const report = await s.send([ORDER]);
    expect(report).toMatchObject({ messages: 1, records: 4 });
    expect(device.received).toEqual([ORDER]);
  });

  test('reopens with backoff after the device disappears, and works on the new port', async () => {
    const device = new FakeDevice();
    const got: string[] = [];
    const s = create(device, {}, (m) => void got.push(m.text));
    const events: string[] = [];
    s.on('connected', () => events.push('connected'));
    s.on('disconnected', () => events.push('disconnected'));
    s.on('reconnecting', ({ attempt }) => events.push(`reconnecting ${attempt}`));
    const twice = until(s, 'connected', 2);
    s.start();
    await device.analyzer(1);
    // Unplugged: the line drops under the hub.
    device.lines[0]!.destroy();
    await twice;
    expect(events).toEqual(['connected', 'disconnected', 'reconnecting 1', 'connected']);
    expect(device.opened).toHaveLength(2);

    const second = await device.analyzer(2);
    const delivered = new Promise<void>((resolve) => s.once('delivered', () => resolve()));
    await second.send([RESULT]);
    await delivered;
    expect(got).toEqual([RESULT]);
    await s.send([ORDER]);
    expect(device.received).toEqual([ORDER]);
  });

  test('a failed open is retried; a send waits for the open port', async () => {
    const device = new FakeDevice();
    device.failures = [new Error('ENOENT: no such file'), new Error('EBUSY')];
    const s = create(device);
    const errors: string[] = [];
    s.on('error', (e) => errors.push(e.message));
    await s.send([ORDER]);
    expect(device.received).toEqual([ORDER]);
    expect(device.opened).toHaveLength(3);
    expect(errors).toEqual(['cannot open serial port /dev/ttyUSB0', 'cannot open serial port /dev/ttyUSB0']);
  });

  test('close is idempotent, stops reopening and fails waiting sends', async () => {
    const device = new FakeDevice();
    device.failures = [new Error('ENOENT')];
    const s = create(device, { reconnect: { initialDelayMs: 60_000, jitter: 0 } });
    const pending = s.send([ORDER]);
    await until(s, 'reconnecting');
    await Promise.all([s.close(), s.close()]);
    await expect(pending).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    await expect(s.send([ORDER])).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(device.opened).toHaveLength(1);
  });

  test('closing an open port ends the line', async () => {
    const device = new FakeDevice();
    const s = create(device);
    const connected = until(s, 'connected');
    s.start();
    await connected;
    const analyzer = await device.analyzer(1);
    const analyzerClosed = new Promise<void>((resolve) => analyzer.once('close', () => resolve()));
    await s.close();
    await analyzerClosed;
    expect(s.connected).toBe(false);
    expect(device.opened).toHaveLength(1);
  });

  test.each([
    [{ path: ' ' }, 'path'],
    [{ baudRate: 300 }, 'baudRate'],
    [{ baudRate: 230_400 }, 'baudRate'],
    [{ dataBits: 6 }, 'dataBits'],
    [{ parity: 'mark' }, 'parity'],
    [{ stopBits: 1.5 }, 'stopBits'],
  ])('rejects line settings %j naming the key', (bad, key) => {
    expect(() => new AstmSerial({ path: '/dev/ttyS0', ...(bad as Partial<AstmSerialOptions>) }, () => undefined)).toThrow(AstmConfigError);
    try {
      new AstmSerial({ path: '/dev/ttyS0', ...(bad as Partial<AstmSerialOptions>) }, () => undefined);
    } catch (err) {
      expect((err as AstmConfigError).key).toBe(key);
    }
  });
});
