import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { LogMeta, Logger } from '../shared/logger';
import { CANARY_MRN } from '../../test/fixtures/canary';
import { AstmClient } from './astm-client';
import { AstmConnection } from './astm-connection';
import { AstmServer } from './astm-server';
import { AstmClosedError, AstmConfigError } from './errors';
import { COBAS_IVF_STREAM } from './fixtures/ivf-streams';

/** Loopback only, port 0 (STYLE.md §9). */

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, meta?: LogMeta) => lines.push(JSON.stringify({ level, message, ...meta }));
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function instrumentOn(port: number): Promise<{ socket: Socket; connection: AstmConnection }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve({ socket, connection: new AstmConnection(socket, () => undefined, { role: 'instrument' }) }));
    socket.once('error', reject);
  });
}

describe('AstmServer', () => {
  test('delivers with the connection identity; logs carry no PHI even when the handler fails', async () => {
    const logger = capturingLogger();
    let calls = 0;
    const server = new AstmServer(
      { port: 0 },
      (m) => {
        calls++;
        if (calls === 1) throw new Error(`cannot store message for ${CANARY_MRN}`);
        expect(m.connection.remoteAddress).toBe('127.0.0.1');
      },
      { logger },
    );
    await server.listen();
    const { connection } = await instrumentOn(server.port!);
    const report = await connection.send([COBAS_IVF_STREAM]);
    expect(report.retransmissions).toBe(1);
    expect(calls).toBe(2);
    await connection.close();
    await server.close();
    expect(logger.lines.some((l) => l.includes('handler failed'))).toBe(true);
    expect(logger.lines.join('\n')).not.toMatch(/CANARY/);
  });

  test('maxConnections and allowedPeers refuse at accept', async () => {
    const rejected: string[] = [];
    const server = new AstmServer({ port: 0, maxConnections: 1 }, () => undefined);
    server.on('rejected', (r) => rejected.push(r.reason));
    await server.listen();
    const first = await instrumentOn(server.port!);
    const second = await instrumentOn(server.port!);
    await new Promise((r) => second.socket.once('close', r));
    expect(rejected).toEqual(['max-connections']);
    first.socket.destroy();
    await server.close();

    const strict = new AstmServer({ port: 0, allowedPeers: ['10.9.8.7'] }, () => undefined);
    strict.on('rejected', (r) => rejected.push(r.reason));
    await strict.listen();
    const s = await instrumentOn(strict.port!);
    await new Promise((r) => s.socket.once('close', r));
    expect(rejected).toEqual(['max-connections', 'peer-not-allowed']);
    await strict.close();
  });

  test('send to an unknown connection rejects; close is idempotent; bad options are config errors', async () => {
    expect(() => new AstmServer({ port: 70000 }, () => undefined)).toThrow(AstmConfigError);
    const server = new AstmServer({ port: 0 }, () => undefined);
    await server.listen();
    await expect(server.send(999, [COBAS_IVF_STREAM])).rejects.toBeInstanceOf(AstmClosedError);
    await Promise.all([server.close(), server.close()]);
    await expect(server.listen()).rejects.toBeInstanceOf(AstmClosedError);
  });
});

describe('AstmClient', () => {
  test('reconnects after the terminal server drops the line, and delivers afterwards', async () => {
    let accepted = 0;
    const sockets: Socket[] = [];
    const terminal: Server = createServer((socket) => {
      accepted++;
      sockets.push(socket);
      if (accepted === 1) socket.destroy(); // the first connection dies at once
    });
    await new Promise<void>((r) => terminal.listen(0, '127.0.0.1', () => r()));
    const port = (terminal.address() as { port: number }).port;
    const delivered: string[] = [];
    const client = new AstmClient({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 } }, (m) => void delivered.push(m.text));
    const events: string[] = [];
    client.on('connected', () => events.push('connected'));
    client.on('disconnected', () => events.push('disconnected'));
    client.on('reconnecting', () => events.push('reconnecting'));
    client.start();
    while (accepted < 2 || !client.connected) await new Promise((r) => setTimeout(r, 10));
    expect(events.slice(0, 4)).toEqual(['connected', 'disconnected', 'reconnecting', 'connected']);
    // The analyzer behind the terminal server sends on the second connection.
    const analyzer = new AstmConnection(sockets[1]!, () => undefined, { role: 'instrument' });
    await analyzer.send([COBAS_IVF_STREAM]);
    while (delivered.length < 1) await new Promise((r) => setTimeout(r, 10));
    expect(delivered).toEqual([COBAS_IVF_STREAM]);
    await client.close();
    await analyzer.close();
    await new Promise<void>((r) => terminal.close(() => r()));
  });

  test('a send without a reachable peer fails after the connect timeout, typed', async () => {
    const client = new AstmClient({ host: '127.0.0.1', port: 1, connectTimeoutMs: 200, reconnect: { initialDelayMs: 50, maxDelayMs: 50, jitter: 0 } }, () => undefined);
    client.on('error', () => undefined);
    await expect(client.send([COBAS_IVF_STREAM])).rejects.toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
    await client.close();
  });
});
