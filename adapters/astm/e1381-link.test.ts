import { ACK, ENQ, EOT, NAK } from './control-characters';
import { E1381Link } from './e1381-link';
import type { E1381LinkOptions, ReceiveEndReason, TransmitReport } from './e1381-link';
import { AstmClosedError, AstmRejectedError, AstmTimeoutError } from './errors';
import type { AstmFrameError } from './errors';
import type { ReceivedFrame } from './frame-decoder';
import { encodeFrame, frameMessages } from './frame-encoder';
import { ManualTimers } from './manual-timers';

/** Readable names for what a link wrote: control characters by name, frames as `F<fn>:<text>`. */
function names(chunks: Buffer[]): string[] {
  return chunks.map((b) => {
    if (b.length === 1) return ({ [ENQ]: 'ENQ', [ACK]: 'ACK', [NAK]: 'NAK', [EOT]: 'EOT' } as Record<number, string>)[b[0]!] ?? `0x${b[0]!.toString(16)}`;
    return `F${String.fromCharCode(b[1]!)}:${b.subarray(2, b.length - 5).toString('latin1')}`;
  });
}

const ctl = (byte: number): Buffer => Buffer.from([byte]);
const frame = (fn: number, text: string, final = true): Buffer => encodeFrame(fn, Buffer.from(text, 'latin1'), final);

function setup(options: Partial<E1381LinkOptions> = {}, accept?: (f: ReceivedFrame) => void | Promise<void>) {
  const timers = new ManualTimers();
  const written: Buffer[] = [];
  const accepted: string[] = [];
  const ends: ReceiveEndReason[] = [];
  const errors: AstmFrameError[] = [];
  const link = new E1381Link(
    { role: 'host', ...options },
    accept ??
      ((f) => {
        accepted.push(f.text.toString('latin1'));
      }),
    { write: (b) => written.push(Buffer.from(b)), timers, clock: timers.clock },
  );
  link.on('receiveEnd', (r) => ends.push(r));
  link.on('frameError', (e) => errors.push(e));
  const wrote = (): string[] => names(written.splice(0));
  return { link, timers, written, wrote, accepted, ends, errors };
}

describe('E1381 link, receiver side', () => {
  test('ENQ is acknowledged, frames are acknowledged in order, EOT ends the session', async () => {
    const t = setup();
    t.link.receive(ctl(ENQ));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK']);
    expect(t.link.state).toBe('receiving');
    t.link.receive(frame(1, 'H|\\^&\r', false));
    t.link.receive(frame(2, 'L|1|N\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'ACK']);
    expect(t.accepted).toEqual(['H|\\^&\r', 'L|1|N\r']);
    t.link.receive(ctl(EOT));
    await t.timers.flush();
    expect(t.ends).toEqual(['eot']);
    expect(t.link.state).toBe('neutral');
  });

  test('a bad checksum is NAKed and the retransmission accepted once', async () => {
    const t = setup();
    t.link.receive(ctl(ENQ));
    const bad = frame(1, 'H|\\^&\r');
    bad[bad.length - 4] = bad[bad.length - 4] === 0x30 ? 0x31 : 0x30;
    t.link.receive(bad);
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'NAK']);
    expect(t.errors.map((e) => e.kind)).toEqual(['checksum']);
    t.link.receive(frame(1, 'H|\\^&\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK']);
    expect(t.accepted).toEqual(['H|\\^&\r']);
  });

  test('an unexpected frame number is NAKed; a repeat of the last accepted frame is ACKed and dropped', async () => {
    const t = setup();
    const dups: number[] = [];
    t.link.on('duplicateFrame', (fn) => dups.push(fn));
    t.link.receive(ctl(ENQ));
    t.link.receive(frame(2, 'H|\\^&\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'NAK']);
    expect(t.errors.map((e) => e.kind)).toEqual(['frame-number']);
    t.link.receive(frame(1, 'H|\\^&\r'));
    t.link.receive(frame(1, 'H|\\^&\r')); // our ACK was lost, the sender tries again
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'ACK']);
    expect(t.accepted).toHaveLength(1);
    expect(dups).toEqual([1]);
  });

  test('frame numbers wrap 7 -> 0 -> 1 (E1381 §6.3.2)', async () => {
    const t = setup();
    t.link.receive(ctl(ENQ));
    for (let i = 1; i <= 10; i++) t.link.receive(frame(i % 8, `R|${i}\r`));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', ...new Array(10).fill('ACK')]);
    expect(t.accepted).toHaveLength(10);
  });

  test('lenient endings: LF only, CR only, none, and lower-case checksum hex', async () => {
    const t = setup();
    t.link.receive(ctl(ENQ));
    const f1 = frame(1, 'A\r');
    const f2 = frame(2, 'B\r');
    const f3 = frame(3, 'C\r');
    const f4 = Buffer.from(frame(4, 'D|x\r').toString('latin1').toLowerCase().replace('d|x', 'D|x'), 'latin1');
    t.link.receive(Buffer.concat([f1.subarray(0, f1.length - 2), Buffer.from('\n')]));
    t.link.receive(Buffer.concat([f2.subarray(0, f2.length - 2), Buffer.from('\r')]));
    t.link.receive(f3.subarray(0, f3.length - 2));
    t.link.receive(f4);
    await t.timers.flush();
    expect(t.accepted).toEqual(['A\r', 'B\r', 'C\r', 'D|x\r']);
    expect(t.errors).toEqual([]);
  });

  test('an oversize frame is accepted and reported; one beyond the hard cap is NAKed', async () => {
    const t = setup({ maxReceiveFrameBytes: 1000 });
    const sizes: number[] = [];
    t.link.on('oversizeFrame', (n) => sizes.push(n));
    t.link.receive(ctl(ENQ));
    t.link.receive(frame(1, 'R|' + 'x'.repeat(600) + '\r'));
    t.link.receive(frame(2, 'R|' + 'x'.repeat(2000) + '\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'ACK', 'NAK']);
    expect(sizes).toEqual([610]);
    expect(t.errors.map((e) => e.kind)).toEqual(['oversize']);
  });

  test('the 30 s receiver timer ends a silent session', async () => {
    const t = setup();
    t.link.receive(ctl(ENQ));
    t.link.receive(frame(1, 'H|\\^&\r'));
    await t.timers.advance(29_999);
    expect(t.ends).toEqual([]);
    await t.timers.advance(1);
    expect(t.ends).toEqual(['timeout']);
    expect(t.link.state).toBe('neutral');
  });

  test('a rejecting acceptor NAKs the frame; the retransmission is offered again', async () => {
    let fail = true;
    const seen: string[] = [];
    const t = setup({}, (f) => {
      seen.push(f.text.toString('latin1'));
      if (fail) {
        fail = false;
        throw new Error('store down');
      }
    });
    t.link.receive(ctl(ENQ));
    t.link.receive(frame(1, 'L|1|N\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'NAK']);
    expect(t.errors.map((e) => e.kind)).toEqual(['handler']);
    t.link.receive(frame(1, 'L|1|N\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK']);
    expect(seen).toEqual(['L|1|N\r', 'L|1|N\r']);
  });

  test('the ACK waits for a slow acceptor', async () => {
    let release!: () => void;
    const t = setup({}, () => new Promise<void>((r) => (release = r)));
    t.link.receive(ctl(ENQ));
    t.link.receive(frame(1, 'L|1|N\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK']);
    release();
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK']);
  });

  test('frames without ENQ are ignored and reported', async () => {
    const t = setup();
    t.link.receive(frame(1, 'H|\\^&\r'));
    await t.timers.flush();
    expect(t.wrote()).toEqual([]);
    expect(t.errors.map((e) => e.kind)).toEqual(['unexpected']);
  });
});

describe('E1381 link, sender side', () => {
  const frames = (n: number) => frameMessages(Array.from({ length: n }, (_, i) => Buffer.from(`R|${i + 1}\r`)));

  async function start(t: ReturnType<typeof setup>, count: number) {
    const result = t.link.transmit(frames(count)).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    await t.timers.flush();
    return () => result; // a thunk: an async function returning the promise would wait for it
  }

  test('establishment, transfer and termination', async () => {
    const t = setup({ role: 'instrument' });
    const done = await start(t, 2);
    expect(t.wrote()).toEqual(['ENQ']);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['F1:R|1\r']);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['F2:R|2\r']);
    t.link.receive(ctl(ACK));
    const res = await done();
    expect(t.wrote()).toEqual(['EOT']);
    expect(res.ok).toBe(true);
    const report = (res as { r: TransmitReport }).r;
    expect(report).toMatchObject({ frames: 2, retransmissions: 0, establishAttempts: 1, roundTrips: 3 });
    expect(report.bytesSent).toBe(1 + 11 + 11 + 1); // ENQ, two 11-byte frames, EOT
  });

  test('a NAKed frame is retransmitted; the sixth refusal ends the session with EOT', async () => {
    const t = setup({ role: 'instrument' });
    const done = await start(t, 1);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.wrote();
    for (let i = 0; i < 5; i++) {
      t.link.receive(ctl(NAK));
      await t.timers.flush();
      expect(t.wrote()).toEqual(['F1:R|1\r']);
    }
    t.link.receive(Buffer.from('?')); // any other character counts as NAK
    const res = await done();
    expect(t.wrote()).toEqual(['EOT']);
    expect(res.ok).toBe(false);
    const err = (res as { e: unknown }).e as AstmRejectedError;
    expect(err).toBeInstanceOf(AstmRejectedError);
    expect(err).toMatchObject({ code: 'NACK', phase: 'transfer', attempts: 6, framesAccepted: 0, framesTotal: 1 });
  });

  test('no reply to a frame within 15 s: EOT, TIMEOUT, maybe delivered', async () => {
    const t = setup({ role: 'instrument' });
    const done = await start(t, 2);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.wrote();
    await t.timers.advance(15_000);
    const res = await done();
    expect(t.wrote()).toEqual(['EOT']);
    const err = (res as { e: unknown }).e as AstmTimeoutError;
    expect(err).toBeInstanceOf(AstmTimeoutError);
    expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true, phase: 'transfer', framesAccepted: 1, maybeDelivered: true, frameNumber: 2 });
  });

  test('no reply to ENQ within 15 s: EOT and TIMEOUT', async () => {
    const t = setup({ role: 'instrument' });
    const done = await start(t, 1);
    await t.timers.advance(15_000);
    const err = ((await done()) as { e: unknown }).e as AstmTimeoutError;
    expect(t.wrote()).toEqual(['ENQ', 'EOT']);
    expect(err).toMatchObject({ phase: 'establish', maybeDelivered: false });
  });

  test('a busy receiver (NAK to ENQ) is asked again after 10 s, up to six times', async () => {
    const t = setup({ role: 'instrument' });
    const done = await start(t, 1);
    for (let i = 1; i <= 6; i++) {
      expect(t.wrote()).toEqual(['ENQ']);
      t.link.receive(ctl(NAK));
      await t.timers.advance(9_999);
      expect(t.wrote()).toEqual([]);
      await t.timers.advance(1);
    }
    const err = ((await done()) as { e: unknown }).e as AstmRejectedError;
    expect(err).toMatchObject({ phase: 'establish', attempts: 6, code: 'NACK' });
  });

  test('EOT instead of ACK (receiver interrupt) is taken as ACK', async () => {
    const t = setup({ role: 'instrument' });
    let interrupts = 0;
    t.link.on('interruptRequested', () => interrupts++);
    const done = await start(t, 2);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.link.receive(ctl(EOT));
    await t.timers.flush();
    t.link.receive(ctl(ACK));
    expect((await done()).ok).toBe(true);
    expect(t.wrote()).toEqual(['ENQ', 'F1:R|1\r', 'F2:R|2\r', 'EOT']);
    expect(interrupts).toBe(1);
  });

  test('close() rejects a running transmission with AstmClosedError', async () => {
    const t = setup({ role: 'instrument' });
    const done = await start(t, 1);
    t.link.close('disconnected');
    const err = ((await done()) as { e: unknown }).e as AstmClosedError;
    expect(err).toBeInstanceOf(AstmClosedError);
    expect(err.code).toBe('CONNECT_FAILED');
    await expect(t.link.transmit(frames(1))).rejects.toBeInstanceOf(AstmClosedError);
  });

  test('a transmission waits for the session being received to end', async () => {
    const t = setup({ role: 'host' });
    t.link.receive(ctl(ENQ));
    await t.timers.flush();
    const done = await start(t, 1);
    expect(t.wrote()).toEqual(['ACK']);
    t.link.receive(frame(1, 'L|1|N\r'));
    t.link.receive(ctl(EOT));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'ENQ']);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.link.receive(ctl(ACK));
    expect((await done()).ok).toBe(true);
  });
});

describe('E1381 link, contention (E1381 §6.2.1)', () => {
  test('the host stops, answers the instrument\'s next ENQ, receives, then sends', async () => {
    const t = setup({ role: 'host' });
    const contention: number[] = [];
    t.link.on('contention', () => contention.push(1));
    const done = t.link.transmit(frameMessages([Buffer.from('H|\\^&\r')]));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ENQ']);
    t.link.receive(ctl(ENQ)); // the instrument's ENQ crossed ours
    await t.timers.flush();
    expect(t.wrote()).toEqual([]); // the host does not answer that one
    expect(contention).toHaveLength(1);
    await t.timers.advance(1_000);
    t.link.receive(ctl(ENQ)); // the instrument tries again after 1 s
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK']);
    t.link.receive(frame(1, 'L|1|N\r'));
    t.link.receive(ctl(EOT));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ACK', 'ENQ']);
    expect(t.accepted).toEqual(['L|1|N\r']);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.link.receive(ctl(ACK));
    await expect(done).resolves.toMatchObject({ contentions: 1, establishAttempts: 2 });
  });

  test('the host retries after 20 s when the instrument sends no ENQ', async () => {
    const t = setup({ role: 'host' });
    const done = t.link.transmit(frameMessages([Buffer.from('H|\\^&\r')]));
    await t.timers.flush();
    t.link.receive(ctl(ENQ));
    await t.timers.advance(19_999);
    expect(t.wrote()).toEqual(['ENQ']);
    await t.timers.advance(1);
    expect(t.wrote()).toEqual(['ENQ']);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.link.receive(ctl(ACK));
    await expect(done).resolves.toMatchObject({ contentions: 1 });
  });

  test('the instrument keeps priority: it waits 1 s and sends ENQ again', async () => {
    const t = setup({ role: 'instrument' });
    const done = t.link.transmit(frameMessages([Buffer.from('H|\\^&\r')]));
    await t.timers.flush();
    expect(t.wrote()).toEqual(['ENQ']);
    t.link.receive(ctl(ENQ));
    await t.timers.advance(999);
    expect(t.wrote()).toEqual([]);
    await t.timers.advance(1);
    expect(t.wrote()).toEqual(['ENQ']);
    t.link.receive(ctl(ACK));
    await t.timers.flush();
    t.link.receive(ctl(ACK));
    await expect(done).resolves.toMatchObject({ contentions: 1, establishAttempts: 2 });
  });
});

describe('E1381 link, two ends back to back', () => {
  test('a long message crosses in 247-byte frames, FN wrapping, and is joined unchanged', async () => {
    const timers = new ManualTimers();
    const texts: Buffer[] = [];
    let finals = 0;
    // eslint-disable-next-line prefer-const
    let host: E1381Link;
    const instrument = new E1381Link({ role: 'instrument' }, () => undefined, { write: (b) => host.receive(b), timers });
    host = new E1381Link(
      { role: 'host' },
      (f) => {
        texts.push(f.text);
        if (f.final) finals++;
      },
      { write: (b) => instrument.receive(b), timers },
    );
    const record = 'R|1|^^^E2|' + '1234567890'.repeat(250) + '|pg/mL\r';
    const sent = frameMessages([Buffer.from(record)]);
    expect(sent.length).toBe(Math.ceil(record.length / 240));
    expect(sent.every((f) => f.bytes.length <= 247)).toBe(true);
    const report = await instrument.transmit(sent);
    expect(Buffer.concat(texts).toString()).toBe(record);
    expect(finals).toBe(1);
    expect(report.retransmissions).toBe(0);
    expect(host.stats.framesAccepted).toBe(sent.length);
  });
});
