import { randomBytes } from 'node:crypto';
import { parseNestedForm } from './form-body';
import type { NestedForm } from './form-body';
import { LoopbackServer } from './loopback-server';
import type { FakeResponse, RecordedRequest } from './loopback-server';

interface SavedResult {
  body: string;
  response: FakeResponse;
}

type StripeObject = Record<string, unknown>;

/**
 * Stripe's API as far as the payment adapter uses it, with Stripe's
 * idempotency semantics: the first request with a key is executed and its
 * answer saved; a repeat with the same parameters gets the saved answer with
 * `Idempotent-Replayed: true`; a repeat with other parameters gets an
 * `idempotency_error`. Injected faults (`server.failNext`) answer before
 * execution, so nothing is saved, as with a failure in front of Stripe.
 * `resetAfterAnswer` handles a request (executes or replays it) and then
 * drops the connection: the case where the object exists but the caller
 * never heard.
 */
export class FakeStripe {
  readonly server: LoopbackServer;
  /** Objects created per idempotency key (executions, not replays). */
  readonly creationsByKey = new Map<string, number>();
  readonly objects = new Map<string, StripeObject>();
  private readonly saved = new Map<string, SavedResult>();
  private resets = 0;

  /** @param secretKey - the only key accepted */
  constructor(readonly secretKey: string) {
    this.server = new LoopbackServer((req) => this.handle(req));
  }

  async start(): Promise<this> {
    await this.server.start();
    return this;
  }

  get port(): number {
    return this.server.listeningPort;
  }

  /** @param times - the next N requests are handled, then their connection is dropped before the answer */
  resetAfterAnswer(times = 1): void {
    this.resets += times;
  }

  /** Total executions across keys. */
  get creations(): number {
    return [...this.creationsByKey.values()].reduce((a, b) => a + b, 0);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: RecordedRequest): FakeResponse | 'reset' {
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      return error(401, 'invalid_request_error', 'Invalid API Key provided');
    }
    const key = header(req, 'idempotency-key');
    const body = req.rawBody.toString();
    if (key) {
      const saved = this.saved.get(`${req.path} ${key}`);
      if (saved) {
        if (saved.body !== body) return error(400, 'idempotency_error', 'Keys for idempotent requests can only be used with the same parameters they were first used with.');
        return this.maybeReset({ ...saved.response, headers: { ...saved.response.headers, 'idempotent-replayed': 'true', 'request-id': requestId() } });
      }
    }
    const answer = this.execute(req.path, parseNestedForm(req.rawBody));
    if (key) {
      this.creationsByKey.set(key, (this.creationsByKey.get(key) ?? 0) + 1);
      answer.headers = { ...answer.headers, 'idempotency-key': key };
      this.saved.set(`${req.path} ${key}`, { body, response: answer });
    }
    return this.maybeReset(answer);
  }

  private maybeReset(answer: FakeResponse): FakeResponse | 'reset' {
    if (this.resets === 0) return answer;
    this.resets--;
    return 'reset';
  }

  private execute(path: string, params: NestedForm): FakeResponse {
    const created = Math.floor(Date.now() / 1000);
    if (path === '/v1/payment_intents') {
      const id = `pi_${rand()}`;
      const confirmed = params.confirm === 'true' && typeof params.payment_method === 'string';
      const pi = {
        id,
        object: 'payment_intent',
        amount: Number(params.amount),
        amount_received: confirmed ? Number(params.amount) : 0,
        currency: params.currency,
        customer: params.customer ?? null,
        description: params.description ?? null,
        metadata: params.metadata ?? {},
        status: confirmed ? 'succeeded' : 'requires_payment_method',
        client_secret: `${id}_secret_${rand()}`,
        livemode: false,
        created,
      };
      this.objects.set(id, pi);
      return ok(pi);
    }
    if (path === '/v1/invoices') {
      const id = `in_${rand()}`;
      const invoice = { id, object: 'invoice', status: 'draft', customer: params.customer, currency: params.currency, metadata: params.metadata ?? {}, amount_due: 0, hosted_invoice_url: null, collection_method: params.collection_method, livemode: false, created };
      this.objects.set(id, invoice);
      return ok(invoice);
    }
    if (path === '/v1/invoiceitems') {
      const invoice = this.objects.get(String(params.invoice));
      if (!invoice) return error(404, 'invalid_request_error', 'No such invoice');
      if (invoice.status !== 'draft') return error(400, 'invalid_request_error', 'Invoice is not a draft');
      invoice.amount_due = Number(invoice.amount_due) + Number(params.amount);
      const id = `ii_${rand()}`;
      const item = { id, object: 'invoiceitem', invoice: invoice.id, amount: Number(params.amount), currency: params.currency, description: params.description ?? null, metadata: params.metadata ?? {} };
      this.objects.set(id, item);
      return ok(item);
    }
    const action = /^\/v1\/invoices\/(in_\w+)\/(finalize|send)$/.exec(path);
    if (action) {
      const invoice = this.objects.get(action[1]!);
      if (!invoice) return error(404, 'invalid_request_error', 'No such invoice');
      if (action[2] === 'finalize') {
        if (invoice.status !== 'draft') return error(400, 'invalid_request_error', 'Invoice is already finalized');
        invoice.status = 'open';
        invoice.hosted_invoice_url = `https://invoice.stripe.com/i/${invoice.id}`;
      }
      return ok({ ...invoice });
    }
    return error(404, 'invalid_request_error', `Unrecognized request URL (POST: ${path})`);
  }
}

function header(req: RecordedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

function ok(body: unknown): FakeResponse {
  return { status: 200, headers: { 'request-id': requestId(), 'stripe-version': '2026-11-18.endive' }, body };
}

function error(status: number, type: string, message: string): FakeResponse {
  return { status, headers: { 'request-id': requestId() }, body: { error: { type, message } } };
}

function requestId(): string {
  return `req_${rand()}`;
}

function rand(): string {
  return randomBytes(12).toString('hex');
}

/** A Stripe API error body as Stripe sends it (for `server.failNext`). */
export function stripeErrorBody(type: string, message: string): { error: { type: string; message: string } } {
  return { error: { type, message } };
}
