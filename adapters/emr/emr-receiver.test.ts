import type { Logger, LogMeta } from '../shared/logger';
import { IntegrationError } from '../shared/errors';
import { EmrEventReceiver } from './emr-receiver';
import type { EmrEvent } from './emr-events';
import { signWebhook, WebhookVerifier } from './webhook-verifier';

const SECRET = 'emr-webhook-secret-0123456789';
const NOW_S = 1_742_500_000;
const raw = Buffer.from(
  JSON.stringify({
    id: 'evt-charge-1',
    type: 'charge.posted',
    occurredAt: '2025-03-18T17:00:00-04:00',
    data: { chargeId: 'CHG-0001', patientId: 'CANARY-MRN-0001', accountId: 'ACCT-IVF-0318', code: '58970', amount: { value: 3500 }, serviceDate: '2025-03-18', diagnoses: ['N97.9'] },
  }),
);

function setup(): { receiver: EmrEventReceiver; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, message, ...meta }));
  };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const verifier = new WebhookVerifier({ secrets: [SECRET] }, { clock: () => NOW_S * 1000 });
  return { receiver: new EmrEventReceiver(verifier, { logger }), lines };
}

const headers = { 'x-emr-signature': signWebhook(SECRET, raw, NOW_S) };

describe('EmrEventReceiver (emr-in)', () => {
  test('answers 202 only after the event was stored', async () => {
    const { receiver, lines } = setup();
    const order: string[] = [];
    const result = await receiver.receive({ rawBody: raw, headers }, async (event: EmrEvent) => {
      order.push(`stored ${event.id}`);
    });
    order.push(`answered ${result.status}`);
    expect(order).toEqual(['stored evt-charge-1', 'answered 202']);
    expect(result.body).toEqual({ ok: true, eventId: 'evt-charge-1' });
    expect(lines.join('\n')).not.toContain('CANARY');
  });

  test('a failed store is 503 (the EMR retries) and the same signed request is then accepted', async () => {
    const { receiver, lines } = setup();
    const failing = await receiver.receive({ rawBody: raw, headers }, async () => {
      throw new IntegrationError('store busy for CANARY-MRN-0001', 'STORE', true);
    });
    expect(failing.status).toBe(503);
    const retried = await receiver.receive({ rawBody: raw, headers }, async () => undefined);
    expect(retried.status).toBe(202);
    expect(lines.join('\n')).not.toContain('CANARY');
  });

  test('forged → 401, replayed → 409, invalid → 400; nothing is stored', async () => {
    const { receiver, lines } = setup();
    const persist = jest.fn(async () => undefined);
    expect((await receiver.receive({ rawBody: raw, headers: { 'x-emr-signature': signWebhook('attacker-secret-000000', raw, NOW_S) } }, persist)).status).toBe(401);
    expect((await receiver.receive({ rawBody: raw, headers }, persist)).status).toBe(202);
    expect((await receiver.receive({ rawBody: raw, headers }, persist)).status).toBe(409);
    const bad = Buffer.from('{"id":"evt-x","type":"nope"}');
    expect((await receiver.receive({ rawBody: bad, headers: { 'x-emr-signature': signWebhook(SECRET, bad, NOW_S) } }, persist)).status).toBe(400);
    expect(persist).toHaveBeenCalledTimes(1);
    expect(lines.join('\n')).not.toContain('CANARY');
  });
});
