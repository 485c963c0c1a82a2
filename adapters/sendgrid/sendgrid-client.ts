import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import { ProviderConfigError } from '../phi-guard/errors';

export interface SendGridClientOptions {
  /** `SG.…` API key with Mail Send permission, from the config node's credentials. */
  apiKey: string;
  /** Send to this origin instead of `https://api.sendgrid.com/` (EU residency host, an egress gateway, a loopback fake in tests). */
  apiBaseUrl?: string;
  /** Per-request timeout; default 20 s. */
  timeoutMs?: number;
}

/**
 * A MailService of its own (not the module's shared singleton, whose API key
 * and base URL any other code in the process could change), on a Client of
 * its own. The base URL is set after the key because `setApiKey` resets it.
 * @param options - key, base URL, timeout
 */
export function createMailService(options: SendGridClientOptions): MailService {
  if (!/^SG\.[\w-]+\.[\w-]+$|^SG\.[\w-]+$/.test(options.apiKey)) throw new ProviderConfigError('SendGrid API key must start with SG.');
  const client = new Client();
  client.setApiKey(options.apiKey);
  if (options.apiBaseUrl) client.setDefaultRequest('baseUrl', options.apiBaseUrl.endsWith('/') ? options.apiBaseUrl : `${options.apiBaseUrl}/`);
  const mail = new MailService();
  mail.setClient(client);
  mail.setTimeout(options.timeoutMs ?? 20_000);
  return mail;
}
