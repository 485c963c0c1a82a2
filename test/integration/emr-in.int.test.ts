import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmrEventReceiver, signWebhook, WebhookVerifier } from '../../adapters/emr';
import type { EmrEvent } from '../../adapters/emr';
import type { Logger, LogMeta } from '../../adapters/shared/logger';
import { CANARY_MRN } from '../fixtures/canary';
import { x12CanariesIn } from '../fixtures/x12';

/**
 * emr-in over real HTTP on loopback: the raw body bytes are what is signed,
 * the answer comes only after the event is stored, forged/stale/replayed
 * requests are refused.
 */
const SECRET = 'emr-webhook-secret-0123456789';

describe('emr-in endpoint over HTTP', () => {
  let server: Server;
  let url: string;
  const stored: EmrEvent[] = [];
  let failStore = false;
  const lines: string[] = [];

  beforeAll(async () => {
    const at = (level: string) => (message: string, meta?: LogMeta): void => {
      lines.push(JSON.stringify({ level, message, ...meta }));
    };
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const receiver = new EmrEventReceiver(new WebhookVerifier({ secrets: [SECRET] }), { logger });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void receiver
          .receive({ rawBody: Buffer.concat(chunks), headers: req.headers }, async (event) => {
            if (failStore) throw new Error('disk full');
            stored.push(event);
          })
          .then((r) => {
            res.writeHead(r.status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(r.body));
          });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in/emr`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(x12CanariesIn(lines.join('\n'))).toEqual([]);
  });

  // Pretty-printed on purpose: only the exact bytes verify, not a re-serialisation.
  const body = JSON.stringify(
    {
      id: 'evt-appt-1',
      type: 'appointment.booked',
      occurredAt: '2025-03-10T14:00:00Z',
      data: { appointmentId: 'APT-77', patientId: CANARY_MRN, status: 'booked', start: '2025-03-18T08:00:00-04:00', serviceType: 'oocyte-retrieval' },
    },
    null,
    2,
  );
  const post = (headers: Record<string, string>, payload = body): Promise<{ status: number; json: unknown }> =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload }).then(async (r) => ({ status: r.status, json: (await r.json()) as unknown }));
  const now = (): number => Math.floor(Date.now() / 1000);

  test('a signed event is stored, then acknowledged 202; replaying it is 409', async () => {
    const sig = signWebhook(SECRET, body, now());
    expect(await post({ 'x-emr-signature': sig })).toEqual({ status: 202, json: { ok: true, eventId: 'evt-appt-1' } });
    expect(stored.map((e) => e.id)).toEqual(['evt-appt-1']);
    expect(await post({ 'x-emr-signature': sig })).toEqual({ status: 409, json: { ok: false, error: 'replayed' } });
    expect(stored).toHaveLength(1);
  });

  test('forged and stale signatures are 401 and nothing is stored', async () => {
    stored.length = 0;
    expect((await post({ 'x-emr-signature': signWebhook('not-the-secret-0000000', body, now()) })).status).toBe(401);
    expect((await post({ 'x-emr-signature': signWebhook(SECRET, body, now() - 3600) })).json).toEqual({ ok: false, error: 'stale' });
    expect((await post({ 'x-emr-signature': signWebhook(SECRET, body, now()) }, JSON.stringify(JSON.parse(body)))).json).toEqual({ ok: false, error: 'bad-signature' });
    expect(stored).toEqual([]);
  });

  test('when the store fails the EMR gets 503 and its retry of the same request succeeds', async () => {
    stored.length = 0;
    const other = body.replace('evt-appt-1', 'evt-appt-2');
    const sig = signWebhook(SECRET, other, now());
    failStore = true;
    expect((await post({ 'x-emr-signature': sig }, other)).status).toBe(503);
    failStore = false;
    expect((await post({ 'x-emr-signature': sig }, other)).status).toBe(202);
    expect(stored.map((e) => e.id)).toEqual(['evt-appt-2']);
  });
});
