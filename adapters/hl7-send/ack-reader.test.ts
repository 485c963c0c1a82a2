import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../hl7';
import { canaryOru } from '../../test/fixtures/canary';
import { Hl7AckParseError, Hl7NackError, Hl7Sender, readAck } from './index';
import { ScriptedHl7Peer } from './testing/scripted-hl7-peer';

const CORPUS = '/work/shared/corpus/hl7v2';

describe('readAck', () => {
  test('v2.5 ERR: location from ERR-2, code and system from ERR-3, severity, application code', () => {
    const ack = parse(
      [
        'MSH|^~\\&|EMR|CLINIC|LIS|LAB|20260101||ACK^R01^ACK|A1|P|2.5.1',
        'MSA|AE|CTRL-1|see ERR',
        'ERR||OBX^2^5^1^2|102^Data type error^HL70357|E|X17^Bad unit^L|||unit m[IU]/mL not allowed for DOE',
        'ERR||PID^1^7|103^Table value not found^HL70357|W',
        'ERR|||207^Application internal error^HL70357|F',
      ].join('\r') + '\r',
    );
    const reading = readAck(ack);
    expect(reading).toEqual({
      ackCode: 'AE',
      rawAckCode: 'AE',
      acknowledgedId: 'CTRL-1',
      ackControlId: 'A1',
      hasMsa: true,
      errors: [
        { code: '102', codeSystem: 'HL70357', severity: 'E', applicationCode: 'X17', location: 'OBX[2]-5[1].2' },
        { code: '103', codeSystem: 'HL70357', severity: 'W', location: 'PID-7' },
        { code: '207', codeSystem: 'HL70357', severity: 'F' },
      ],
      userMessages: ['unit m[IU]/mL not allowed for DOE'],
      text: 'see ERR',
    });
  });

  test('v2.1-2.4 ERR-1: one error per repetition, location and code from ELD', () => {
    const ack = parse(
      ['MSH|^~\\&|EMR|CLINIC|LIS|LAB|20260101||ACK|A2|P|2.3', 'MSA|AR|CTRL-2', 'ERR|PID^1^5^101&Required field missing&HL70357~MSH^1^9^200&Unsupported message type&HL70357'].join('\r') + '\r',
    );
    expect(readAck(ack).errors).toEqual([
      { code: '101', codeSystem: 'HL70357', location: 'PID-5' },
      { code: '200', codeSystem: 'HL70357', location: 'MSH-9' },
    ]);
  });

  test('codes that are not code-like are left out rather than echoed', () => {
    const ack = parse(['MSH|^~\\&|EMR|CLINIC|LIS|LAB|20260101||ACK|A3|P|2.5.1', 'MSA|ae|CTRL-3', 'ERR||Doe, Jane^1|Jane Doe born 1901|E'].join('\r') + '\r');
    const reading = readAck(ack);
    expect(reading.ackCode).toBe('AE');
    expect(reading.errors).toEqual([{ severity: 'E' }]);
  });

  test('an unknown MSA-1 is reported raw only when it looks like a code', () => {
    const bad = (code: string): ReturnType<typeof readAck> =>
      readAck(parse(`MSH|^~\\&|EMR|CLINIC|LIS|LAB|20260101||ACK|A4|P|2.5.1\rMSA|${code}|CTRL-4\r`));
    expect(bad('OK')).toMatchObject({ ackCode: undefined, rawAckCode: 'OK' });
    expect(bad('Jane Doe')).toMatchObject({ ackCode: undefined, rawAckCode: undefined });
  });

  test('no MSA', () => {
    const reading = readAck(parse('MSH|^~\\&|EMR|CLINIC|LIS|LAB|20260101||ACK|A5|P|2.5.1\r'));
    expect(reading).toMatchObject({ hasMsa: false, ackCode: undefined, acknowledgedId: undefined });
  });
});

const corpusMissing = existsSync(CORPUS) ? undefined : `${CORPUS} not found`;
if (corpusMissing) console.warn(`HL7 corpus ACK tests skipped: ${corpusMissing}`);
const describeCorpus = corpusMissing ? describe.skip : describe;

/**
 * Real-world ACKs sent back verbatim by a loopback peer, for a message whose
 * MSH-10 is the ACK's MSA-2, so pairing holds and only interpretation is tested.
 */
describeCorpus('Hl7Sender reading ACKs from the corpus', () => {
  let peer: ScriptedHl7Peer;
  let sender: Hl7Sender;

  beforeEach(async () => {
    peer = await ScriptedHl7Peer.start();
    sender = new Hl7Sender({ host: '127.0.0.1', port: peer.port, closeTimeoutMs: 500 });
  });

  afterEach(async () => {
    await sender.close();
    await peer.close();
  });

  function replyWith(file: string): void {
    const bytes = readFileSync(join(CORPUS, file));
    peer.script(() => bytes);
  }

  test.each([
    ['ack_aa_pkb_vendor_doc.hl7', '20133090012357', '201311131009.59'],
    ['ack_aa_v21_escapes_hex_protogen.hl7', 'bla', 'HLA-B27'],
    ['ack_aa_v21_nonstandard_subcomponent_sep.hl7', 'msgCtrlId', '589888ADT30502184808'],
  ])('%s is accepted', async (file, controlId, ackControlId) => {
    replyWith(file);
    const result = await sender.send(canaryOru(controlId));
    expect(result).toMatchObject({ ackCode: 'AA', controlId, ackControlId });
  });

  test('a v2.1 AA with a repeating ERR-1 of bare codes keeps no made-up locations', async () => {
    replyWith('ack_aa_v21_escapes_hex_protogen.hl7');
    const result = await sender.send(canaryOru('bla'));
    expect(result.errors.every((e) => e.location === undefined)).toBe(true);
  });

  test.each([
    ['ack_ae_pkb_vendor_doc.hl7', 'AE', '20133090010842', 'Unexpected error while processing: null'],
    ['ack_ar_pkb_vendor_doc.hl7', 'AR', '20133090012408', 'Parsing or validation error: OBR[1].OBX[2]: No observation timestamp in OBX or OBR'],
  ])('%s is a NACK with its MSA-3 kept aside', async (file, ackCode, controlId, text) => {
    replyWith(file);
    const err = (await sender.send(canaryOru(controlId)).catch((e: unknown) => e)) as Hl7NackError;
    expect(err).toBeInstanceOf(Hl7NackError);
    expect(err).toMatchObject({ ackCode, controlId, retryable: false, errors: [] });
    expect(err.ackText).toBe(text);
    expect(err.message).toBe(`NACK ${ackCode} for control ID ${controlId}`);
  });

  // The hl7 parser refuses a fifth MSH-2 character before v2.7. Should it
  // ever tolerate it, this ACK becomes a readable (non-retryable) AR instead.
  test('malformed/ack_ar_stray_char_in_encoding_field.hl7: a retryable PARSE error (or, if parsed, an AR)', async () => {
    replyWith('malformed/ack_ar_stray_char_in_encoding_field.hl7');
    const err = (await sender.send(canaryOru('messageID')).catch((e: unknown) => e)) as Error;
    if (err instanceof Hl7NackError) {
      expect(err).toMatchObject({ ackCode: 'AR', controlId: 'messageID', retryable: false });
    } else {
      expect(err).toBeInstanceOf(Hl7AckParseError);
      expect(err).toMatchObject({ code: 'PARSE', reason: 'UNPARSEABLE', retryable: true, controlId: 'messageID' });
    }
  });
});
