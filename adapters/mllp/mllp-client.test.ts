import { once } from 'node:events';
import { connect as netConnect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { MllpClient } from './mllp-client';
import type { MllpClientOptions, MllpConnectOptions } from './mllp-client';
import { MllpClosedError, MllpConfigError, MllpConnectError, MllpFrameError, MllpTimeoutError } from './errors';
import { MllpDecoder, frame } from './mllp-framer';
import { MllpServer } from './mllp-server';

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i += 1) {
    if (condition()) return;
    await delay(5);
  }
  throw new Error(`gave up waiting for ${what}`);
}

interface ReceivedFrame {
  connection: number;
  text: string;
  reply(text: string): void;
}

/**
 * A scripted MLLP receiver: records frames per connection and answers only
 * when the test says so, which lets tests hold, delay or misdirect ACKs.
 */
class ScriptedReceiver {
  readonly frames: ReceivedFrame[] = [];
  readonly sockets: Socket[] = [];
  private constructor(private readonly server: Server) {}

  static async start(port = 0): Promise<ScriptedReceiver> {
    const server = createServer();
    const receiver = new ScriptedReceiver(server);
    server.on('connection', (socket) => {
      const connection = receiver.sockets.push(socket);
      socket.on('error', () => undefined);
      const decoder = new MllpDecoder({
        frame: (payload) =>
          receiver.frames.push({
            connection,
            text: payload.toString(),
            reply: (text) => {
              if (!socket.destroyed) socket.write(frame(text));
            },
          }),
      });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async frame(index: number): Promise<ReceivedFrame> {
    await until(() => this.frames.length > index, `frame ${index}`);
    return this.frames[index] as ReceivedFrame;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nobody listens on (bound, read back, released). */
async function unusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('MllpClient', () => {
  const clients: MllpClient[] = [];
  const receivers: ScriptedReceiver[] = [];
  const servers: MllpServer[] = [];

  function client(port: number, options: Partial<MllpClientOptions> = {}): MllpClient {
    const c = new MllpClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 10, maxDelayMs: 50 }, ...options });
    clients.push(c);
    return c;
  }

  async function receiver(port?: number): Promise<ScriptedReceiver> {
    const r = await ScriptedReceiver.start(port);
    receivers.push(r);
    return r;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('round-trips against MllpServer', async () => {
    const server = new MllpServer({ port: 0 }, async (payload) => `ACK for ${payload.length} bytes`);
    servers.push(server);
    await server.listen();
    const c = client(server.port ?? 0);
    const events: string[] = [];
    c.on('connected', () => events.push('connected'));
    expect((await c.send('MSH|1')).toString()).toBe('ACK for 5 bytes');
    expect((await c.send(Buffer.from('MSH|22'))).toString()).toBe('ACK for 6 bytes');
    expect(events).toEqual(['connected']);
    expect(c.connected).toBe(true);
    expect(c.pending).toBe(0);
  });

  it('keeps one frame in flight and queues the rest in call order', async () => {
    const r = await receiver();
    const c = client(r.port);
    const results = [c.send('one'), c.send('two'), c.send('three')];
    const first = await r.frame(0);
    await delay(20);
    expect(r.frames.map((f) => f.text)).toEqual(['one']);
    expect(c.pending).toBe(3);
    first.reply('ack-one');
    (await r.frame(1)).reply('ack-two');
    (await r.frame(2)).reply('ack-three');
    expect((await Promise.all(results)).map(String)).toEqual(['ack-one', 'ack-two', 'ack-three']);
    expect(new Set(r.frames.map((f) => f.connection)).size).toBe(1);
  });

  it('connects explicitly with connect()', async () => {
    const r = await receiver();
    const c = client(r.port);
    await c.connect();
    expect(c.connected).toBe(true);
    await c.connect();
    expect(r.sockets).toHaveLength(1);
  });

  describe('timeouts and stale responses', () => {
    it('times out a written send as retryable, resets the connection, and never hands its late ACK to the next send', async () => {
      const r = await receiver();
      const c = client(r.port);
      const stale: number[] = [];
      c.on('staleResponse', (info) => stale.push(info.bytes));

      const first = c.send('MSH|first', { timeoutMs: 50 });
      const held = await r.frame(0);
      const error = await first.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MllpTimeoutError);
      expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true, written: true, timeoutMs: 50 });

      const second = c.send('MSH|second');
      // The late ACK for the first message: it goes to the reset connection.
      held.reply('ACK|first');
      const next = await r.frame(1);
      expect(next.text).toBe('MSH|second');
      expect(next.connection).toBe(2);
      next.reply('ACK|second');
      expect((await second).toString()).toBe('ACK|second');
      expect(r.sockets[0]?.destroyed).toBe(true);
      expect(stale).toEqual([]);
    });

    it('discards and reports a response that arrives with no send waiting', async () => {
      const r = await receiver();
      const c = client(r.port);
      const stale: number[] = [];
      c.on('staleResponse', (info) => stale.push(info.bytes));
      const ok = c.send('MSH|1');
      (await r.frame(0)).reply('ACK|1');
      await ok;
      // An unsolicited or duplicate ACK on an idle connection.
      (r.frames[0] as { reply(t: string): void }).reply('ACK|dup');
      await until(() => stale.length === 1, 'stale response');
      expect(stale).toEqual([7]);
      const next = c.send('MSH|2');
      (await r.frame(1)).reply('ACK|2');
      expect((await next).toString()).toBe('ACK|2');
    });

    it('times out a queued send without writing it', async () => {
      const r = await receiver();
      const c = client(r.port);
      const first = c.send('held', { timeoutMs: 1000 });
      await r.frame(0);
      const queued = await c.send('queued', { timeoutMs: 20 }).catch((e: unknown) => e);
      expect(queued).toBeInstanceOf(MllpTimeoutError);
      expect(queued).toMatchObject({ written: false, retryable: true });
      r.frames[0]?.reply('ack');
      expect((await first).toString()).toBe('ack');
      await delay(20);
      expect(r.frames.map((f) => f.text)).toEqual(['held']);
    });

    it('rejects the send whose response is oversize and stays usable', async () => {
      const r = await receiver();
      const c = client(r.port, { maxFrameBytes: 16 });
      const frameErrors: string[] = [];
      c.on('frameError', (e) => frameErrors.push(e.kind));
      const big = c.send('1');
      (await r.frame(0)).reply('A'.repeat(100));
      const error = await big.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MllpFrameError);
      expect(error).toMatchObject({ kind: 'oversize', code: 'PARSE' });
      const next = c.send('2');
      (await r.frame(1)).reply('ok');
      expect((await next).toString()).toBe('ok');
      expect(frameErrors).toEqual(['oversize']);
    });
  });

  describe('connection failures', () => {
    it('rejects sends with a retryable CONNECT_FAILED when nobody listens', async () => {
      const port = await unusedPort();
      const c = client(port, { reconnect: false });
      const errors: Error[] = [];
      c.on('error', (e) => errors.push(e));
      const error = await c.send('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MllpConnectError);
      expect(error).toMatchObject({ code: 'CONNECT_FAILED', retryable: true, written: false });
      expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
      expect(errors).toHaveLength(1);
      await expect(c.connect()).rejects.toBeInstanceOf(MllpConnectError);
    });

    it('rejects the outstanding send when the connection drops before the response', async () => {
      const r = await receiver();
      const c = client(r.port);
      const pending = c.send('x');
      await r.frame(0);
      r.sockets[0]?.destroy();
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MllpConnectError);
      expect(error).toMatchObject({ written: true, retryable: true });
    });

    it('reconnects with backoff after the server restarts', async () => {
      const handler = async (payload: Buffer): Promise<string> => `ACK ${payload.toString()}`;
      const first = new MllpServer({ port: 0 }, handler);
      await first.listen();
      const port = first.port ?? 0;
      const c = client(port, { reconnect: { initialDelayMs: 20, maxDelayMs: 80, factor: 2, jitter: 0 } });
      const events: string[] = [];
      const delays: number[] = [];
      c.on('connected', () => events.push('connected'));
      c.on('disconnected', () => events.push('disconnected'));
      c.on('reconnecting', (info) => delays.push(info.delayMs));
      c.on('error', () => events.push('connect-failed'));
      expect((await c.send('1')).toString()).toBe('ACK 1');

      await first.close();
      await until(() => events.filter((e) => e === 'connect-failed').length >= 3, 'failed reconnect attempts');
      const second = new MllpServer({ port }, handler);
      servers.push(second);
      await second.listen();
      await until(() => c.connected, 'reconnect');
      expect((await c.send('2')).toString()).toBe('ACK 2');

      expect(events.slice(0, 2)).toEqual(['connected', 'disconnected']);
      expect(events.at(-1)).toBe('connected');
      // After a stable connection: the initial delay; then exponential and capped.
      expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80]);
    });

    it('reconnects on demand when automatic reconnect is off', async () => {
      const r = await receiver();
      const c = client(r.port, { reconnect: false });
      const one = c.send('1');
      (await r.frame(0)).reply('a1');
      await one;
      r.sockets[0]?.destroy();
      await until(() => !c.connected, 'disconnect');
      await delay(30);
      expect(r.sockets).toHaveLength(1);
      const two = c.send('2');
      (await r.frame(1)).reply('a2');
      expect((await two).toString()).toBe('a2');
      expect(r.sockets).toHaveLength(2);
    });

    it('opens sockets through the injected factory', async () => {
      const r = await receiver();
      const calls: MllpConnectOptions[] = [];
      const c = new MllpClient(
        { host: '127.0.0.1', port: r.port },
        {
          connect: (options, onConnect) => {
            calls.push(options);
            return netConnect({ host: options.host, port: options.port }, onConnect);
          },
        },
      );
      clients.push(c);
      const sent = c.send('x');
      (await r.frame(0)).reply('y');
      expect((await sent).toString()).toBe('y');
      expect(calls).toEqual([{ host: '127.0.0.1', port: r.port, tls: undefined }]);
    });
  });

  describe('close()', () => {
    it('is idempotent, rejects pending sends and refuses new ones', async () => {
      const r = await receiver();
      const c = client(r.port);
      const inFlight = c.send('1').catch((e: unknown) => e);
      const queued = c.send('2').catch((e: unknown) => e);
      await r.frame(0);
      const closing = c.close();
      expect(c.close()).toBe(closing);
      await closing;
      expect(await inFlight).toBeInstanceOf(MllpClosedError);
      expect(await queued).toMatchObject({ name: 'MllpClosedError', code: 'CONNECT_FAILED', retryable: true });
      await expect(c.send('3')).rejects.toBeInstanceOf(MllpClosedError);
      await until(() => r.sockets[0]?.destroyed === true || r.sockets[0]?.readableEnded === true, 'socket end');
      expect(c.connected).toBe(false);
    });

    it('resolves for a client that never connected, and while a connect is pending', async () => {
      await client(1).close();
      const port = await unusedPort();
      const c = client(port);
      const pending = c.send('x').catch((e: unknown) => e);
      await c.close();
      expect(await pending).toBeInstanceOf(Error);
    });

    it('stops reconnecting once closed', async () => {
      const port = await unusedPort();
      const c = client(port, { reconnect: { initialDelayMs: 5, maxDelayMs: 5 } });
      let attempts = 0;
      c.on('reconnecting', () => (attempts += 1));
      c.on('error', () => undefined);
      await c.send('x').catch(() => undefined);
      await c.close();
      const after = attempts;
      await delay(40);
      expect(attempts).toBe(after);
    });
  });

  it('refuses payloads that cannot be framed and invalid options', async () => {
    const c = client(1);
    await expect(c.send(Buffer.from([0x1c]))).rejects.toMatchObject({ kind: 'invalid-payload' });
    expect(() => new MllpClient({ host: '', port: 1 })).toThrow(MllpConfigError);
    expect(() => new MllpClient({ host: 'h', port: 0 })).toThrow(MllpConfigError);
    expect(() => new MllpClient({ host: 'h', port: 1, timeoutMs: 0 })).toThrow(MllpConfigError);
  });
});
