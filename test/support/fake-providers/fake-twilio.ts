import { randomBytes } from 'node:crypto';
import { parseFlatForm } from './form-body';
import { LoopbackServer } from './loopback-server';
import type { FakeResponse, RecordedRequest } from './loopback-server';

/**
 * Twilio's Messages API (2010-04-01) as far as the SMS adapter uses it: Basic
 * auth with account SID and auth token, form-encoded create, 201 with the
 * message resource, Twilio's error JSON (`code`, `message`, `more_info`,
 * `status`). Twilio has no idempotency key, so creations are counted per hub
 * message id, read from the status callback URL the adapter sets.
 */
export class FakeTwilio {
  readonly server: LoopbackServer;
  readonly creationsByHubId = new Map<string, number>();
  /** Numbers that replied STOP at Twilio (answered with error 21610). */
  readonly unsubscribed = new Set<string>();

  /**
   * @param accountSid - the account (AC…)
   * @param authToken - its token
   * @param hubIdParam - the status-callback query parameter carrying the hub message id
   */
  constructor(
    readonly accountSid: string,
    readonly authToken: string,
    private readonly hubIdParam = 'hubMessageId',
  ) {
    this.server = new LoopbackServer((req) => this.handle(req));
  }

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  get baseUrl(): string {
    return this.server.baseUrl;
  }

  get messagesPath(): string {
    return `/2010-04-01/Accounts/${this.accountSid}/Messages.json`;
  }

  get creations(): number {
    return [...this.creationsByHubId.values()].reduce((a, b) => a + b, 0);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: RecordedRequest): FakeResponse {
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return twilioError(401, 20003, 'Authenticate');
    if (req.method !== 'POST' || req.path !== this.messagesPath) return twilioError(404, 20404, 'The requested resource was not found');
    const p = parseFlatForm(req.rawBody);
    if (!p.To) return twilioError(400, 21604, "A 'To' phone number is required.");
    if (!p.Body) return twilioError(400, 21602, 'Message body is required.');
    if (!p.MessagingServiceSid && !p.From) return twilioError(400, 21603, "A 'From' phone number is required.");
    if (this.unsubscribed.has(p.To)) return twilioError(400, 21610, 'Attempt to send to unsubscribed recipient');
    const hubId = p.StatusCallback ? new URL(p.StatusCallback).searchParams.get(this.hubIdParam) : null;
    const key = hubId ?? '(none)';
    this.creationsByHubId.set(key, (this.creationsByHubId.get(key) ?? 0) + 1);
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const now = new Date().toUTCString().replace('GMT', '+0000');
    return {
      status: 201,
      body: {
        account_sid: this.accountSid,
        api_version: '2010-04-01',
        body: p.Body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: null,
        messaging_service_sid: p.MessagingServiceSid ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: null,
        sid,
        status: 'accepted',
        subresource_uris: { media: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}/Media.json` },
        to: p.To,
        uri: `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`,
      },
    };
  }
}

/** Twilio's REST error body. */
export function twilioError(status: number, code: number, message: string): FakeResponse {
  return { status, body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status } };
}
