import { summarizeMessage } from '../shared/redact';
import { messageInfo, parse } from './index';

describe('messageInfo', () => {
  it('returns only header identifiers, fit for log metadata', () => {
    const msg = parse(
      'MSH|^~\\&|IVFLIS|REPROLAB|IVFEMR|REPROCLINIC|20250101||ORU^R01^ORU_R01|CTRL-\\F\\1|P^T|2.5.1^DEU\r' +
        'PID|1||CANARY-MRN-0001||CANARY^PATIENT\r',
    );
    const info = messageInfo(msg);
    expect(info).toEqual({ messageType: 'ORU^R01', controlId: 'CTRL-|1', version: '2.5.1', processingId: 'P' });
    const meta = summarizeMessage({ type: info.messageType, controlId: info.controlId });
    expect(JSON.stringify(meta)).not.toMatch(/CANARY/);
  });

  it('copes with a bare message type', () => {
    expect(messageInfo(parse('MSH|^~\\&|A||||||ACK|1|P|2.1\r')).messageType).toBe('ACK');
  });
});
