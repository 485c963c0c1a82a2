import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { inspect } from 'node:util';
import { encodeHl7Buffer, parse, type AckCode } from '../hl7';
import { MllpClosedError, MllpConnectError, MllpDecoder, MllpTimeoutError, frame } from '../mllp';
import { IntegrationError } from '../shared/errors';
import type { Logger, LogMeta } from '../shared/logger';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME, canaryOru } from '../../test/fixtures/canary';
import { selfSignedCert } from '../../test/support/self-signed';
import { Hl7AckParseError, Hl7NackError, Hl7OutboundError, Hl7Sender, Hl7StaleAckError } from './index';
import type { Hl7SenderOptions, PoolState } from './index';
import { ackFor, gate, ScriptedHl7Peer } from './testing/scripted-hl7-peer';

const CANARIES = [CANARY_NAME, CANARY_MRN, CANARY_DOB, ...CANARY_NAME.split('^')];
function canariesIn(value: unknown): string[] {
  const text = typeof value === 'string' ? value : inspect(value, { depth: 20, breakLength: Infinity, maxStringLength: Infinity });
  return CANARIES.filter((c) => text.includes(c));
}

/** Every log line, message and metadata, for PHI checks. */
class CapturingLogger implements Logger {
  readonly lines: string[] = [];
  debug = (m: string, meta?: LogMeta): void => void this.lines.push(`debug ${m} ${JSON.stringify(meta ?? {})}`);
  info = (m: string, meta?: LogMeta): void => void this.lines.push(`info ${m} ${JSON.stringify(meta ?? {})}`);
  warn = (m: string, meta?: LogMeta): void => void this.lines.push(`warn ${m} ${JSON.stringify(meta ?? {})}`);
  error = (m: string, meta?: LogMeta): void => void this.lines.push(`error ${m} ${JSON.stringify(meta ?? {})}`);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

function stateEvents(sender: Hl7Sender): { all: PoolState[]; until(match: (s: PoolState) => boolean): Promise<PoolState> } {
  const all: PoolState[] = [];
  const waiting: Array<{ match: (s: PoolState) => boolean; resolve: (s: PoolState) => void }> = [];
  sender.on('state', (s) => {
    all.push(s);
    for (const w of [...waiting]) {
      if (w.match(s)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(s);
      }
    }
  });
  return {
    all,
    until: (match) => {
      if (match(sender.state)) return Promise.resolve(sender.state);
      return new Promise((resolve) => waiting.push({ match, resolve }));
    },
  };
}

describe('Hl7Sender against a loopback MLLP peer', () => {
  let peer: ScriptedHl7Peer;
  const senders: Hl7Sender[] = [];

  beforeEach(async () => {
    peer = await ScriptedHl7Peer.start();
  });

  afterEach(async () => {
    await Promise.all(senders.splice(0).map((s) => s.close()));
    await peer.close();
  });

  function sender(options: Partial<Hl7SenderOptions> = {}, logger?: Logger): Hl7Sender {
    const s = new Hl7Sender({ host: '127.0.0.1', port: peer.port, ackTimeoutMs: 5000, closeTimeoutMs: 500, ...options }, logger ? { logger } : {});
    senders.push(s);
    return s;
  }

  describe('accepted messages', () => {
    test('AA resolves with the ACK, its control IDs and bytes', async () => {
      const s = sender();
      const result = await s.send(canaryOru('CTRL-1'));

      expect(result).toMatchObject({ ackCode: 'AA', controlId: 'CTRL-1', ackControlId: 'ACK-CTRL-1', errors: [], connection: 0 });
      expect(result.responseText).toBe(result.response.toString('utf8'));
      expect(result.ack.segments.map((seg) => seg.fields[0])).toEqual(['MSH', 'MSA']);
      expect((await peer.message(0)).text).toBe(canaryOru('CTRL-1'));
    });

    test('text with LF terminators and no final terminator goes out with CR after every segment', async () => {
      const s = sender();
      const text = canaryOru('CTRL-2').replace(/\r/g, '\n').trimEnd();
      await s.send(text);

      expect((await peer.message(0)).text).toBe(canaryOru('CTRL-2'));
    });

    test('a parsed message is serialized and left unchanged; bytes are sent as they are', async () => {
      const s = sender();
      const message = parse(canaryOru('CTRL-3').replace(/\r/g, '\r\n'));
      const before = JSON.stringify(message);
      await s.send(message);
      const bytes = Buffer.from(canaryOru('CTRL-4').replace(/\r/g, '\n'));
      await s.send(bytes);

      expect((await peer.message(0)).text).toBe(canaryOru('CTRL-3'));
      expect(JSON.stringify(message)).toBe(before);
      expect((await peer.message(1)).bytes.equals(bytes)).toBe(true);
    });

    test('encodes per MSH-18 and decodes the ACK in the same character set', async () => {
      const s = sender();
      const latin1 = canaryOru('CTRL-5').replace('|2.5.1', '|2.5.1||||||8859/1').replace('hCG beta', 'hCG \u00df-Untereinheit');
      peer.script((m) => encodeHl7Buffer(ackFor(m, 'AE', { text: 'Gr\u00fc\u00dfe' })));
      const err = (await rejection(s.send(latin1))) as Hl7NackError;

      const sent = (await peer.message(0)).bytes;
      expect(sent.includes(Buffer.from([0xdf]))).toBe(true);
      expect(sent.toString('latin1')).toBe(latin1);
      expect(err.ackText).toBe('Gr\u00fc\u00dfe');
    });

    test('CA (enhanced-mode commit accept) counts as accepted', async () => {
      const s = sender();
      peer.script((m) => ackFor(m, 'CA' as AckCode));
      expect((await s.send(canaryOru('CTRL-6'))).ackCode).toBe('CA');
    });
  });

  describe('NACKs', () => {
    test('AE rejects with Hl7NackError carrying codes and locations, not the texts', async () => {
      const s = sender();
      peer.script((m) =>
        ackFor(m, 'AE', {
          text: `patient ${CANARY_NAME} unknown`,
          errors: [
            { code: 101, location: 'PID-5[1].1', text: `name ${CANARY_NAME} rejected` },
            { code: 204, severity: 'W', location: 'PID-3', text: `MRN ${CANARY_MRN} unknown` },
          ],
        }),
      );
      const err = (await rejection(s.send(canaryOru('CTRL-10')))) as Hl7NackError;

      expect(err).toBeInstanceOf(Hl7NackError);
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err).toMatchObject({ code: 'NACK', retryable: false, ackCode: 'AE', controlId: 'CTRL-10' });
      expect(err.errors).toEqual([
        { code: '101', codeSystem: 'HL70357', severity: 'E', location: 'PID-5[1].1' },
        { code: '204', codeSystem: 'HL70357', severity: 'W', location: 'PID-3[1]' },
      ]);
      expect(err.message).toBe('NACK AE for control ID CTRL-10 (ERR 101 at PID-5[1].1, 204 at PID-3[1])');
      expect(err.userMessages).toEqual([`name ${CANARY_NAME} rejected`, `MRN ${CANARY_MRN} unknown`]);
      expect(err.ackText).toBe(`patient ${CANARY_NAME} unknown`);
      expect(err.response.toString()).toContain('MSA|AE|CTRL-10');
      expect(canariesIn(err.message)).toEqual([]);
      expect(canariesIn(err.stack)).toEqual([]);
      expect(canariesIn(err)).toEqual([]);
      expect(canariesIn(JSON.stringify(err))).toEqual([]);
    });

    test('AE is retryable when the sender is configured so', async () => {
      const s = sender({ aeRetryable: true });
      peer.script((m) => ackFor(m, 'AE', { errors: [{ code: 207 }] }));
      const err = (await rejection(s.send(canaryOru('CTRL-11')))) as Hl7NackError;
      expect(err).toMatchObject({ code: 'NACK', ackCode: 'AE', retryable: true, errors: [{ code: '207', codeSystem: 'HL70357', severity: 'E' }] });
    });

    test('AR is never retryable', async () => {
      const s = sender({ aeRetryable: true });
      peer.script((m) => ackFor(m, 'AR', { errors: [{ code: 200, location: 'MSH-12' }] }));
      const err = (await rejection(s.send(canaryOru('CTRL-12')))) as Hl7NackError;
      expect(err).toMatchObject({ code: 'NACK', ackCode: 'AR', retryable: false, controlId: 'CTRL-12' });
      expect(err.errors[0]?.location).toBe('MSH-12[1]');
    });

    test.each([
      ['CE', true, true],
      ['CE', false, false],
      ['CR', true, false],
    ])('%s with aeRetryable=%s is retryable=%s', async (code, aeRetryable, retryable) => {
      const s = sender({ aeRetryable });
      peer.script((m) => ackFor(m, code as AckCode));
      const err = (await rejection(s.send(canaryOru('CTRL-13')))) as Hl7NackError;
      expect(err).toMatchObject({ code: 'NACK', ackCode: code, retryable });
    });

    test('no PHI reaches the logger on any path, at any level', async () => {
      const logger = new CapturingLogger();
      const s = sender({ ackTimeoutMs: 300 }, logger);
      const held = gate();
      peer.script(
        (m) => ackFor(m, 'AA'),
        (m) => ackFor(m, 'AE', { text: CANARY_NAME, errors: [{ code: 101, text: CANARY_MRN }] }),
        (m) => ackFor(m, 'AA', { acknowledgedId: 'CTRL-14' }),
        () => 'not HL7 at all ' + CANARY_NAME,
        async (m) => {
          await held.promise;
          return ackFor(m, 'AA');
        },
      );
      await s.send(canaryOru('CTRL-14'));
      for (const id of ['CTRL-15', 'CTRL-16', 'CTRL-17', 'CTRL-18']) await rejection(s.send(canaryOru(id)));
      held.open();

      expect(logger.lines.length).toBeGreaterThan(5);
      expect(canariesIn(logger.lines.join('\n'))).toEqual([]);
    });
  });

  describe('stale, late and mismatched ACKs', () => {
    test('an ACK whose MSA-2 names another message is rejected, and the connection is reset', async () => {
      const s = sender();
      peer.script(
        (m) => ackFor(m, 'AA'),
        // Out of order: the second message is answered with the first one's ACK.
        (m) => ackFor(m, 'AA', { acknowledgedId: 'CTRL-20' }),
      );
      expect((await s.send(canaryOru('CTRL-20'))).controlId).toBe('CTRL-20');
      const err = (await rejection(s.send(canaryOru('CTRL-21')))) as Hl7StaleAckError;

      expect(err).toBeInstanceOf(Hl7StaleAckError);
      expect(err).toMatchObject({ code: 'PROVIDER', retryable: true, controlId: 'CTRL-21', acknowledgedId: 'CTRL-20' });
      expect(err.message).toBe('ACK for control ID CTRL-20 received while awaiting control ID CTRL-21; connection reset');
      expect(err.response.toString()).toContain('MSA|AA|CTRL-20');

      const third = await s.send(canaryOru('CTRL-22'));
      expect(third).toMatchObject({ ackCode: 'AA', controlId: 'CTRL-22' });
      const [m0, m1, m2] = await Promise.all([peer.message(0), peer.message(1), peer.message(2)]);
      expect(m0.connectionId).toBe(m1.connectionId);
      expect(m2.connectionId).not.toBe(m1.connectionId);
    });

    test('a mismatched NACK is reported as stale, not as a NACK of this message', async () => {
      const s = sender();
      peer.script((m) => ackFor(m, 'AR', { acknowledgedId: 'SOMETHING-ELSE' }));
      const err = await rejection(s.send(canaryOru('CTRL-23')));
      expect(err).toBeInstanceOf(Hl7StaleAckError);
    });

    test('an empty MSA-2 is stale too', async () => {
      const s = sender();
      peer.script((m) => ackFor(m, 'AA', { acknowledgedId: '' }));
      const err = (await rejection(s.send(canaryOru('CTRL-24')))) as Hl7StaleAckError;
      expect(err).toBeInstanceOf(Hl7StaleAckError);
      expect(err.message).toContain('ACK for control ID (empty)');
    });

    test('a late ACK (after the timeout) is never paired with the next message', async () => {
      const s = sender({ ackTimeoutMs: 250 });
      const late = gate();
      peer.script(async (m) => {
        await late.promise;
        return ackFor(m, 'AA');
      });
      const err = (await rejection(s.send(canaryOru('CTRL-30')))) as MllpTimeoutError;
      expect(err).toBeInstanceOf(MllpTimeoutError);
      expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true, written: true });

      // The late ACK goes out now, while the next message is on its way.
      late.open();
      const next = await s.send(canaryOru('CTRL-31'), { timeoutMs: 5000 });
      expect(next).toMatchObject({ ackCode: 'AA', controlId: 'CTRL-31' });
      expect(parse(next.responseText).segments[1]?.fields[2]).toBe('CTRL-31');
    });

    test('late and out of order: the held ACK of a timed-out message answers the next one', async () => {
      const s = sender({ ackTimeoutMs: 250 });
      const late = gate();
      peer.script(
        async (m) => {
          await late.promise;
          return ackFor(m, 'AA');
        },
        // A peer that queues ACKs and answers the next message with the older one.
        (m) => ackFor(m, 'AA', { acknowledgedId: 'CTRL-40' }),
      );
      expect(await rejection(s.send(canaryOru('CTRL-40')))).toBeInstanceOf(MllpTimeoutError);
      const stale = (await rejection(s.send(canaryOru('CTRL-41'), { timeoutMs: 5000 }))) as Hl7StaleAckError;
      late.open();

      expect(stale).toMatchObject({ code: 'PROVIDER', retryable: true, controlId: 'CTRL-41', acknowledgedId: 'CTRL-40' });
      // A retry of the stale-rejected message goes out on a fresh connection and pairs correctly.
      expect(await s.send(canaryOru('CTRL-41'), { timeoutMs: 5000 })).toMatchObject({ ackCode: 'AA', controlId: 'CTRL-41' });
      const ids = new Set(peer.received.map((m) => m.connectionId));
      expect(ids.size).toBe(3);
    });
  });

  describe('unreadable responses', () => {
    test.each([
      ['UNPARSEABLE', (): string => 'this is not HL7'],
      ['NO_MSA', (): string => 'MSH|^~\\&|EMR|CLINIC|LIS|LAB|20260101||ACK|A1|P|2.5.1\r'],
      ['BAD_ACK_CODE', (): string => 'MSH|^~\\&|EMR|CLINIC|LIS|LAB|20260101||ACK|A1|P|2.5.1\rMSA|OK|CTRL-50\r'],
    ])('%s: PARSE error, retryable, with the response kept', async (reason, reply) => {
      const s = sender();
      peer.script(reply);
      const err = (await rejection(s.send(canaryOru('CTRL-50')))) as Hl7AckParseError;

      expect(err).toBeInstanceOf(Hl7AckParseError);
      expect(err).toMatchObject({ code: 'PARSE', retryable: true, reason, controlId: 'CTRL-50' });
      expect(err.response.toString()).toBe(reply());
      // The pairing was sound (one response to one message): the connection stays.
      await s.send(canaryOru('CTRL-51'));
      expect(peer.connectionsAccepted).toBe(1);
    });
  });

  describe('outbound messages that cannot be sent', () => {
    test('no MSH-10: Hl7OutboundError, not retryable, nothing sent', async () => {
      const s = sender();
      const err = (await rejection(s.send(canaryOru('')))) as Hl7OutboundError;
      expect(err).toBeInstanceOf(Hl7OutboundError);
      expect(err).toMatchObject({ code: 'PARSE', retryable: false, reason: 'NO_CONTROL_ID' });
      expect(peer.received).toHaveLength(0);
    });

    test('not HL7: the parse error, not retryable', async () => {
      const s = sender();
      const err = (await rejection(s.send(`PID|1||${CANARY_MRN}\r`))) as IntegrationError;
      expect(err).toMatchObject({ code: 'PARSE', retryable: false });
      expect(canariesIn(err)).toEqual([]);
    });

    test('a character MSH-18 cannot encode: PARSE, not retryable', async () => {
      const s = sender();
      const text = canaryOru('CTRL-52').replace('|2.5.1', '|2.5.1||||||8859/1').replace('hCG beta', 'hCG \u03b2');
      const err = (await rejection(s.send(text))) as IntegrationError;
      expect(err).toMatchObject({ code: 'PARSE', retryable: false });
    });
  });

  describe('connection pool', () => {
    test('messages without a key spread over the connections', async () => {
      const s = sender({ connections: 3 });
      const hold = gate();
      peer.reply = async (m) => {
        await hold.promise;
        return ackFor(m, 'AA');
      };
      const sends = ['CTRL-60', 'CTRL-61', 'CTRL-62'].map((id) => s.send(canaryOru(id)));
      await Promise.all([peer.message(0), peer.message(1), peer.message(2)]);
      hold.open();
      const results = await Promise.all(sends);

      expect(new Set(peer.received.map((m) => m.connectionId)).size).toBe(3);
      expect(new Set(results.map((r) => r.connection))).toEqual(new Set([0, 1, 2]));
      expect(results.map((r) => r.controlId)).toEqual(['CTRL-60', 'CTRL-61', 'CTRL-62']);
    });

    test('messages with the same key go one at a time, in order', async () => {
      const s = sender({ connections: 3 });
      const holds = new Map<string, ReturnType<typeof gate>>();
      peer.reply = async (m) => {
        const g = gate();
        holds.set(m.controlId, g);
        await g.promise;
        return ackFor(m, 'AA');
      };
      const a1 = s.send(canaryOru('A1'), { key: 'patient-a' });
      const a2 = s.send(canaryOru('A2'), { key: 'patient-a' });
      const b1 = s.send(canaryOru('B1'), { key: 'patient-b' });
      await Promise.all([peer.message(0), peer.message(1)]);
      // C1 was submitted after A2 and takes the last free connection: A2 is
      // held back by its key alone.
      const c1 = s.send(canaryOru('C1'), { key: 'patient-c' });
      await peer.message(2);
      expect(peer.received.map((m) => m.controlId).sort()).toEqual(['A1', 'B1', 'C1']);

      holds.get('A1')?.open();
      await a1;
      const m3 = await peer.message(3);
      expect(m3.controlId).toBe('A2');
      for (const id of ['A2', 'B1', 'C1']) holds.get(id)?.open();
      await Promise.all([a2, b1, c1]);
    });

    test('a message that waits for a free connection past its deadline times out unsent', async () => {
      const s = sender({ connections: 1 });
      const hold = gate();
      peer.script(async (m) => {
        await hold.promise;
        return ackFor(m, 'AA');
      });
      const first = s.send(canaryOru('CTRL-70'));
      await peer.message(0);
      const err = (await rejection(s.send(canaryOru('CTRL-71'), { timeoutMs: 200 }))) as MllpTimeoutError;
      hold.open();
      await first;

      expect(err).toBeInstanceOf(MllpTimeoutError);
      expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true, written: false });
      expect(peer.received.map((m) => m.controlId)).toEqual(['CTRL-70']);
    });

    test('rejects bad pool sizes', () => {
      expect(() => new Hl7Sender({ host: '127.0.0.1', port: 1, connections: 0 })).toThrow(/connections must be 1-32/);
      expect(() => new Hl7Sender({ host: '127.0.0.1', port: 1, connections: 33 })).toThrow(/connections must be 1-32/);
    });
  });

  describe('state and lifecycle', () => {
    test('start() opens every connection and reports connected, then disconnected when the peer goes', async () => {
      const s = sender({ connections: 2, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
      const states = stateEvents(s);
      expect(s.state.state).toBe('idle');
      s.start();
      await states.until((st) => st.state === 'connected' && st.connected === 2);
      await peer.close();
      const down = await states.until((st) => st.state === 'disconnected');

      expect(states.all[0]).toEqual({ state: 'connecting', connected: 0, connections: 2 });
      expect(down.connected).toBe(0);
    });

    test('a refused connection reports disconnected with the socket error code', async () => {
      const port = peer.port;
      await peer.close();
      const s = new Hl7Sender({ host: '127.0.0.1', port, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
      senders.push(s);
      const states = stateEvents(s);
      s.start();
      const down = await states.until((st) => st.state === 'disconnected');
      expect(down.errorCode).toBe('ECONNREFUSED');
      const err = await rejection(s.send(canaryOru('CTRL-80'), { timeoutMs: 300 }));
      expect(err).toMatchObject({ retryable: true });
      peer = await ScriptedHl7Peer.start();
    });

    test('close() rejects queued and in-flight messages and can be called twice', async () => {
      const s = sender({ connections: 1 });
      peer.reply = () => undefined;
      const inFlight = s.send(canaryOru('CTRL-90'));
      const queued = s.send(canaryOru('CTRL-91'));
      const failures = [rejection(inFlight), rejection(queued)];
      await peer.message(0);
      await Promise.all([s.close(), s.close()]);

      const [inFlightErr, queuedErr] = await Promise.all(failures);
      expect(inFlightErr).toBeInstanceOf(MllpClosedError);
      expect(queuedErr).toBeInstanceOf(MllpClosedError);
      expect(await rejection(s.send(canaryOru('CTRL-92')))).toBeInstanceOf(MllpClosedError);
    });
  });
});

/**
 * A raw MLLP receiver that acknowledges the first message twice, the second
 * copy only once the next message has arrived: the duplicate is then the
 * first thing the client reads after writing message two. Only MSA-2
 * checking can notice that.
 */
describe('Hl7Sender against a peer that acknowledges twice', () => {
  let server: Server;
  const sockets: Socket[] = [];
  const received: Array<{ connection: number; text: string }> = [];

  beforeEach(async () => {
    server = createServer((socket) => {
      const connection = sockets.push(socket);
      socket.on('error', () => undefined);
      let firstAck: string | undefined;
      const decoder = new MllpDecoder({
        frame: (payload) => {
          const text = payload.toString();
          received.push({ connection, text });
          const ack = ackFor({ index: 0, connectionId: connection, controlId: '', bytes: payload, text, message: parse(text) }, 'AA');
          if (received.length === 1) {
            firstAck = ack;
            socket.write(frame(ack));
          } else {
            if (firstAck) socket.write(frame(firstAck));
            firstAck = undefined;
            socket.write(frame(ack));
          }
        },
      });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    received.length = 0;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the duplicate is rejected as stale and the real ACK, arriving after it, is discarded with the connection', async () => {
    const s = new Hl7Sender({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, closeTimeoutMs: 200 });
    try {
      expect((await s.send(canaryOru('DUP-1'))).controlId).toBe('DUP-1');
      const err = (await rejection(s.send(canaryOru('DUP-2')))) as Hl7StaleAckError;
      expect(err).toMatchObject({ code: 'PROVIDER', retryable: true, controlId: 'DUP-2', acknowledgedId: 'DUP-1' });

      const retry = await s.send(canaryOru('DUP-2'));
      expect(retry).toMatchObject({ ackCode: 'AA', controlId: 'DUP-2' });
      expect(received.map((r) => r.connection)).toEqual([1, 1, 2]);
    } finally {
      await s.close();
    }
  });
});

function makeCert(): { cert: Buffer; key: Buffer } | string {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'openssl CLI not found on PATH';
  }
  const { certFile, keyFile } = selfSignedCert();
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

const tlsCert = makeCert();
if (typeof tlsCert === 'string') console.warn(`Hl7Sender TLS tests skipped: ${tlsCert}`);
const describeTls = typeof tlsCert === 'string' ? describe.skip : describe;

describeTls('Hl7Sender over TLS', () => {
  const cert = tlsCert as Exclude<typeof tlsCert, string>;

  test('sends to a TLS peer whose certificate it trusts', async () => {
    const peer = await ScriptedHl7Peer.start({ tls: { key: cert.key, cert: cert.cert } });
    const s = new Hl7Sender({ host: '127.0.0.1', port: peer.port, tls: { ca: cert.cert, servername: 'localhost' }, closeTimeoutMs: 500 });
    try {
      expect(await s.send(canaryOru('TLS-1'))).toMatchObject({ ackCode: 'AA', controlId: 'TLS-1' });
    } finally {
      await s.close();
      await peer.close();
    }
  });

  test('refuses a peer whose certificate it does not trust', async () => {
    const peer = await ScriptedHl7Peer.start({ tls: { key: cert.key, cert: cert.cert } });
    const s = new Hl7Sender({ host: '127.0.0.1', port: peer.port, tls: {}, reconnect: false, closeTimeoutMs: 500 });
    try {
      const err = await rejection(s.send(canaryOru('TLS-2')));
      expect(err).toBeInstanceOf(MllpConnectError);
      expect(err).toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
      expect(peer.received).toHaveLength(0);
    } finally {
      await s.close();
      await peer.close();
    }
  });
});
