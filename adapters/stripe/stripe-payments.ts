import type Stripe from 'stripe';
import { ProviderRequestInvalidError } from '../phi-guard/errors';
import { PhiPolicy } from '../phi-guard/phi-policy';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { createStripeClient } from './stripe-client';
import { StripeRequestError, fromStripeError } from './errors';

/** Metadata keys we set on Stripe objects. Opaque ids only: the payment-to-patient link stays in the hub. */
export const METADATA_HUB_MESSAGE_ID = 'hub_message_id';
export const METADATA_REFERENCE = 'reference';

/** What the patient sees on the receipt and statement unless configured otherwise. Neutral by design (ivf-domain.md §5). */
export const DEFAULT_DESCRIPTION = 'Clinic services';

export interface BalancePaymentRequest {
  /** Hub message id: the Stripe idempotency key and `metadata.hub_message_id`. */
  hubMessageId: string;
  /** Amount in the currency's minor unit (cents), a positive integer. */
  amountMinor: number;
  /** ISO 4217, e.g. `usd`. */
  currency: string;
  /** Stripe customer (`cus_…`), mapped from the patient inside the hub. */
  customerId?: string;
  /** A saved payment method (`pm_…`) to charge now, off session. Without it the intent waits for the patient. */
  paymentMethodId?: string;
  /** The EMR ledger's opaque id for the balance (invoice or account number), copied to `metadata.reference`. */
  reference?: string;
  /** Overrides the adapter's neutral description; checked by the PHI policy like everything else. */
  description?: string;
}

export interface PaymentIntentResult {
  hubMessageId: string;
  paymentIntentId: string;
  /** Stripe's status (`requires_payment_method`, `succeeded`, …). */
  status: string;
  /** For a front end that confirms the payment; a credential: never log it or put it in a stored body. */
  clientSecret: string | null;
  /** Stripe answered from its idempotency cache: this intent was created by an earlier attempt. */
  replayed: boolean;
  requestId: string | null;
}

export interface BalanceInvoiceLine {
  amountMinor: number;
  /** Line text; default the adapter's neutral description. */
  description?: string;
}

export interface BalanceInvoiceRequest {
  /** Hub message id: the idempotency key of the invoice (its lines and steps use derived keys). */
  hubMessageId: string;
  customerId: string;
  currency: string;
  lines: readonly BalanceInvoiceLine[];
  reference?: string;
  /** `send_invoice` (default): Stripe emails a payment link. `charge_automatically`: the customer's default method is charged. */
  collectionMethod?: 'send_invoice' | 'charge_automatically';
  /** For `send_invoice`; default 30. */
  daysUntilDue?: number;
  /** Email the finalized invoice to the customer through Stripe; default false (the hub sends its own notice). */
  send?: boolean;
}

export interface InvoiceResult {
  hubMessageId: string;
  invoiceId: string;
  status: string;
  /** The page where the patient pays; only after finalization. */
  hostedInvoiceUrl: string | null;
  amountDueMinor: number;
  replayed: boolean;
}

/** The stripe-payment node's view of payments. */
export interface PaymentGateway {
  /**
   * Creates (or, for a repeated hub message id, returns) a PaymentIntent for a patient balance.
   * @param request - amount, currency, customer, hub message id
   */
  createPaymentIntent(request: BalancePaymentRequest): Promise<PaymentIntentResult>;
  /**
   * Creates, fills and finalizes an invoice for a patient balance; every step is idempotent.
   * @param request - lines, customer, hub message id
   */
  createInvoice(request: BalanceInvoiceRequest): Promise<InvoiceResult>;
  close(): Promise<void>;
}

export interface StripePaymentOptions {
  /** Needed only when no client is injected. */
  secretKey?: string;
  /** Default description of intents and invoice lines. */
  description?: string;
  /** Appended to the account's statement descriptor (max 22 characters, neutral). */
  statementDescriptorSuffix?: string;
  timeoutMs?: number;
}

export interface StripePaymentDeps {
  /** The Stripe SDK client; default one built from `secretKey`. */
  stripe?: Stripe;
  /** The hub's one PHI policy; default the built-in lists without canaries. */
  phiPolicy?: PhiPolicy;
  logger?: Logger;
}

/** Request paths that are ids and switches Stripe needs, not text we write (see PhiCheckOptions). */
const STRUCTURAL_PATHS = [
  'amount', 'currency', 'customer', 'payment_method', 'confirm', 'off_session', 'automatic_payment_methods.**',
  'invoice', 'collection_method', 'days_until_due', 'pending_invoice_items_behavior', 'auto_advance',
];

const ID_PATTERN = /^[A-Za-z0-9][\w.:-]{0,127}$/;
const REFERENCE_PATTERN = /^[A-Za-z0-9][\w.:/-]{0,63}$/;
const MAX_AMOUNT_MINOR = 99_999_999;
const MAX_LINES = 50;

/**
 * Patient-balance payments through Stripe.
 *
 * Every create call carries the hub message id as Stripe's `Idempotency-Key`,
 * so a queue redelivering the message (after a 5xx, a timeout, a crash) gets
 * the object the first attempt created instead of a second charge. Stripe
 * keeps keys for 24 hours: queues feeding this adapter should dead-letter
 * well before that (a policy `maxAgeMs` under 24 h).
 *
 * Only opaque ids go to Stripe (`hub_message_id`, the ledger `reference`),
 * and every request passes the PHI policy first: Stripe signs no BAA.
 */
export class StripePaymentGateway implements PaymentGateway {
  private readonly stripe: Stripe;
  private readonly policy: PhiPolicy;
  private readonly logger: Logger;
  private readonly description: string;

  /**
   * @param options - key (without an injected client), neutral description, statement suffix
   * @param deps - SDK client, PHI policy, logger
   */
  constructor(
    private readonly options: StripePaymentOptions,
    deps: StripePaymentDeps = {},
  ) {
    this.stripe = deps.stripe ?? createStripeClient({ secretKey: options.secretKey ?? '', timeoutMs: options.timeoutMs });
    this.policy = deps.phiPolicy ?? new PhiPolicy();
    this.logger = deps.logger ?? silentLogger;
    this.description = options.description ?? DEFAULT_DESCRIPTION;
  }

  async createPaymentIntent(request: BalancePaymentRequest): Promise<PaymentIntentResult> {
    const id = checkHubId(request.hubMessageId);
    const params: Stripe.PaymentIntentCreateParams = {
      amount: checkAmount(request.amountMinor, 'amountMinor'),
      currency: checkCurrency(request.currency),
      description: request.description ?? this.description,
      metadata: this.metadata(id, request.reference),
    };
    if (request.customerId !== undefined) params.customer = checkStripeId(request.customerId, 'cus_', 'customerId');
    if (request.paymentMethodId !== undefined) {
      params.payment_method = checkStripeId(request.paymentMethodId, 'pm_', 'paymentMethodId');
      params.confirm = true;
      params.off_session = true;
    } else {
      params.automatic_payment_methods = { enabled: true };
    }
    if (this.options.statementDescriptorSuffix) params.statement_descriptor_suffix = this.options.statementDescriptorSuffix;
    this.policy.assertAllowed('stripe', params, { structuralPaths: STRUCTURAL_PATHS });

    const intent = await this.call('create payment intent', id, () => this.stripe.paymentIntents.create(params, { idempotencyKey: id }));
    const replayed = isReplay(intent);
    this.logger.info('stripe payment intent created', { hubMessageId: id, paymentIntentId: intent.id, status: intent.status, replayed, requestId: intent.lastResponse?.requestId });
    return {
      hubMessageId: id,
      paymentIntentId: intent.id,
      status: intent.status,
      clientSecret: intent.client_secret ?? null,
      replayed,
      requestId: intent.lastResponse?.requestId ?? null,
    };
  }

  async createInvoice(request: BalanceInvoiceRequest): Promise<InvoiceResult> {
    const id = checkHubId(request.hubMessageId);
    const customer = checkStripeId(request.customerId, 'cus_', 'customerId');
    const currency = checkCurrency(request.currency);
    if (!Array.isArray(request.lines) || request.lines.length === 0 || request.lines.length > MAX_LINES) {
      throw new ProviderRequestInvalidError('stripe', 'lines', `must hold 1 to ${MAX_LINES} lines`);
    }
    const collection = request.collectionMethod ?? 'send_invoice';
    const invoiceParams: Stripe.InvoiceCreateParams = {
      customer,
      currency,
      collection_method: collection,
      // Only the lines added below, never other pending items of the customer.
      pending_invoice_items_behavior: 'exclude',
      // We finalize explicitly, so the invoice is complete before Stripe acts on it.
      auto_advance: false,
      metadata: this.metadata(id, request.reference),
    };
    if (collection === 'send_invoice') invoiceParams.days_until_due = request.daysUntilDue ?? 30;
    const itemParams: Stripe.InvoiceItemCreateParams[] = request.lines.map((line, i) => ({
      customer,
      currency,
      amount: checkAmount(line.amountMinor, `lines[${i}].amountMinor`),
      description: line.description ?? this.description,
      metadata: { [METADATA_HUB_MESSAGE_ID]: id },
    }));
    // One check over everything this call will send, before the first request leaves.
    this.policy.assertAllowed('stripe', { invoice: invoiceParams, lines: itemParams }, { structuralPaths: [...STRUCTURAL_PATHS.map((p) => `invoice.${p}`), ...STRUCTURAL_PATHS.map((p) => `lines.*.${p}`)] });

    // Each step has its own key derived from the hub message id, so a retry
    // after a partial failure replays the steps that succeeded and finishes the rest.
    const draft = await this.call('create invoice', id, () => this.stripe.invoices.create(invoiceParams, { idempotencyKey: id }));
    const replayed = isReplay(draft);
    const invoiceId = draft.id;
    if (!invoiceId) {
      const details = { stripeType: 'InvoiceWithoutId', stripeCode: null, declineCode: null, statusCode: null, requestId: draft.lastResponse?.requestId ?? null };
      throw new StripeRequestError('create invoice', id, details, 'PROVIDER', false);
    }
    for (const [i, item] of itemParams.entries()) {
      await this.call('add invoice line', id, () => this.stripe.invoiceItems.create({ ...item, invoice: invoiceId }, { idempotencyKey: `${id}:line-${i}` }));
    }
    let invoice: Stripe.Invoice = draft;
    if (draft.status === 'draft') {
      invoice = await this.call('finalize invoice', id, () => this.stripe.invoices.finalizeInvoice(invoiceId, {}, { idempotencyKey: `${id}:finalize` }));
    }
    if (request.send && collection === 'send_invoice') {
      invoice = await this.call('send invoice', id, () => this.stripe.invoices.sendInvoice(invoiceId, {}, { idempotencyKey: `${id}:send` }));
    }
    this.logger.info('stripe invoice finalized', { hubMessageId: id, invoiceId, status: invoice.status ?? 'unknown', lines: itemParams.length, replayed });
    return {
      hubMessageId: id,
      invoiceId,
      status: invoice.status ?? 'unknown',
      hostedInvoiceUrl: invoice.hosted_invoice_url ?? null,
      amountDueMinor: invoice.amount_due,
      replayed,
    };
  }

  async close(): Promise<void> {
    // The SDK holds no connection of its own beyond keep-alive sockets, which close when idle.
  }

  private metadata(hubMessageId: string, reference: string | undefined): Record<string, string> {
    const metadata: Record<string, string> = { [METADATA_HUB_MESSAGE_ID]: hubMessageId };
    if (reference !== undefined) {
      if (!REFERENCE_PATTERN.test(reference)) throw new ProviderRequestInvalidError('stripe', 'reference', 'must be an opaque id (letters, digits, . _ : / -; at most 64)');
      metadata[METADATA_REFERENCE] = reference;
    }
    return metadata;
  }

  private async call<T>(operation: string, hubMessageId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = fromStripeError(err, operation, hubMessageId);
      this.logger.warn('stripe request failed', { hubMessageId, operation, retryable: mapped.retryable, ...summarizeError(mapped) });
      throw mapped;
    }
  }
}

function isReplay(obj: { lastResponse?: { headers?: Record<string, string> } }): boolean {
  return obj.lastResponse?.headers?.['idempotent-replayed'] === 'true';
}

function checkHubId(id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new ProviderRequestInvalidError('stripe', 'hubMessageId', 'must be an id of letters, digits, . _ : - (at most 128)');
  return id;
}

function checkAmount(amount: unknown, field: string): number {
  if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0 || amount > MAX_AMOUNT_MINOR) {
    throw new ProviderRequestInvalidError('stripe', field, 'must be a positive integer in minor units');
  }
  return amount;
}

function checkCurrency(currency: unknown): string {
  if (typeof currency !== 'string' || !/^[A-Za-z]{3}$/.test(currency)) throw new ProviderRequestInvalidError('stripe', 'currency', 'must be an ISO 4217 code');
  return currency.toLowerCase();
}

function checkStripeId(value: unknown, prefix: string, field: string): string {
  // Test-mode tokens such as pm_card_visa have more underscores than live ids.
  if (typeof value !== 'string' || !value.startsWith(prefix) || !/^[a-z]+_[A-Za-z0-9_]{1,250}$/.test(value)) {
    throw new ProviderRequestInvalidError('stripe', field, `must be a Stripe ${prefix}… id`);
  }
  return value;
}

