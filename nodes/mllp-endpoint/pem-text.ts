/**
 * PEM text as pasted into a credential field or set from an environment
 * variable (`${MLLP_CLIENT_KEY}`) often loses its line breaks, or carries
 * them as literal `\n`. OpenSSL needs the BEGIN/END lines on their own lines,
 * so rebuild them; anything that is not PEM is returned trimmed, for Node's
 * TLS layer to reject with its own error.
 *
 * @param text - the credential value; empty means "not set"
 */
export function pemText(text: string | undefined): string | undefined {
  const trimmed = text?.replace(/\\n/g, '\n').trim();
  if (!trimmed) return undefined;
  const blocks = [...trimmed.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  if (blocks.length === 0) return trimmed;
  return blocks
    .map(([block, label, body]) => {
      // Already multi-line (possibly with headers such as Proc-Type): keep it.
      if (/\n/.test(body ?? '')) return block;
      const base64 = (body ?? '').replace(/\s+/g, '');
      const lines = base64.match(/.{1,64}/g) ?? [];
      return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`].join('\n');
    })
    .join('\n')
    .concat('\n');
}
