/** Request headers as Node (and Express, and Node-RED's `msg.req.headers`) give them. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * One header value, looked up case-insensitively. A header sent twice is
 * treated as absent: a signature header must be unambiguous.
 * @param headers - the request headers
 * @param name - header name, any case
 */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
    return undefined;
  }
  return undefined;
}
