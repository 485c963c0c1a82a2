import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { get, getAll, parse, segmentGet } from '../hl7';
import type { Hl7Message } from '../hl7';
import type { Logger, LogMeta } from '../shared/logger';
import { createMessageStore } from '../store';
import type { EncryptedMessageStore, MessageRecord, MessageStore } from '../store';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME, canaryOru } from '../../test/fixtures/canary';
import { testStoreKeys } from '../../test/support/store-keys';
import { Hl7Intake } from './hl7-intake';
import type { Clock, Hl7IntakeOptions, IntakeDelivery } from './types';

/** Timers that only fire when the test advances time. */
class FakeClock implements Clock {
  private t = 1_700_000_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at <= this.t && this.timers.delete(id)) timer.fn();
    }
  }
}

/** Keeps every log line, to search it for PHI. */
class CapturingLogger implements Logger {
  readonly lines: { level: string; message: string; meta?: LogMeta }[] = [];
  debug = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'debug', message, meta });
  info = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'info', message, meta });
  warn = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'warn', message, meta });
  error = (message: string, meta?: LogMeta): void => void this.lines.push({ level: 'error', message, meta });
}

const CANARIES = [CANARY_NAME, CANARY_MRN, CANARY_DOB, ...CANARY_NAME.split('^')];
function canariesIn(value: unknown): string[] {
  const text = typeof value === 'string' ? value : inspect(value, { depth: 20, breakLength: Infinity, maxStringLength: Infinity });
  return CANARIES.filter((c) => text.includes(c));
}

const CONN = { connectionId: 7, remoteAddress: '127.0.0.1', remotePort: 40001 };

function hl7(lines: string[]): Buffer {
  return Buffer.from(lines.join('\r') + '\r', 'utf8');
}

function adt(controlId: string, msh15 = '', msh16 = '', extraMsh = ''): Buffer {
  const ack = msh15 || msh16 ? `|||${msh15}|${msh16}` : '';
  return hl7([
    `MSH|^~\\&|ADTAPP|CLINIC|HUB|LAB|20260101120000||ADT^A04^ADT_A01|${controlId}|P|2.5.1${ack}${extraMsh}`,
    `PID|1||${CANARY_MRN}^^^CLINIC^MR~SSN123^^^SSA^SS||${CANARY_NAME}||${CANARY_DOB}|F`,
  ]);
}

function ackOf(response: Buffer | undefined): Hl7Message {
  if (!response) throw new Error('expected a response');
  return parse(response.toString('latin1'));
}

function msa(response: Buffer | undefined): { code: string; controlId: string; errors: string[] } {
  const ack = ackOf(response);
  return {
    code: get(ack, 'MSA-1') ?? '',
    controlId: get(ack, 'MSA-2') ?? '',
    errors: getAll(ack, 'ERR').map((e) => segmentGet(ack, e, '3.1') ?? ''),
  };
}

/**
 * After commit the answer comes first and the flow gets the message in the
 * next turn of the event loop (see the ordering test below). Most tests look
 * at both once handle() resolves, so their intakes wait that turn too.
 */
function deliveredWithAnswer(intake: Hl7Intake): Hl7Intake {
  const handle = intake.handle;
  (intake as { handle: Hl7Intake['handle'] }).handle = async (payload, connection) => {
    const response = await handle(payload, connection);
    await new Promise((resolve) => setImmediate(resolve));
    return response;
  };
  return intake;
}

describe('Hl7Intake', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let clock: FakeClock;
  let logger: CapturingLogger;
  const intakes: Hl7Intake[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-intake-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    clock = new FakeClock();
    logger = new CapturingLogger();
  });

  afterEach(async () => {
    for (const intake of intakes.splice(0)) await intake.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    expect(canariesIn(logger.lines)).toEqual([]);
  });

  function make(options: Partial<Hl7IntakeOptions> = {}, s: MessageStore = store): { intake: Hl7Intake; deliveries: IntakeDelivery[] } {
    const intake = deliveredWithAnswer(new Hl7Intake({ endpoint: 'lab-in', ...options }, { store: s, clock, logger }));
    intakes.push(intake);
    const deliveries: IntakeDelivery[] = [];
    intake.onMessage((d) => deliveries.push(d));
    return { intake, deliveries };
  }

  async function record(id: string): Promise<MessageRecord> {
    const r = await store.get(id, { includeBody: true });
    if (!r) throw new Error(`no record ${id}`);
    return r;
  }

  async function only(query: Parameters<MessageStore['search']>[0]): Promise<MessageRecord> {
    const { items } = await store.search(query);
    expect(items).toHaveLength(1);
    return record(items[0]!.id);
  }

  /** Status writes after the answer are not awaited by handle(); wait for them through the store's own queue. */
  async function settle(id: string, status: string): Promise<MessageRecord> {
    // Status writes after the answer are 'soon' writes (committed within ~25 ms), so poll on a timer.
    for (let i = 0; i < 400; i++) {
      const r = await record(id);
      if (r.status === status) return r;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return record(id);
  }

  describe('after commit (default)', () => {
    /** An intake whose handle() resolves with the answer alone, as the MLLP connection sees it. */
    function bare(): { intake: Hl7Intake; deliveries: IntakeDelivery[]; stop: () => void } {
      const intake = new Hl7Intake({ endpoint: 'lab-in' }, { store, clock, logger });
      intakes.push(intake);
      const deliveries: IntakeDelivery[] = [];
      const stop = intake.onMessage((d) => deliveries.push(d));
      return { intake, deliveries, stop };
    }
    const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    test('the answer is ready before the flow gets the message, which it gets in the next turn of the event loop', async () => {
      const { intake, deliveries } = bare();
      const response = await intake.handle(adt('CTRL-ORDER'), CONN);
      expect(msa(response).code).toBe('AA');
      expect(deliveries).toHaveLength(0);
      await nextTurn();
      expect(deliveries.map((d) => d.info.controlId)).toEqual(['CTRL-ORDER']);
    });

    test('answered, then closed or left without a receiver before the flow got it: not delivered, and the next start recovers it at once', async () => {
      const closing = bare();
      expect(msa(await closing.intake.handle(adt('CTRL-GAP1'), CONN)).code).toBe('AA');
      await closing.intake.close();
      const orphaned = bare();
      expect(msa(await orphaned.intake.handle(adt('CTRL-GAP2'), CONN)).code).toBe('AA');
      orphaned.stop();
      await nextTurn();
      expect([...closing.deliveries, ...orphaned.deliveries]).toHaveLength(0);
      const { items } = await store.search({ endpoint: 'lab-in' });
      expect(items.map((r) => r.status)).toEqual(['processing', 'processing']);

      const { intake, deliveries } = make();
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 2, interrupted: 0 });
      expect(deliveries.map((d) => d.info.controlId).sort()).toEqual(['CTRL-GAP1', 'CTRL-GAP2']);
    });

    test('stores the message with its metadata, answers AA with MSA-2 = MSH-10, then delivers it', async () => {
      const { intake, deliveries } = make();
      const payload = adt('CTRL-1');

      const response = await intake.handle(payload, CONN);

      expect(msa(response)).toEqual({ code: 'AA', controlId: 'CTRL-1', errors: [] });
      const ack = ackOf(response);
      expect(get(ack, 'MSH-3')).toBe('HUB');
      expect(get(ack, 'MSH-5')).toBe('ADTAPP');
      expect(get(ack, 'MSH-9.1')).toBe('ACK');
      expect(deliveries).toHaveLength(1);
      const d = deliveries[0]!;
      expect(d.ack).toBe('sent');
      expect(d.raw).toBe(payload.toString('utf8'));
      expect(d.info).toMatchObject({ messageType: 'ADT^A04', controlId: 'CTRL-1', sender: 'ADTAPP^CLINIC', receiver: 'HUB^LAB', bytes: payload.length });
      expect(d.connection).toEqual(CONN);
      const r = await record(d.id);
      expect(r).toMatchObject({
        direction: 'inbound',
        endpoint: 'lab-in',
        controlId: 'CTRL-1',
        messageType: 'ADT^A04',
        sender: 'ADTAPP^CLINIC',
        receiver: 'HUB^LAB',
        contentType: 'application/hl7-v2',
        status: 'processing',
        patientKey: store.patientKey(CANARY_MRN),
      });
      expect(r.body?.equals(payload)).toBe(true);

      d.complete();
      expect((await settle(d.id, 'sent')).status).toBe('sent');
    });

    test('a flow error marks the record error without storing the error text', async () => {
      const { intake, deliveries } = make();
      expect(msa(await intake.handle(adt('CTRL-2'), CONN)).code).toBe('AA');

      deliveries[0]!.complete({ error: new TypeError(`bad ${CANARY_NAME}`), nodeId: 'fn1' });
      const r = await settle(deliveries[0]!.id, 'error');

      expect(r).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR' });
      expect(r.errorText).toBe('node fn1 reported TypeError (UNKNOWN)');
      expect(canariesIn(r.errorText)).toEqual([]);
    });

    test('a flow that never completes is marked error TIMEOUT; the AA already went out', async () => {
      const { intake, deliveries } = make({ processingTimeoutMs: 1000 });
      expect(msa(await intake.handle(adt('CTRL-3'), CONN)).code).toBe('AA');

      clock.advance(1000);
      const r = await settle(deliveries[0]!.id, 'error');

      expect(r.errorCode).toBe('TIMEOUT');
      await expect(deliveries[0]!.settled).resolves.toBeUndefined();
      expect(intake.inFlightCount).toBe(0);
    });
  });

  describe('reprocess (an operator runs a stored message through the fixed flow again)', () => {
    test('a message the flow failed goes back to processing, is delivered again with nothing owed to the sender, and ends sent', async () => {
      const { intake, deliveries } = make({ ackMode: 'after-processing' });
      const answered = intake.handle(adt('CTRL-R1'), CONN);
      await waitFor(() => deliveries.length === 1);
      deliveries[0]!.complete({ error: new TypeError('mapping'), nodeId: 'fn1' });
      expect(msa(await answered).code).toBe('AE');
      const failed = await settle(deliveries[0]!.id, 'error');
      expect(failed).toMatchObject({ errorCode: 'FLOW_ERROR', attempts: 0 });

      await intake.reprocess(failed as MessageRecord & { body: Buffer });
      expect(deliveries).toHaveLength(2);
      const again = deliveries[1]!;
      expect(again).toMatchObject({ id: failed.id, ack: 'sent', connection: { remoteAddress: 'reprocess' } });
      expect(again.info.controlId).toBe('CTRL-R1');
      expect(await record(failed.id)).toMatchObject({ status: 'processing', errorCode: null, errorText: null, attempts: 1 });
      expect(again.respond('AA')).toBe('not-awaited');
      again.complete();
      expect(await settle(failed.id, 'sent')).toMatchObject({ status: 'sent', attempts: 1 });
      // No second record: the same message, processed again.
      expect((await store.search({ controlId: 'CTRL-R1' })).items).toHaveLength(1);
    });

    test('refused: another endpoint, a batch envelope, a message still in flight, and bytes that do not parse', async () => {
      const { intake, deliveries } = make();
      await intake.handle(adt('CTRL-R2'), CONN);
      const inFlight = await record(deliveries[0]!.id);
      await expect(intake.reprocess(inFlight as MessageRecord & { body: Buffer })).rejects.toThrow(/still being processed/);
      await expect(intake.reprocess({ ...inFlight, endpoint: 'other' } as MessageRecord & { body: Buffer })).rejects.toThrow(/only a single inbound message/);
      await expect(intake.reprocess({ ...inFlight, messageType: 'BATCH' } as MessageRecord & { body: Buffer })).rejects.toThrow(/only a single inbound message/);
      deliveries[0]!.complete();
      await settle(inFlight.id, 'sent');
      await expect(intake.reprocess({ ...inFlight, body: Buffer.from('not hl7') } as MessageRecord & { body: Buffer })).rejects.toThrow();
      expect((await record(inFlight.id)).status).toBe('sent');
      expect(deliveries).toHaveLength(1);
    });
  });

  describe('recovery at start (messages a previous run accepted and never saw through the flow)', () => {
    /** A run of the listener that dies without closing: its own clock, so the test's clock fires none of its timers. */
    function crashedRun(options: Partial<Hl7IntakeOptions> = {}): { intake: Hl7Intake; deliveries: IntakeDelivery[] } {
      const intake = deliveredWithAnswer(new Hl7Intake({ endpoint: 'lab-in', ...options }, { store, clock: new FakeClock(), logger }));
      intakes.push(intake);
      const deliveries: IntakeDelivery[] = [];
      intake.onMessage((d) => deliveries.push(d));
      return { intake, deliveries };
    }
    /** The fake clock past the store's real timestamps plus the processing timeout. */
    const pastTimeout = (timeoutMs: number): void => clock.advance(Date.now() - clock.now() + timeoutMs + 1000);

    test('after a crash: acknowledged at commit, left processing, sent through the flow again once older than the processing timeout, by a later pass of the same start', async () => {
      const before = crashedRun();
      expect(msa(await before.intake.handle(adt('CTRL-C1'), CONN)).code).toBe('AA');
      const id = before.deliveries[0]!.id;

      const { intake, deliveries } = make({ processingTimeoutMs: 5000 });
      // Untouched for less than the timeout: it may be in flight in another live hub process.
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 0, interrupted: 0 });
      expect(deliveries).toHaveLength(0);

      // A restart soon after the crash: the pass at start left it, and the pass it scheduled takes it once old enough.
      pastTimeout(5000);
      await waitFor(() => deliveries.length === 1);
      await intake.recoverInterrupted();
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({ id, ack: 'sent', connection: { remoteAddress: 'reprocess' } });
      expect(deliveries[0]!.info.controlId).toBe('CTRL-C1');
      expect(await record(id)).toMatchObject({ status: 'processing', attempts: 1 });
      deliveries[0]!.complete();
      expect(await settle(id, 'sent')).toMatchObject({ status: 'sent', attempts: 1 });
      // Once through, nothing is left to recover.
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 0, interrupted: 0 });
      expect(logger.lines.find((l) => l.message.includes('recovered'))?.meta).toEqual({ endpoint: 'lab-in', redelivered: 1, interrupted: 0 });
    });

    test('several: sent through the flow again in the order they arrived', async () => {
      const before = crashedRun();
      for (const id of ['CTRL-O1', 'CTRL-O2', 'CTRL-O3']) {
        expect(msa(await before.intake.handle(adt(id), CONN)).code).toBe('AA');
        // The store orders by receipt time in milliseconds; within one millisecond there is no order to recover.
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      const { intake, deliveries } = make({ processingTimeoutMs: 1000 });
      pastTimeout(1000);
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 3, interrupted: 0 });
      expect(deliveries.map((d) => d.info.controlId)).toEqual(['CTRL-O1', 'CTRL-O2', 'CTRL-O3']);
    });

    test('after a redeploy: what the closed run released mid-flow is recovered by the next start at once', async () => {
      const before = crashedRun();
      expect(msa(await before.intake.handle(adt('CTRL-D1'), CONN)).code).toBe('AA');
      const done = crashedRun();
      expect(msa(await done.intake.handle(adt('CTRL-D2'), CONN)).code).toBe('AA');
      done.deliveries[0]!.complete();
      await settle(done.deliveries[0]!.id, 'sent');
      await before.intake.close();
      await done.intake.close();

      const { intake, deliveries } = make();
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 1, interrupted: 0 });
      expect(deliveries.map((d) => d.info.controlId)).toEqual(['CTRL-D1']);
    });

    test('a sender never answered AA (after processing, original mode) resent it: the leftover is marked error INTERRUPTED, not run again; an enhanced-mode one had its commit ACK and is', async () => {
      const before = crashedRun({ ackMode: 'after-processing' });
      void before.intake.handle(adt('CTRL-P1'), CONN);
      expect(msa(await before.intake.handle(adt('CTRL-P2', 'AL', 'NE'), { ...CONN, connectionId: 8 })).code).toBe('CA');
      await waitFor(() => before.deliveries.length === 2);
      const [original, enhanced] = before.deliveries.map((d) => d.id);

      const { intake, deliveries } = make({ ackMode: 'after-processing', processingTimeoutMs: 1000 });
      pastTimeout(1000);
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 1, interrupted: 1 });
      expect(deliveries.map((d) => d.id)).toEqual([enhanced]);
      const left = await record(original!);
      expect(left).toMatchObject({ status: 'error', errorCode: 'INTERRUPTED' });
      expect(canariesIn(left.errorText)).toEqual([]);
    });

    test('a leftover whose stored copy no longer parses is marked error INTERRUPTED, saying so', async () => {
      const bad = await store.insert({ direction: 'inbound', endpoint: 'lab-in', messageType: 'ADT^A01', status: 'processing', contentType: 'application/hl7-v2', body: 'not an HL7 message' });
      const { intake, deliveries } = make({ processingTimeoutMs: 1000 });
      pastTimeout(1000);
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 0, interrupted: 1 });
      expect(await record(bad.id)).toMatchObject({ status: 'error', errorCode: 'INTERRUPTED', errorText: expect.stringContaining('could not be read again') });
      expect(deliveries).toHaveLength(0);
    });

    test('no receiver yet: nothing is touched, it waits for a start that has one', async () => {
      const before = crashedRun();
      await before.intake.handle(adt('CTRL-N1'), CONN);
      const intake = new Hl7Intake({ endpoint: 'lab-in' }, { store, clock, logger });
      intakes.push(intake);
      pastTimeout(15_000);
      expect(await intake.recoverInterrupted()).toEqual({ redelivered: 0, interrupted: 0 });
      expect((await record(before.deliveries[0]!.id)).status).toBe('processing');
    });
  });

  describe('after processing', () => {
    test('AA only once every consumer completed, and the record is sent by then', async () => {
      const { intake, deliveries } = make({ ackMode: 'after-processing' });
      const second: IntakeDelivery[] = [];
      intake.onMessage((d) => second.push(d));

      let answered = false;
      const pending = intake.handle(adt('CTRL-10'), CONN).then((r) => {
        answered = true;
        return r;
      });
      await waitFor(() => deliveries.length === 1 && second.length === 1);
      expect(deliveries[0]!.ack).toBe('on-completion');

      deliveries[0]!.complete();
      deliveries[0]!.complete({ error: new Error('ignored: one-shot') });
      await flush();
      expect(answered).toBe(false);
      second[0]!.complete();

      expect(msa(await pending)).toEqual({ code: 'AA', controlId: 'CTRL-10', errors: [] });
      expect((await record(deliveries[0]!.id)).status).toBe('sent');
    });

    test('an error in any completion answers AE with ERR 207 and marks the record error', async () => {
      const { intake, deliveries } = make({ ackMode: 'after-processing' });
      const pending = intake.handle(adt('CTRL-11'), CONN);
      await waitFor(() => deliveries.length === 1);

      deliveries[0]!.complete({ error: new Error('boom'), nodeId: 'n9' });

      expect(msa(await pending)).toEqual({ code: 'AE', controlId: 'CTRL-11', errors: ['207'] });
      expect(await record(deliveries[0]!.id)).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR' });
    });

    test('a timeout answers AE and marks the record error TIMEOUT', async () => {
      const { intake, deliveries } = make({ ackMode: 'after-processing', processingTimeoutMs: 5000 });
      const pending = intake.handle(adt('CTRL-12'), CONN);
      await waitFor(() => deliveries.length === 1);

      clock.advance(5000);

      expect(msa(await pending)).toEqual({ code: 'AE', controlId: 'CTRL-12', errors: ['207'] });
      expect(await record(deliveries[0]!.id)).toMatchObject({ status: 'error', errorCode: 'TIMEOUT' });
      deliveries[0]!.complete();
      expect((await record(deliveries[0]!.id)).status).toBe('error');
    });

    test('a consumer that throws counts as a failed completion', async () => {
      const intake = new Hl7Intake({ endpoint: 'lab-in', ackMode: 'after-processing' }, { store, clock, logger });
      intakes.push(intake);
      intake.onMessage(() => {
        throw new Error(`consumer bug ${CANARY_MRN}`);
      });

      expect(msa(await intake.handle(adt('CTRL-13'), CONN)).code).toBe('AE');
      expect((await only({ controlId: 'CTRL-13' })).errorCode).toBe('FLOW_ERROR');
    });

    test('close answers AE for messages still waiting', async () => {
      const { intake, deliveries } = make({ ackMode: 'after-processing' });
      const pending = intake.handle(adt('CTRL-14'), CONN);
      await waitFor(() => deliveries.length === 1);

      await intake.close();

      expect(msa(await pending)).toMatchObject({ code: 'AE', errors: ['207'] });
      expect(await record(deliveries[0]!.id)).toMatchObject({ status: 'error', errorCode: 'SHUTDOWN' });
      expect(msa(await intake.handle(adt('CTRL-15'), CONN))).toMatchObject({ code: 'AE', controlId: 'CTRL-15' });
      expect(await store.count({ controlId: 'CTRL-15' })).toBe(0);
    });
  });

  describe('manual', () => {
    test('respond() answers once; later answers report already-answered, unknown ids unknown', async () => {
      const { intake, deliveries } = make({ ackMode: 'manual' });
      const pending = intake.handle(adt('CTRL-20'), CONN);
      await waitFor(() => deliveries.length === 1);
      const d = deliveries[0]!;
      expect(d.ack).toBe('manual');

      expect(d.respond('AA')).toBe('sent');
      expect(msa(await pending)).toEqual({ code: 'AA', controlId: 'CTRL-20', errors: [] });
      expect(intake.respond(d.id, 'AE')).toBe('already-answered');
      expect(intake.respond('0190aaaa-0000-7000-8000-000000000000', 'AA')).toBe('unknown');

      d.complete();
      expect((await settle(d.id, 'sent')).status).toBe('sent');
      expect(intake.respond(d.id, 'AA')).toBe('unknown');
    });

    test('AR with explicit errors goes out as given and marks the record error NACK', async () => {
      const { intake, deliveries } = make({ ackMode: 'manual' });
      const pending = intake.handle(adt('CTRL-21'), CONN);
      await waitFor(() => deliveries.length === 1);

      deliveries[0]!.respond('AR', [{ code: 200, text: 'unsupported message type', location: 'MSH-9' }]);

      expect(msa(await pending)).toEqual({ code: 'AR', controlId: 'CTRL-21', errors: ['200'] });
      expect(await record(deliveries[0]!.id)).toMatchObject({ status: 'error', errorCode: 'NACK' });
    });

    test('no answer within the timeout: AE, and the record is error TIMEOUT even if the flow completed', async () => {
      const { intake, deliveries } = make({ ackMode: 'manual', processingTimeoutMs: 2000 });
      const pending = intake.handle(adt('CTRL-22'), CONN);
      await waitFor(() => deliveries.length === 1);
      deliveries[0]!.complete();
      await settle(deliveries[0]!.id, 'sent');

      clock.advance(2000);

      expect(msa(await pending)).toMatchObject({ code: 'AE', errors: ['207'] });
      expect(await settle(deliveries[0]!.id, 'error')).toMatchObject({ status: 'error', errorCode: 'TIMEOUT' });
      expect(deliveries[0]!.respond('AA')).toBe('unknown');
    });

    test('in other modes respond() is not-awaited', async () => {
      const { intake, deliveries } = make();
      await intake.handle(adt('CTRL-23'), CONN);
      expect(deliveries[0]!.respond('AE')).toBe('not-awaited');
    });
  });

  describe('malformed input', () => {
    const cases: [string, Buffer, string | null, string][] = [
      ['no MSH', hl7(['PID|1||X', 'OBX|1|NM|A||1']), null, '100'],
      ['three encoding characters', hl7(['MSH|^~}|A|B|C|D|2020||ADT^A01|CTRL-M2|P|2.4', 'PID|1']), 'CTRL-M2', '102'],
      ['segments run together', hl7(['MSH|^~\\&|A|B|C|D|2020||ORU^R01|CTRL-M3|P|2.4', 'OBR|1|| OBX|1|NM|X||1']), 'CTRL-M3', '100'],
      ['cut off (no final CR)', Buffer.from('MSH|^~\\&|A|B|C|D|2020||ORU^R01|CTRL-M4|P|2.4\rPID|1||12', 'utf8'), 'CTRL-M4', '100'],
      ['two messages in one frame', hl7(['MSH|^~\\&|A|B|C|D|2020||ORU^R01|CTRL-M5|P|2.4', 'MSH|^~\\&|A|B|C|D|2020||ORU^R01|CTRL-M6|P|2.4']), 'CTRL-M5', '100'],
      ['unsupported MSH-18', hl7(['MSH|^~\\&|A|B|C|D|2020||ORU^R01|CTRL-M7|P|2.5||||||KLINGON']), 'CTRL-M7', '102'],
      ['bytes invalid in UTF-8', Buffer.concat([Buffer.from('MSH|^~\\&|A|B|C|D|2020||ORU^R01|CTRL-M8|P|2.5\rPID|1||'), Buffer.from([0xff, 0xfe]), Buffer.from('\r')]), 'CTRL-M8', '102'],
      ['empty payload', Buffer.alloc(0), null, '100'],
    ];

    test.each(cases)('%s: AR with an ERR segment, MSA-2 when readable, bytes stored as error', async (_name, payload, controlId, errCode) => {
      const { intake, deliveries } = make();

      const answer = msa(await intake.handle(payload, CONN));

      expect(answer).toEqual({ code: 'AR', controlId: controlId ?? '', errors: [errCode] });
      expect(deliveries).toHaveLength(0);
      const r = await only({ status: 'error' });
      expect(r.errorCode).toBe('PARSE');
      expect(r.body?.equals(payload)).toBe(true);
      expect(r.controlId).toBe(controlId);
      expect(r.contentType).toBe('application/hl7-v2');
    });

    test('PHI in rejected input stays out of the record metadata and the logs', async () => {
      const { intake } = make();
      const bad = Buffer.from(canaryOru('CTRL-M9').replace(/\r$/, ''), 'utf8');

      expect(msa(await intake.handle(bad, CONN)).code).toBe('AR');
      const { body: _body, ...meta } = await only({ controlId: 'CTRL-M9' });
      expect(canariesIn(meta)).toEqual([]);
    });
  });

  describe('store failures', () => {
    function failingStore(): MessageStore {
      return new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'insert') return () => Promise.reject(Object.assign(new Error('disk full'), { code: 'STORE' }));
          return Reflect.get(target, prop, receiver) as unknown;
        },
      });
    }

    test('a message that cannot be stored gets AE 207, never AA, and is not delivered', async () => {
      const { intake, deliveries } = make({}, failingStore());

      expect(msa(await intake.handle(adt('CTRL-30'), CONN))).toEqual({ code: 'AE', controlId: 'CTRL-30', errors: ['207'] });
      expect(deliveries).toHaveLength(0);
      expect(logger.lines.some((l) => l.level === 'error' && l.meta?.controlId === 'CTRL-30')).toBe(true);
    });

    test('malformed input that cannot be stored gets AE (resend), not AR', async () => {
      const { intake } = make({}, failingStore());
      expect(msa(await intake.handle(hl7(['MSH|^~}|A|B|C|D|2020||ADT^A01|CTRL-31|P|2.4']), CONN))).toEqual({ code: 'AE', controlId: 'CTRL-31', errors: ['207'] });
    });

    test('enhanced mode answers CE', async () => {
      const { intake } = make({}, failingStore());
      expect(msa(await intake.handle(adt('CTRL-32', 'ER', 'NE'), CONN))).toEqual({ code: 'CE', controlId: 'CTRL-32', errors: ['207'] });
    });

    test('no consumer: AE, and the message is kept as an error record', async () => {
      const intake = new Hl7Intake({ endpoint: 'lab-in' }, { store, clock, logger });
      intakes.push(intake);
      expect(msa(await intake.handle(adt('CTRL-33'), CONN)).code).toBe('AE');
      expect((await only({ controlId: 'CTRL-33' })).errorCode).toBe('NO_CONSUMER');
    });
  });

  describe('enhanced acknowledgment (MSH-15)', () => {
    test.each([
      ['AL', 'CA'],
      ['SU', 'CA'],
      ['ER', null],
      ['NE', null],
      ['XX', 'CA'],
    ])('MSH-15 %s on success answers %s', async (msh15, expected) => {
      const { intake, deliveries } = make({ ackMode: 'after-processing' });
      const response = await intake.handle(adt(`CTRL-E-${msh15}`, msh15, 'AL'), CONN);

      if (expected === null) expect(response).toBeUndefined();
      else expect(msa(response)).toEqual({ code: expected, controlId: `CTRL-E-${msh15}`, errors: [] });
      // The commit ACK does not wait for the flow, whatever the ack mode.
      expect(deliveries[0]!.ack).toBe(expected === null ? 'none' : 'sent');
      expect(deliveries[0]!.info).toMatchObject({ acceptAckType: msh15, applicationAckType: 'AL' });
      expect((await record(deliveries[0]!.id)).status).toBe('processing');
    });

    test.each([
      ['AL', 'CR'],
      ['ER', 'CR'],
      ['SU', null],
      ['NE', null],
    ])('malformed with MSH-15 %s answers %s', async (msh15, expected) => {
      const { intake } = make();
      const response = await intake.handle(hl7([`MSH|^~}|A|B|C|D|2020||ADT^A01|CTRL-R-${msh15}|P|2.4|||${msh15}|NE`]), CONN);
      if (expected === null) expect(response).toBeUndefined();
      else expect(msa(response)).toMatchObject({ code: expected, controlId: `CTRL-R-${msh15}` });
      expect(await store.count({ status: 'error' })).toBe(1);
    });

    test('with enhanced acks off, MSH-15 is ignored and the original mode applies', async () => {
      const { intake } = make({ enhancedAcks: false });
      expect(msa(await intake.handle(adt('CTRL-E-OFF', 'NE', 'NE'), CONN)).code).toBe('AA');
    });

    test('manual mode: an enhanced message needs no answer from the flow', async () => {
      const { intake, deliveries } = make({ ackMode: 'manual' });
      expect(msa(await intake.handle(adt('CTRL-E-M', 'AL', 'NE'), CONN)).code).toBe('CA');
      expect(deliveries[0]!.respond('AA')).toBe('not-awaited');
    });
  });

  describe('duplicates', () => {
    test('the same message again within the window: AA, stored as filtered DUPLICATE, not delivered again', async () => {
      const { intake, deliveries } = make({ duplicateWindowMs: 60_000 });
      expect(msa(await intake.handle(adt('CTRL-40'), CONN)).code).toBe('AA');
      clock.advance(30_000);

      expect(msa(await intake.handle(adt('CTRL-40'), CONN))).toEqual({ code: 'AA', controlId: 'CTRL-40', errors: [] });

      expect(deliveries).toHaveLength(1);
      const dup = await only({ controlId: 'CTRL-40', status: 'filtered' });
      expect(dup).toMatchObject({ errorCode: 'DUPLICATE', parentId: deliveries[0]!.id });
      expect(dup.body?.equals(adt('CTRL-40'))).toBe(true);
    });

    test('a resend with a regenerated MSH-7 is still a duplicate', async () => {
      const { intake, deliveries } = make({ duplicateWindowMs: 60_000 });
      await intake.handle(adt('CTRL-41'), CONN);
      await intake.handle(Buffer.from(adt('CTRL-41').toString('utf8').replace('20260101120000', '20260101120105')), CONN);
      expect(deliveries).toHaveLength(1);
    });

    test('same control id with different content, another sender, after the window, or window 0: processed', async () => {
      const { intake, deliveries } = make({ duplicateWindowMs: 60_000 });
      await intake.handle(adt('CTRL-42'), CONN);
      await intake.handle(Buffer.from(adt('CTRL-42').toString('utf8').replace('|F\r', '|M\r')), CONN);
      await intake.handle(Buffer.from(adt('CTRL-42').toString('utf8').replace('ADTAPP', 'OTHERAPP')), CONN);
      clock.advance(60_001);
      await intake.handle(adt('CTRL-42'), CONN);
      expect(deliveries).toHaveLength(4);
      expect(logger.lines.some((l) => l.message.includes('reused with different content'))).toBe(true);

      const off = make({ duplicateWindowMs: 0 });
      await off.intake.handle(adt('CTRL-43'), CONN);
      await off.intake.handle(adt('CTRL-43'), CONN);
      expect(off.deliveries).toHaveLength(2);
    });

    test('a resend of a message that got AE is processed again', async () => {
      const { intake, deliveries } = make({ duplicateWindowMs: 60_000, ackMode: 'after-processing' });
      const first = intake.handle(adt('CTRL-44'), CONN);
      await waitFor(() => deliveries.length === 1);
      deliveries[0]!.complete({ error: new Error('x') });
      expect(msa(await first).code).toBe('AE');

      const second = intake.handle(adt('CTRL-44'), CONN);
      await waitFor(() => deliveries.length === 2);
      deliveries[1]!.complete();
      expect(msa(await second).code).toBe('AA');
    });

    test('a resend while the original is still in flight waits for its answer instead of running twice', async () => {
      const { intake, deliveries } = make({ duplicateWindowMs: 60_000, ackMode: 'after-processing' });
      const first = intake.handle(adt('CTRL-45'), CONN);
      await waitFor(() => deliveries.length === 1);
      const resend = intake.handle(adt('CTRL-45'), { ...CONN, connectionId: 8 });
      await flush();
      expect(deliveries).toHaveLength(1);

      deliveries[0]!.complete();

      expect(msa(await first).code).toBe('AA');
      expect(msa(await resend).code).toBe('AA');
      expect(deliveries).toHaveLength(1);
      expect(await store.count({ controlId: 'CTRL-45', status: 'filtered' })).toBe(1);
    });
  });

  describe('batches', () => {
    const batch = (): Buffer =>
      hl7([
        'FHS|^~\\&|LIS|LAB|HUB|CLINIC|20260101||||FILE-1',
        'BHS|^~\\&|LIS|LAB|HUB|CLINIC|20260101||||BATCH-1',
        'MSH|^~\\&|LIS|LAB|HUB|CLINIC|20260101||ORU^R01|B-1|P|2.5',
        `PID|1||${CANARY_MRN}`,
        'MSH|^~\\&|LIS|LAB|HUB|CLINIC|20260101||ORU^R01|B-2|P|2.5',
        'PID|1||MRN-2',
        'BTS|2',
        'FTS|1',
      ]);

    test('stored as received plus one record per message; answered with a batch of ACKs', async () => {
      const { intake, deliveries } = make();
      const payload = batch();

      const response = await intake.handle(payload, CONN);

      const lines = response!.toString('latin1').split('\r').filter(Boolean);
      expect(lines.map((l) => l.slice(0, 3))).toEqual(['FHS', 'BHS', 'MSH', 'MSA', 'MSH', 'MSA', 'BTS', 'FTS']);
      expect(lines[0]!.split('|')[11]).toBe('FILE-1');
      expect(lines[1]!.split('|')[11]).toBe('BATCH-1');
      expect(lines.filter((l) => l.startsWith('MSA'))).toEqual(['MSA|AA|B-1', 'MSA|AA|B-2']);
      expect(lines.slice(-2)).toEqual(['BTS|2', 'FTS|1']);

      const envelope = await only({ messageType: 'BATCH' });
      expect(envelope).toMatchObject({ controlId: 'BATCH-1', sender: 'LIS^LAB', status: 'sent' });
      expect(envelope.body?.equals(payload)).toBe(true);
      expect(deliveries.map((d) => d.batch)).toEqual([
        { id: envelope.id, index: 0, count: 2 },
        { id: envelope.id, index: 1, count: 2 },
      ]);
      const first = await record(deliveries[0]!.id);
      expect(first).toMatchObject({ parentId: envelope.id, controlId: 'B-1', patientKey: store.patientKey(CANARY_MRN) });
      expect(first.body?.toString('utf8')).toBe(deliveries[0]!.raw);
    });

    test('after processing: each message gets its own outcome', async () => {
      const { intake, deliveries } = make({ ackMode: 'after-processing' });
      const pending = intake.handle(batch(), CONN);
      await waitFor(() => deliveries.length === 2);
      deliveries[0]!.complete();
      deliveries[1]!.complete({ error: new Error('x') });
      const lines = (await pending)!.toString('latin1').split('\r');
      expect(lines.filter((l) => l.startsWith('MSA'))).toEqual(['MSA|AA|B-1', 'MSA|AE|B-2']);
    });

    test('a broken batch is rejected as a whole and stored as error', async () => {
      const { intake, deliveries } = make();
      const bad = hl7(['BHS|^~\\&|LIS|LAB', 'PID|1||X', 'BTS|1']);
      expect(msa(await intake.handle(bad, CONN)).code).toBe('AR');
      expect(deliveries).toHaveLength(0);
      expect((await only({ status: 'error' })).body?.equals(bad)).toBe(true);
    });
  });

  test('MSH-18 8859/1: decoded for the flow, stored byte for byte, ACK in the same charset', async () => {
    const { intake, deliveries } = make();
    const text = 'MSH|^~\\&|A|B|C|D|2020||ADT^A08|CTRL-50|P|2.5||||||8859/1\rPID|1||M1||Müller^Jürgen\r';
    const payload = Buffer.from(text, 'latin1');

    const response = await intake.handle(payload, CONN);

    expect(msa(response).code).toBe('AA');
    expect(ackOf(response).segments[0]!.fields[17]).toBe('8859/1');
    expect(deliveries[0]!.raw).toBe(text);
    expect((await record(deliveries[0]!.id)).body?.equals(payload)).toBe(true);
  });

  test('rejects bad options', () => {
    expect(() => new Hl7Intake({ endpoint: '' }, { store })).toThrow(/endpoint/);
    expect(() => new Hl7Intake({ endpoint: 'x', ackMode: 'later' as never }, { store })).toThrow(/ackMode/);
    expect(() => new Hl7Intake({ endpoint: 'x', processingTimeoutMs: 0 }, { store })).toThrow(/processingTimeoutMs/);
    expect(() => new Hl7Intake({ endpoint: 'x', duplicateWindowMs: -1 }, { store })).toThrow(/duplicateWindowMs/);
  });
});

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function waitFor(condition: () => boolean): Promise<void> {
  // Commits run on the store's writer thread, so poll on a timer rather than on event-loop turns.
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('condition not met');
}
