import type { MailService } from '@sendgrid/mail';
import { ProviderConfigError, ProviderRequestInvalidError, SendInProgressError } from '../phi-guard/errors';
import { PhiPolicy } from '../phi-guard/phi-policy';
import { InMemorySentRegistry } from '../phi-guard/sent-registry';
import type { OutboundState, SentRegistry } from '../phi-guard/sent-registry';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { fromSendGridError } from './errors';
import { createMailService } from './sendgrid-client';
import type { SendGridClientOptions } from './sendgrid-client';

/**
 * The custom argument carrying the hub message id. SendGrid copies custom
 * args onto every event of the message, which is how the event webhook finds
 * the message again.
 */
export const CUSTOM_ARG_HUB_ID = 'hub_message_id';

export interface EmailRequest {
  /** Hub message id: the idempotency key (sent registry) and `custom_args.hub_message_id`. */
  hubMessageId: string;
  /** Recipient address. */
  to: string;
  /** Dynamic template (`d-…`); the template holds the wording, so the hub sends only content-free data. */
  templateId: string;
  /** Template variables (a portal link, a time); checked by the PHI policy. */
  templateData?: Record<string, unknown>;
  /** Added to the sender's default categories (for SendGrid statistics); checked like text. */
  categories?: readonly string[];
}

export type EmailSendResult =
  | { outcome: 'sent'; hubMessageId: string; providerMessageId: string | null }
  /** This hub message id was accepted by SendGrid before: nothing was sent now. */
  | { outcome: 'duplicate'; hubMessageId: string; providerMessageId: string | null; state: OutboundState };

/** The sendgrid-email node's view of email. */
export interface EmailSender {
  /**
   * Sends one templated email unless its hub message id was accepted before.
   * @param request - hub message id, recipient, template, data, categories
   */
  send(request: EmailRequest): Promise<EmailSendResult>;
  close(): Promise<void>;
}

export interface SendGridEmailOptions extends Partial<SendGridClientOptions> {
  /** Sender address (a verified sender or domain) and display name (the clinic's neutral name). */
  from: { email: string; name?: string };
  replyTo?: string;
  /** Categories on every message (at most 10 in all). */
  categories?: readonly string[];
  /** Unsubscribe group for these messages. */
  asmGroupId?: number;
  /**
   * Open and click tracking; default off. Click tracking rewrites every link
   * through SendGrid, so portal URLs (and whatever tokens they carry) would
   * pass through a provider that may not be under a BAA.
   */
  tracking?: boolean;
  /** Sandbox mode: SendGrid validates and drops the message. */
  sandbox?: boolean;
}

export interface SendGridEmailDeps {
  /** A configured MailService; default one built from the options (`apiKey`, `apiBaseUrl`). */
  mail?: MailService;
  sent?: SentRegistry;
  phiPolicy?: PhiPolicy;
  clock?: () => Date;
  logger?: Logger;
}

/** Sender identity and switches: structure, not text we write (see PhiCheckOptions). */
const STRUCTURAL_PATHS = ['to.email', 'from.email', 'from.name', 'replyTo.email', 'templateId', 'asm.**', 'trackingSettings.**', 'mailSettings.**'];
const ID_PATTERN = /^[A-Za-z0-9][\w.:-]{0,127}$/;
const EMAIL_PATTERN = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
const MAX_CATEGORIES = 10;

/**
 * Email through SendGrid dynamic templates, with categories and the hub
 * message id as a custom argument. SendGrid's Mail Send API takes no
 * idempotency key; the sent registry is our side of it (see SentRegistry).
 */
export class SendGridEmailSender implements EmailSender {
  private readonly mail: MailService;
  private readonly sent: SentRegistry;
  private readonly policy: PhiPolicy;
  private readonly clock: () => Date;
  private readonly logger: Logger;

  /**
   * @param options - sender, default categories, tracking; API key and base URL when no MailService is injected
   * @param deps - MailService, sent registry, PHI policy, clock, logger
   */
  constructor(
    private readonly options: SendGridEmailOptions,
    deps: SendGridEmailDeps = {},
  ) {
    if (!EMAIL_PATTERN.test(options.from.email)) throw new ProviderConfigError('SendGrid sender address is not an email address');
    if ((options.categories ?? []).length > MAX_CATEGORIES) throw new ProviderConfigError(`SendGrid allows at most ${MAX_CATEGORIES} categories`);
    this.mail = deps.mail ?? createMailService({ apiKey: options.apiKey ?? '', apiBaseUrl: options.apiBaseUrl, timeoutMs: options.timeoutMs });
    this.sent = deps.sent ?? new InMemorySentRegistry();
    this.policy = deps.phiPolicy ?? new PhiPolicy();
    this.clock = deps.clock ?? ((): Date => new Date());
    this.logger = deps.logger ?? silentLogger;
  }

  async send(request: EmailRequest): Promise<EmailSendResult> {
    const id = request.hubMessageId;
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new ProviderRequestInvalidError('sendgrid', 'hubMessageId', 'must be an id of letters, digits, . _ : - (at most 128)');
    if (typeof request.to !== 'string' || !EMAIL_PATTERN.test(request.to)) throw new ProviderRequestInvalidError('sendgrid', 'to', 'must be an email address');
    if (typeof request.templateId !== 'string' || !/^d-[0-9a-f]{32}$/i.test(request.templateId)) throw new ProviderRequestInvalidError('sendgrid', 'templateId', 'must be a dynamic template id (d-…)');
    const categories = [...new Set([...(this.options.categories ?? []), ...(request.categories ?? [])])];
    if (categories.length > MAX_CATEGORIES || categories.some((c) => typeof c !== 'string' || c.length === 0 || c.length > 255 || !/^[\x20-\x7e]+$/.test(c))) {
      throw new ProviderRequestInvalidError('sendgrid', 'categories', `must be at most ${MAX_CATEGORIES} printable ASCII strings`);
    }
    const tracking = this.options.tracking === true;
    const message = {
      to: { email: request.to },
      from: { email: this.options.from.email, ...(this.options.from.name ? { name: this.options.from.name } : {}) },
      ...(this.options.replyTo ? { replyTo: { email: this.options.replyTo } } : {}),
      templateId: request.templateId,
      dynamicTemplateData: request.templateData ?? {},
      categories,
      customArgs: { [CUSTOM_ARG_HUB_ID]: id },
      ...(this.options.asmGroupId !== undefined ? { asm: { groupId: this.options.asmGroupId } } : {}),
      trackingSettings: { clickTracking: { enable: tracking, enableText: tracking }, openTracking: { enable: tracking } },
      ...(this.options.sandbox ? { mailSettings: { sandboxMode: { enable: true } } } : {}),
    };
    this.policy.assertAllowed('sendgrid', message, { structuralPaths: STRUCTURAL_PATHS });

    const now = this.clock();
    const reservation = await this.sent.reserve(id, 'email', now);
    if (reservation.status === 'already-sent') {
      this.logger.info('email not sent again: hub message id already accepted', { hubMessageId: id, state: reservation.record.state });
      return { outcome: 'duplicate', hubMessageId: id, providerMessageId: reservation.record.providerId, state: reservation.record.state };
    }
    if (reservation.status === 'in-progress') throw new SendInProgressError('sendgrid', id);
    let providerMessageId: string | null;
    try {
      const [response] = await this.mail.send(message);
      providerMessageId = headerOf(response.headers, 'x-message-id');
    } catch (err) {
      await this.sent.release(id);
      const mapped = fromSendGridError(err, id);
      this.logger.warn('email send failed', { hubMessageId: id, retryable: mapped.retryable, ...summarizeError(mapped) });
      throw mapped;
    }
    await this.sent.markAccepted(id, providerMessageId, this.clock());
    this.logger.info('email accepted by SendGrid', { hubMessageId: id, providerMessageId, categories: categories.length });
    return { outcome: 'sent', hubMessageId: id, providerMessageId };
  }

  async close(): Promise<void> {
    // Nothing held open: axios keeps no connection beyond idle keep-alive sockets.
  }
}

function headerOf(headers: unknown, name: string): string | null {
  if (!headers || typeof headers !== 'object') return null;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) if (k.toLowerCase() === name && typeof v === 'string' && v.length > 0) return v;
  return null;
}
