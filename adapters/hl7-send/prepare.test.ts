import { parse, serialize } from '../hl7';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { Hl7OutboundError, isHl7Message, prepareOutbound } from './index';

describe('prepareOutbound', () => {
  test('reads the identifiers the sender and the store need', () => {
    const prepared = prepareOutbound(canaryOru('CTRL-1'));
    expect(prepared).toMatchObject({
      controlId: 'CTRL-1',
      messageType: 'ORU^R01',
      sender: 'IVFLIS^REPROLAB',
      receiver: 'IVFEMR^REPROCLINIC',
      patientId: CANARY_MRN,
      charset: undefined,
    });
    expect(prepared.bytes.toString()).toBe(canaryOru('CTRL-1'));
  });

  test.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('rewrites %s terminators to CR and terminates the last segment', (_name, eol) => {
    const text = canaryOru('CTRL-2').replace(/\r/g, eol);
    expect(prepareOutbound(text).bytes.toString()).toBe(canaryOru('CTRL-2'));
    expect(prepareOutbound(text.slice(0, -eol.length)).bytes.toString()).toBe(canaryOru('CTRL-2'));
  });

  test('normalizeLineEndings: false sends text as written', () => {
    const text = canaryOru('CTRL-3').replace(/\r/g, '\n');
    expect(prepareOutbound(text, { normalizeLineEndings: false }).bytes.toString()).toBe(text);
  });

  test('bytes are sent unchanged', () => {
    const bytes = Buffer.from(canaryOru('CTRL-4').replace(/\r/g, '\n'));
    expect(prepareOutbound(bytes).bytes).toBe(bytes);
  });

  test('encodes per MSH-18 and reports the charset', () => {
    const text = canaryOru('CTRL-5').replace('|2.5.1', '|2.5.1||||||8859/1').replace('hCG beta', 'hCG \u00e4');
    const prepared = prepareOutbound(text);
    expect(prepared.charset).toBe('8859/1');
    expect(prepared.bytes.equals(Buffer.from(text, 'latin1'))).toBe(true);
  });

  test('a parsed message is not modified', () => {
    const message = parse(canaryOru('CTRL-6').replace(/\r/g, '\n'));
    const copy = JSON.parse(JSON.stringify(message)) as unknown;
    expect(prepareOutbound(message).bytes.toString()).toBe(canaryOru('CTRL-6'));
    expect(message).toEqual(copy);
    expect(serialize(message)).toBe(canaryOru('CTRL-6').replace(/\r/g, '\n'));
  });

  test.each([
    ['no MSH-10', canaryOru(''), 'NO_CONTROL_ID'],
    ['blank MSH-10', canaryOru('   '), 'NO_CONTROL_ID'],
    ['two messages', canaryOru('A') + canaryOru('B'), 'MULTIPLE_MESSAGES'],
    ['not a message', { segments: [] }, 'NOT_A_MESSAGE'],
    ['a number', 42, 'NOT_A_MESSAGE'],
  ])('%s: Hl7OutboundError, not retryable', (_name, input, reason) => {
    let error: unknown;
    try {
      prepareOutbound(input as string);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Hl7OutboundError);
    expect(error).toMatchObject({ code: 'PARSE', retryable: false, reason });
  });

  test('isHl7Message accepts a parsed message that went through JSON, and nothing else', () => {
    expect(isHl7Message(JSON.parse(JSON.stringify(parse(canaryOru('X')))))).toBe(true);
    expect(isHl7Message({ segments: [{ fields: ['PID'] }], delimiters: { field: '|' }, lineEnding: '\r' })).toBe(false);
    expect(isHl7Message('MSH|')).toBe(false);
    expect(isHl7Message(null)).toBe(false);
  });
});
