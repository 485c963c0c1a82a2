import { randomBytes } from 'node:crypto';
import { LoopbackServer } from './loopback-server';
import type { FakeResponse, RecordedRequest } from './loopback-server';

/**
 * SendGrid's v3 Mail Send as far as the email adapter uses it: Bearer auth,
 * JSON body, 202 with an empty body and `X-Message-Id`, SendGrid's error
 * JSON (`errors: [{ message, field, help }]`). No idempotency key exists, so
 * creations are counted per `custom_args.hub_message_id`.
 */
export class FakeSendGrid {
  readonly server: LoopbackServer;
  readonly creationsByHubId = new Map<string, number>();
  /** X-Message-Id handed out per hub message id. */
  readonly messageIds = new Map<string, string>();

  /** @param apiKey - the only key accepted */
  constructor(readonly apiKey: string) {
    this.server = new LoopbackServer((req) => this.handle(req));
  }

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  get baseUrl(): string {
    return this.server.baseUrl;
  }

  get creations(): number {
    return [...this.creationsByHubId.values()].reduce((a, b) => a + b, 0);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: RecordedRequest): FakeResponse {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return sendGridError(401, 'The provided authorization grant is invalid, expired, or revoked', null);
    if (req.method !== 'POST' || req.path !== '/v3/mail/send') return sendGridError(404, 'Not found', null);
    let mail: { personalizations?: { to?: { email?: string }[] }[]; from?: { email?: string }; template_id?: string; content?: unknown[]; custom_args?: Record<string, string> };
    try {
      mail = JSON.parse(req.rawBody.toString()) as typeof mail;
    } catch {
      return sendGridError(400, 'Bad Request', null);
    }
    if (!mail.personalizations?.[0]?.to?.[0]?.email) return sendGridError(400, 'The to array is required for all personalization objects', 'personalizations.0.to');
    if (!mail.from?.email) return sendGridError(400, 'The from object must be provided for every email send.', 'from');
    if (!mail.template_id && !mail.content) return sendGridError(400, 'Unless a valid template_id is provided, the content parameter is required.', 'content');
    const key = mail.custom_args?.hub_message_id ?? '(none)';
    this.creationsByHubId.set(key, (this.creationsByHubId.get(key) ?? 0) + 1);
    const messageId = randomBytes(16).toString('base64url').slice(0, 22);
    this.messageIds.set(key, messageId);
    return { status: 202, headers: { 'x-message-id': messageId } };
  }
}

/** SendGrid's error body. */
export function sendGridError(status: number, message: string, field: string | null): FakeResponse {
  return { status, body: { errors: [{ message, field, help: null }] } };
}
