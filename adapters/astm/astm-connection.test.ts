import type { LogMeta, Logger } from '../shared/logger';
import { CANARY_MRN } from '../../test/fixtures/canary';
import { AstmConnection } from './astm-connection';
import type { AstmConnectionOptions, AstmQueryHandler, AstmReceivedMessage } from './astm-connection';
import { ENQ, EOT } from './control-characters';
import { AstmEncodeError, AstmIncompleteMessageError } from './errors';
import { encodeFrame } from './frame-encoder';
import { duplexPair } from './memory-duplex';
import { buildQueryResponse } from './order-message';
import { fieldRepeats, fieldValue } from './record';
import { COBAS_IVF_STREAM, IMMULITE_IVF_STREAM } from './fixtures/ivf-streams';

/** Captures every log line, so tests can prove no canary PHI reaches a log. */
function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, meta?: LogMeta) => lines.push(JSON.stringify({ level, message, ...meta }));
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function pair(hostOptions: AstmConnectionOptions & { onQuery?: AstmQueryHandler } = {}, instrumentOptions: AstmConnectionOptions = {}) {
  const [a, b] = duplexPair();
  const logger = capturingLogger();
  const delivered: AstmReceivedMessage[] = [];
  const toInstrument: AstmReceivedMessage[] = [];
  const host = new AstmConnection(a, (m) => void delivered.push(m), { role: 'host', ...hostOptions }, { logger });
  const instrument = new AstmConnection(b, (m) => void toInstrument.push(m), { role: 'instrument', ...instrumentOptions });
  const incomplete: AstmIncompleteMessageError[] = [];
  host.on('incomplete', (e) => incomplete.push(e));
  return { host, instrument, delivered, toInstrument, incomplete, logger, raw: b };
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
};

afterEach(() => jest.restoreAllMocks());

describe('AstmConnection', () => {
  test('a record stream crosses record by record and arrives as one parsed message', async () => {
    const t = pair();
    const report = await t.instrument.send([COBAS_IVF_STREAM]);
    await until(() => t.delivered.length === 1, 'delivery');
    const m = t.delivered[0]!;
    expect(m.text).toBe(COBAS_IVF_STREAM);
    expect(m.terminated).toBe(true);
    expect(m.message.records.map((r) => r.type).join('')).toBe('HPORRRRCPORL');
    expect(m.key).toMatch(/^[0-9a-f]{64}$/);
    expect(report).toMatchObject({ messages: 1, records: 12, retransmissions: 0 });
    // record framing: one frame per record, plus ENQ and EOT exchanges
    expect(report.frames).toBe(12);
    expect(report.roundTrips).toBe(13);
    await Promise.all([t.host.close(), t.instrument.close()]);
  });

  test('packed framing cuts frames mid-record; the receiver joins before splitting', async () => {
    const t = pair({}, { framing: 'message', maxFrameTextBytes: 50 });
    const report = await t.instrument.send([COBAS_IVF_STREAM]);
    await until(() => t.delivered.length === 1, 'delivery');
    expect(report.frames).toBe(Math.ceil(Buffer.byteLength(COBAS_IVF_STREAM) / 50));
    expect(t.delivered[0]!.text).toBe(COBAS_IVF_STREAM);
    await Promise.all([t.host.close(), t.instrument.close()]);
  });

  test('several messages in one session arrive in order', async () => {
    const t = pair();
    await t.instrument.send([COBAS_IVF_STREAM, IMMULITE_IVF_STREAM, COBAS_IVF_STREAM.replace('S26-004412', 'S26-004413')]);
    await until(() => t.delivered.length === 3, 'deliveries');
    expect(t.delivered.map((m) => fieldValue(m.message.patients[0]!.orders[0]!.record!, 3, m.message.delimiters))).toEqual(['S26-004412', 'S26-004411', 'S26-004413']);
    await Promise.all([t.host.close(), t.instrument.close()]);
  });

  test('a failing handler NAKs the last frame; the retransmission is delivered once', async () => {
    const [a, b] = duplexPair();
    const calls: string[] = [];
    const logger = capturingLogger();
    const host = new AstmConnection(
      a,
      () => {
        calls.push('call');
        if (calls.length === 1) throw new Error(`store unavailable for ${CANARY_MRN}`);
      },
      {},
      { logger },
    );
    const handlerErrors: unknown[] = [];
    host.on('handlerError', (e) => handlerErrors.push(e));
    let delivered = 0;
    host.on('delivered', () => delivered++);
    const instrument = new AstmConnection(b, () => undefined, { role: 'instrument' });
    const report = await instrument.send([COBAS_IVF_STREAM]);
    await until(() => delivered === 1, 'delivery');
    expect(calls).toHaveLength(2);
    expect(report.retransmissions).toBe(1);
    expect(handlerErrors).toHaveLength(1);
    expect(logger.lines.join('\n')).not.toMatch(/CANARY/);
    await Promise.all([host.close(), instrument.close()]);
  });

  test('a byte-identical re-send inside the window is acknowledged but not delivered again', async () => {
    const t = pair();
    const dups: unknown[] = [];
    t.host.on('duplicate', (d) => dups.push(d));
    await t.instrument.send([COBAS_IVF_STREAM]);
    await t.instrument.send([COBAS_IVF_STREAM]);
    await until(() => dups.length === 1, 'duplicate');
    expect(t.delivered).toHaveLength(1);
    await Promise.all([t.host.close(), t.instrument.close()]);
  });

  test('a dropped connection mid-message is reported, never delivered', async () => {
    const t = pair();
    const lines = COBAS_IVF_STREAM.split('\r');
    t.raw.write(Buffer.from([ENQ]));
    t.raw.write(encodeFrame(1, Buffer.from(lines[0] + '\r'), true));
    t.raw.write(encodeFrame(2, Buffer.from(lines[1] + '\r'), true));
    await until(() => t.host.stats.framesAccepted === 2, 'two frames');
    t.raw.destroy();
    await until(() => t.incomplete.length === 1, 'incomplete report');
    expect(t.incomplete[0]).toMatchObject({ reason: 'disconnected', records: 2, code: 'CONNECT_FAILED' });
    expect(t.delivered).toHaveLength(0);
  });

  test('EOT after an ETB frame (sender gave up mid-message) is reported as aborted', async () => {
    const t = pair();
    t.raw.write(Buffer.from([ENQ]));
    t.raw.write(encodeFrame(1, Buffer.from('H|\\^&|||x\rP|1\rO|1|S1||^^^E2\rR|1|^^^E2|1'), false));
    t.raw.write(Buffer.from([EOT]));
    await until(() => t.incomplete.length === 1, 'incomplete report');
    expect(t.incomplete[0]).toMatchObject({ reason: 'aborted', code: 'NACK' });
    await t.host.close();
  });

  test('EOT without an L record: discarded by default, delivered when the profile allows it', async () => {
    const noL = COBAS_IVF_STREAM.replace('L|1|N\r', '');
    const strict = pair();
    await strict.instrument.send([noL]);
    await until(() => strict.incomplete.length === 1, 'incomplete report');
    expect(strict.incomplete[0]).toMatchObject({ reason: 'no-terminator', records: 11 });
    const lenient = pair({ requireTerminator: false });
    await lenient.instrument.send([noL]);
    await until(() => lenient.delivered.length === 1, 'delivery');
    expect(lenient.delivered[0]!.terminated).toBe(false);
    await Promise.all([strict.host.close(), strict.instrument.close(), lenient.host.close(), lenient.instrument.close()]);
  });

  test('a host query is answered in a new session; the instrument receives the O records', async () => {
    const onQuery: AstmQueryHandler = (query) =>
      buildQueryResponse(query, [{ specimenId: query.specimenIds[0]!, tests: ['E2', 'LH', 'PGSN'], patient: { id: CANARY_MRN } }], { sender: 'IVF-HUB', at: new Date('2026-12-03T10:00:00Z') });
    const t = pair({ onQuery });
    await t.instrument.send(['H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|20261203100000\rQ|1|^S26-004411||ALL||||||||O\rL|1\r']);
    await until(() => t.toInstrument.length === 1, 'query answer');
    const answer = t.toInstrument[0]!.message;
    expect(answer.patients[0]!.orders).toHaveLength(1);
    const order = answer.patients[0]!.orders[0]!.record!;
    expect(fieldValue(order, 3, answer.delimiters)).toBe('S26-004411');
    expect(fieldRepeats(order, 5, answer.delimiters).map((r) => r[3])).toEqual(['E2', 'LH', 'PGSN']);
    expect(fieldValue(order, 26, answer.delimiters)).toBe('Q');
    expect(t.delivered).toHaveLength(1); // the query itself was delivered too (for the store)
    await Promise.all([t.host.close(), t.instrument.close()]);
  });

  test('text encoding: UTF-8 when valid, Latin-1 otherwise, never replacement characters', async () => {
    const t = pair();
    const utf8 = COBAS_IVF_STREAM.replace('CANARYGIVEN', 'Müller');
    await t.instrument.send([utf8]);
    await until(() => t.delivered.length === 1, 'utf8 delivery');
    expect(t.delivered[0]!.charset).toBe('utf8');
    expect(t.delivered[0]!.text).toBe(utf8);
    const l = pair({}, { encoding: 'latin1' }); // the instrument writes ü as the single byte 0xFC
    await l.instrument.send([utf8]);
    await until(() => l.delivered.length === 1, 'latin1 delivery');
    expect(l.delivered[0]!.charset).toBe('latin1');
    expect(l.delivered[0]!.text).toBe(utf8);
    await Promise.all([t.host.close(), t.instrument.close(), l.host.close(), l.instrument.close()]);
  });

  test('text with an E1381 restricted character is refused before anything is sent', async () => {
    const t = pair();
    await expect(t.instrument.send(['H|\\^&\rR|1|^^^E2|1\u0002\rL|1\r'])).rejects.toBeInstanceOf(AstmEncodeError);
    expect(t.instrument.stats.bytesOut).toBe(0);
    await Promise.all([t.host.close(), t.instrument.close()]);
  });

  test('a message past maxMessageBytes is dropped and the rest of the session refused: the sender fails visibly', async () => {
    const t = pair({ maxMessageBytes: 300 });
    await expect(t.instrument.send([COBAS_IVF_STREAM])).rejects.toMatchObject({ name: 'AstmRejectedError', phase: 'transfer' });
    await until(() => t.host.link.state === 'neutral', 'session end');
    expect(t.incomplete.map((e) => e.reason)).toEqual(['too-large']);
    expect(t.delivered).toEqual([]);
    // The next session starts clean.
    await t.instrument.send(['H|\\^&\rL|1|N\r']);
    await until(() => t.delivered.length === 1, 'small message');
    await Promise.all([t.host.close(), t.instrument.close()]);
  });

  test('nothing from the message reaches the logs on error paths', async () => {
    const t = pair();
    t.raw.write(Buffer.from([ENQ]));
    t.raw.write(encodeFrame(1, Buffer.from(COBAS_IVF_STREAM.slice(0, 120)), false));
    t.raw.write(Buffer.from([EOT]));
    await until(() => t.incomplete.length === 1, 'incomplete');
    expect(t.logger.lines.length).toBeGreaterThan(0);
    expect(t.logger.lines.join('\n')).not.toMatch(/CANARY/);
    expect(t.incomplete[0]!.message).not.toMatch(/CANARY/);
    await t.host.close();
  });
});
