import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LogMeta, Logger } from '../shared/logger';
import type { AlertEvent } from './types';
import { AlertDeliveryError, WebhookNotifier } from './webhook-notifier';

interface Received {
  headers: IncomingMessage['headers'];
  raw: string;
}

/** A loopback receiver that answers with the next scripted status (200 once the script runs out). */
async function receiver(script: (number | 'hang')[] = []): Promise<{ url: string; got: Received[]; close: () => Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, raw });
      const next = script.shift() ?? 200;
      if (next === 'hang') return; // never answers: the client's timeout must end it
      res.writeHead(next, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`;
  return {
    url,
    got,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const event = (over: Partial<AlertEvent> = {}): AlertEvent => ({
  id: 'evt-1',
  kind: 'fired',
  rule: 'lis-down',
  type: 'endpoint-down',
  at: '2026-01-05T09:00:00.000Z',
  since: '2026-01-05T08:59:00.000Z',
  condition: 'endpoint lis-mllp down for ≥ 60 s',
  value: 60,
  threshold: 60,
  unit: 'seconds',
  subjects: ['lis-mllp'],
  text: '[FIRING] lis-down: down: lis-mllp (error, 60 s) (endpoint lis-mllp down for ≥ 60 s)',
  ...over,
});

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, meta?: LogMeta): void => void lines.push(JSON.stringify({ level, message, ...meta }));
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

const noSleep = async (): Promise<void> => undefined;

describe('WebhookNotifier', () => {
  let rx: Awaited<ReturnType<typeof receiver>> | undefined;
  afterEach(async () => {
    await rx?.close();
    rx = undefined;
  });

  test('POSTs the event as JSON with an HMAC-SHA256 signature of the raw body that a receiver can verify', async () => {
    rx = await receiver();
    const secret = 'receiver-shared-secret';
    const n = new WebhookNotifier({ url: rx.url, secret }, { sleep: noSleep });
    await n.notify(event());
    expect(rx.got).toHaveLength(1);
    const { headers, raw } = rx.got[0]!;
    expect(headers['content-type']).toBe('application/json');
    expect(headers['x-hub-alert-id']).toBe('evt-1');
    const expected = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
    expect(headers['x-hub-signature-256']).toBe(expected);
    // …and a different secret does not verify.
    expect(headers['x-hub-signature-256']).not.toBe(`sha256=${createHmac('sha256', 'other-secret-value').update(raw).digest('hex')}`);
    expect(JSON.parse(raw)).toEqual(event());
    await n.close();
  });

  test('without a secret there is no signature header', async () => {
    rx = await receiver();
    const n = new WebhookNotifier({ url: rx.url }, { sleep: noSleep });
    await n.notify(event());
    expect(rx.got[0]!.headers['x-hub-signature-256']).toBeUndefined();
  });

  test('5xx and 429 are retried with the same id and body; the delivery then succeeds', async () => {
    rx = await receiver([503, 429]);
    const pauses: number[] = [];
    const logger = captureLogger();
    const n = new WebhookNotifier({ url: rx.url, secret: 'receiver-shared-secret', attempts: 3, backoffMs: 100 }, { sleep: async (ms) => void pauses.push(ms), logger });
    await n.notify(event());
    expect(rx.got).toHaveLength(3);
    expect(new Set(rx.got.map((g) => g.raw)).size).toBe(1);
    expect(new Set(rx.got.map((g) => g.headers['x-hub-alert-id'])).size).toBe(1);
    expect(pauses).toEqual([100, 400]);
    expect(logger.lines.join('\n')).not.toContain(rx.url);
  });

  test('a 4xx is final: one attempt, a typed error', async () => {
    rx = await receiver([404]);
    const n = new WebhookNotifier({ url: rx.url, attempts: 3 }, { sleep: noSleep });
    const err = await n.notify(event()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlertDeliveryError);
    expect(err).toMatchObject({ code: 'PROVIDER', retryable: false });
    expect(rx.got).toHaveLength(1);
  });

  test('a receiver that does not answer times out, is retried, and ends in TIMEOUT', async () => {
    rx = await receiver(['hang', 'hang']);
    const n = new WebhookNotifier({ url: rx.url, attempts: 2, timeoutMs: 200 }, { sleep: noSleep });
    const err = await n.notify(event()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(rx.got).toHaveLength(2);
  });

  test('an unreachable receiver ends in CONNECT_FAILED', async () => {
    rx = await receiver();
    const url = rx.url;
    await rx.close();
    rx = undefined;
    const n = new WebhookNotifier({ url, attempts: 2 }, { sleep: noSleep });
    await expect(n.notify(event())).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
  });

  test('events are delivered one at a time in order, even when the first needs retries', async () => {
    rx = await receiver([500]);
    const n = new WebhookNotifier({ url: rx.url }, { sleep: noSleep });
    await Promise.all([n.notify(event({ id: 'a', kind: 'fired' })), n.notify(event({ id: 'b', kind: 'recovered' }))]);
    expect(rx.got.map((g) => (JSON.parse(g.raw) as AlertEvent).id)).toEqual(['a', 'a', 'b']);
  });
});
