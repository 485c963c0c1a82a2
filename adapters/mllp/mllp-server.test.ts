import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { LogMeta, Logger } from '../shared/logger';
import { MllpConfigError, MllpFrameError, MllpHandlerError, MllpListenError, MllpPeerRejectedError } from './errors';
import { MllpDecoder, frame } from './mllp-framer';
import { MllpServer } from './mllp-server';
import type { MllpDisconnectInfo, MllpServerFactoryOptions, MllpServerOptions } from './mllp-server';
import type { MllpConnectionContext, MllpFrameHandler } from './mllp-server-connection';

const CANARY = 'CANARY^PATIENT';
const message = (controlId: string): string => `MSH|^~\\&|LAB|CLINIC|EMR|CLINIC|20240101||ORU^R01|${controlId}|P|2.5.1\rPID|1||123||${CANARY}\r`;

/** Captures every log line so tests can prove no payload text reaches the logs. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (msg: string, meta?: LogMeta): void => {
    lines.push(`${level} ${msg} ${JSON.stringify(meta ?? {})}`);
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A raw MLLP peer: writes bytes, collects decoded response frames. */
class RawPeer {
  readonly frames: Buffer[] = [];
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    const decoder = new MllpDecoder({
      frame: (payload) => {
        this.frames.push(payload);
        for (const w of this.waiters.splice(0)) w();
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawPeer> {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false });
    await once(socket, 'connect');
    return new RawPeer(socket);
  }

  write(...parts: Array<Buffer | string>): void {
    this.socket.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? frame(p) : p))));
  }

  async waitFor(count: number): Promise<string[]> {
    while (this.frames.length < count) {
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), this.closed]);
      if (this.socket.destroyed && this.frames.length < count) throw new Error(`connection closed after ${this.frames.length} of ${count} frames`);
    }
    return this.frames.map((f) => f.toString());
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const echoAck: MllpFrameHandler = async (payload) => `ACK:${controlIdOf(payload)}`;

function controlIdOf(payload: Buffer): string {
  return payload.toString().split('\r')[0]?.split('|')[9] ?? '?';
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('MllpServer', () => {
  const servers: MllpServer[] = [];
  const peers: RawPeer[] = [];
  let logger: ReturnType<typeof recordingLogger>;

  async function start(options: Partial<MllpServerOptions> = {}, handler: MllpFrameHandler = echoAck): Promise<MllpServer> {
    const server = new MllpServer({ port: 0, ...options }, handler, { logger });
    servers.push(server);
    await server.listen();
    return server;
  }

  async function peer(server: MllpServer, options?: { allowHalfOpen?: boolean }): Promise<RawPeer> {
    const p = await RawPeer.open(server.port ?? 0, options);
    peers.push(p);
    return p;
  }

  beforeEach(() => {
    logger = recordingLogger();
  });

  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await Promise.all(servers.splice(0).map((s) => s.close()));
    // STYLE.md §8: whatever happened, no payload text reached the logs.
    expect(logger.lines.join('\n')).not.toContain('CANARY');
  });

  it('answers a frame with the framed handler response and exposes the bound port', async () => {
    const contexts: MllpConnectionContext[] = [];
    const server = await start({}, async (payload, ctx) => {
      contexts.push(ctx);
      return `ACK:${controlIdOf(payload)}`;
    });
    expect(server.port).toBeGreaterThan(0);
    expect(server.address?.address).toBe('127.0.0.1');
    const p = await peer(server);
    p.write(message('4711'));
    expect(await p.waitFor(1)).toEqual(['ACK:4711']);
    expect(contexts).toEqual([{ connectionId: 1, remoteAddress: '127.0.0.1', remotePort: p.socket.localPort }]);
    expect(server.connections).toBe(1);
  });

  it('accepts Buffer responses and sends nothing for undefined', async () => {
    const server = await start({}, async (payload) => {
      const id = controlIdOf(payload);
      return id === 'silent' ? undefined : Buffer.from(`ACK:${id}`);
    });
    const p = await peer(server);
    p.write(message('silent'), message('2'));
    expect(await p.waitFor(1)).toEqual(['ACK:2']);
  });

  it('handles frames of one connection one at a time and answers in arrival order', async () => {
    let running = 0;
    let maxRunning = 0;
    const handled: string[] = [];
    // Earlier frames take longer: concurrent handling would reorder the ACKs.
    const server = await start({}, async (payload) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      const id = controlIdOf(payload);
      await delay(Math.max(0, 30 - Number(id) * 5));
      handled.push(id);
      running -= 1;
      return `ACK:${id}`;
    });
    const p = await peer(server);
    p.write(message('1'), message('2'), message('3'), message('4'), message('5'));
    expect(await p.waitFor(5)).toEqual(['ACK:1', 'ACK:2', 'ACK:3', 'ACK:4', 'ACK:5']);
    expect(handled).toEqual(['1', '2', '3', '4', '5']);
    expect(maxRunning).toBe(1);
  });

  it('answers a pipelining peer in order while pausing its reads (backpressure)', async () => {
    const server = await start({}, async (payload) => {
      await new Promise((resolve) => setImmediate(resolve));
      return `ACK:${controlIdOf(payload)}`;
    });
    const p = await peer(server);
    const ids = Array.from({ length: 200 }, (_, i) => String(i));
    p.write(...ids.map(message));
    expect(await p.waitFor(ids.length)).toEqual(ids.map((id) => `ACK:${id}`));
  });

  it('stops a listen() that is still binding when close() is called', async () => {
    const server = new MllpServer({ port: 0 }, echoAck);
    const listening = server.listen().catch((e: unknown) => e);
    await server.close();
    expect(await listening).toMatchObject({ name: 'MllpClosedError' });
    expect(server.port).toBeUndefined();
  });

  it('keeps connections independent', async () => {
    const server = await start();
    const [a, b] = await Promise.all([peer(server), peer(server)]);
    a?.write(message('A1'));
    b?.write(message('B1'));
    expect(await a?.waitFor(1)).toEqual(['ACK:A1']);
    expect(await b?.waitFor(1)).toEqual(['ACK:B1']);
    expect(server.connections).toBe(2);
  });

  it('reports garbage and oversize frames without payload content, and keeps serving', async () => {
    const server = await start({ maxFrameBytes: 200 });
    const errors: Array<{ kind: string; bytes: number; connectionId: number; message: string }> = [];
    server.on('frameError', (err, info) => errors.push({ kind: err.kind, bytes: err.bytes, connectionId: info.connectionId, message: err.message }));
    const p = await peer(server);
    const big = message('big') + 'OBX|1|TX|||' + CANARY.repeat(20) + '\r';
    p.write(Buffer.from(`junk ${CANARY}\r\n`), big, message('1'));
    expect(await p.waitFor(1)).toEqual(['ACK:1']);
    expect(errors.map((e) => e.kind)).toEqual(['garbage', 'oversize']);
    expect(errors[0]?.bytes).toBe(`junk ${CANARY}\r\n`.length);
    expect(errors[1]?.bytes).toBe(Buffer.byteLength(big));
    expect(errors.every((e) => e.connectionId === 1 && !e.message.includes('CANARY'))).toBe(true);
  });

  it('closes the connection when the handler rejects, drops the frames behind it and reports it', async () => {
    const handled: string[] = [];
    const server = await start({}, async (payload) => {
      const id = controlIdOf(payload);
      handled.push(id);
      if (id === 'bad') throw new Error(`cannot store ${CANARY}`);
      return `ACK:${id}`;
    });
    const errors: Error[] = [];
    server.on('error', (err) => errors.push(err));
    const disconnects: MllpDisconnectInfo[] = [];
    server.on('disconnect', (info) => disconnects.push(info));
    const p = await peer(server);
    p.write(message('1'), message('bad'), message('3'));
    await p.closed;
    expect(p.frames.map(String)).toEqual(['ACK:1']);
    expect(handled).toEqual(['1', 'bad']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MllpHandlerError);
    expect(errors[0]).toMatchObject({ code: 'PROVIDER', connectionId: 1 });
    expect(errors[0]?.message).not.toContain('CANARY');
    while (disconnects.length === 0) await delay(5);
    expect(disconnects).toEqual([expect.objectContaining({ connectionId: 1, reason: 'handler-error', errorCode: 'PROVIDER' })]);
  });

  it('does not crash when a handler fails and nobody listens for errors', async () => {
    const server = await start({}, async () => {
      throw new Error('boom');
    });
    const p = await peer(server);
    p.write(message('1'));
    await p.closed;
    expect(logger.lines.some((l) => l.startsWith('error mllp frame handler failed'))).toBe(true);
  });

  it('treats a response that cannot be framed as a handler failure', async () => {
    const server = await start({}, async () => Buffer.from([0x41, 0x0b]));
    const errors: Error[] = [];
    server.on('error', (err) => errors.push(err));
    const p = await peer(server);
    p.write(message('1'));
    await p.closed;
    expect(errors[0]).toBeInstanceOf(MllpHandlerError);
    expect((errors[0] as Error).cause).toBeInstanceOf(MllpFrameError);
  });

  it('still answers a peer that half-closes after sending', async () => {
    const server = await start({}, async (payload) => {
      await delay(20);
      return `ACK:${controlIdOf(payload)}`;
    });
    const p = await peer(server, { allowHalfOpen: true });
    p.write(message('1'), message('2'));
    p.socket.end();
    expect(await p.waitFor(2)).toEqual(['ACK:1', 'ACK:2']);
    await p.closed;
  });

  describe('allowedPeers', () => {
    it('destroys connections from other addresses at accept and reports them', async () => {
      const handler = jest.fn(echoAck);
      const server = await start({ allowedPeers: ['10.9.9.9', '192.168.0.0/16'] }, handler);
      const rejected = once(server, 'rejected') as Promise<[MllpPeerRejectedError, { remoteAddress: string; remotePort: number }]>;
      const p = await peer(server);
      const localPort = p.socket.localPort;
      p.write(message('1'));
      await p.closed;
      const [error, info] = await rejected;
      expect(error).toBeInstanceOf(MllpPeerRejectedError);
      expect(error).toMatchObject({ code: 'AUTH', retryable: false, reason: 'peer-not-allowed', remoteAddress: '127.0.0.1' });
      expect(info.remotePort).toBe(localPort);
      expect(handler).not.toHaveBeenCalled();
      expect(p.frames).toEqual([]);
      expect(server.connections).toBe(0);
    });

    it('lets listed addresses in', async () => {
      const server = await start({ allowedPeers: ['10.0.0.0/8', '127.0.0.1'] });
      const p = await peer(server);
      p.write(message('1'));
      expect(await p.waitFor(1)).toEqual(['ACK:1']);
    });

    it('rejects malformed entries at construction', () => {
      expect(() => new MllpServer({ port: 0, allowedPeers: ['not-an-ip'] }, echoAck)).toThrow(MllpConfigError);
      expect(() => new MllpServer({ port: 0, allowedPeers: ['10.0.0.0/33'] }, echoAck)).toThrow(MllpConfigError);
      expect(() => new MllpServer({ port: 0, allowedPeers: [] }, echoAck)).toThrow(MllpConfigError);
    });
  });

  it('refuses connections beyond maxConnections as retryable', async () => {
    const server = await start({ maxConnections: 1 });
    const first = await peer(server);
    first.write(message('1'));
    await first.waitFor(1);
    const rejected = once(server, 'rejected') as Promise<[MllpPeerRejectedError]>;
    const second = await peer(server);
    await second.closed;
    const [error] = await rejected;
    expect(error).toMatchObject({ reason: 'max-connections', code: 'RATE_LIMITED', retryable: true });
    expect(server.connections).toBe(1);
  });

  describe('idle timeout', () => {
    it('closes a connection without traffic', async () => {
      const server = await start({ idleTimeoutMs: 50 });
      const disconnected = once(server, 'disconnect') as Promise<[MllpDisconnectInfo]>;
      const p = await peer(server);
      p.write(message('1'));
      await p.waitFor(1);
      await p.closed;
      const [info] = await disconnected;
      expect(info.reason).toBe('idle');
      expect(server.connections).toBe(0);
    });

    it('does not count a slow handler as idleness', async () => {
      const server = await start({ idleTimeoutMs: 30 }, async (payload) => {
        await delay(150);
        return `ACK:${controlIdOf(payload)}`;
      });
      const p = await peer(server);
      p.write(message('1'));
      expect(await p.waitFor(1)).toEqual(['ACK:1']);
    });
  });

  describe('close()', () => {
    it('is idempotent and leaves no connections', async () => {
      const server = await start();
      const p = await peer(server);
      p.write(message('1'));
      await p.waitFor(1);
      const first = server.close();
      expect(server.close()).toBe(first);
      await first;
      await p.closed;
      expect(server.connections).toBe(0);
      await server.close();
      await expect(server.listen()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    });

    it('resolves for a server that never listened', async () => {
      const server = new MllpServer({ port: 0 }, echoAck);
      await server.close();
      await server.close();
    });

    it('lets the frame in progress finish and answers it before ending', async () => {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const started = jest.fn();
      const server = await start({}, async (payload) => {
        started();
        await gate;
        return `ACK:${controlIdOf(payload)}`;
      });
      const p = await peer(server);
      p.write(message('1'));
      while (started.mock.calls.length === 0) await delay(5);
      const closing = server.close();
      release();
      await closing;
      expect(p.frames.map(String)).toEqual(['ACK:1']);
      await p.closed;
    });

    it('destroys connections whose handler never finishes once closeTimeoutMs has passed', async () => {
      const server = await start({ closeTimeoutMs: 50 }, () => new Promise(() => undefined));
      const disconnected = once(server, 'disconnect') as Promise<[MllpDisconnectInfo]>;
      const p = await peer(server);
      p.write(message('1'));
      while (server.connections === 0) await delay(5);
      await delay(10);
      await server.close();
      await p.closed;
      expect((await disconnected)[0].reason).toBe('server-close');
      expect(server.connections).toBe(0);
    });
  });

  it('reports a port already in use as a retryable listen error', async () => {
    const server = await start();
    const second = new MllpServer({ port: server.port ?? 0 }, echoAck);
    servers.push(second);
    const error = await second.listen().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MllpListenError);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
  });

  it('builds its listener through the injected factory', async () => {
    const calls: MllpServerFactoryOptions[] = [];
    let built: Server | undefined;
    const server = new MllpServer({ port: 0 }, echoAck, {
      logger,
      createServer: (options) => {
        calls.push(options);
        built = createServer({ allowHalfOpen: options.allowHalfOpen });
        return built;
      },
    });
    servers.push(server);
    await server.listen();
    expect(calls).toEqual([{ tls: undefined, allowHalfOpen: true }]);
    expect(built?.listening).toBe(true);
  });

  it('validates its options', () => {
    expect(() => new MllpServer({ port: 70000 }, echoAck)).toThrow(MllpConfigError);
    expect(() => new MllpServer({ port: 0, idleTimeoutMs: -1 }, echoAck)).toThrow(MllpConfigError);
    expect(() => new MllpServer({ port: 0, maxFrameBytes: 0 }, echoAck)).toThrow(MllpConfigError);
    expect(() => new MllpServer({ port: 0, tls: { key: 'k', cert: 'c', requireClientCert: true } }, echoAck)).toThrow(MllpConfigError);
  });
});
