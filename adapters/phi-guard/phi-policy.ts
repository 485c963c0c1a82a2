import { DEFAULT_FORBIDDEN_FIELDS, DEFAULT_FORBIDDEN_TERMS, DEFAULT_PHI_PATTERNS } from './phi-defaults';
import type { PhiPattern } from './phi-defaults';
import { PhiPolicyError } from './errors';
import type { PhiViolation } from './errors';

export type ProviderName = 'stripe' | 'twilio' | 'sendgrid';

export interface PhiPolicyOptions {
  /** Field names refused anywhere in a request (see DEFAULT_FORBIDDEN_FIELDS for how they are compared). */
  forbiddenFields?: readonly string[];
  /** Whole words and phrases refused in free text. */
  forbiddenTerms?: readonly string[];
  /** Code and value shapes refused in free text. */
  patterns?: readonly PhiPattern[];
  /**
   * Canary values (synthetic PHI seeded into test patients) refused anywhere,
   * in any field and in keys, case-insensitively. Names written as HL7
   * components (`SURNAME^GIVEN`) also match by component; eight-digit dates
   * (`YYYYMMDD`) also match as `YYYY-MM-DD` and `MM/DD/YYYY`.
   */
  canaries?: readonly string[];
}

export interface PhiCheckOptions {
  /**
   * Paths that are structure the provider needs rather than content we
   * write: recipient addresses, sender identity, account ids, callback URLs.
   * They skip the field-name, term and pattern rules (a clinic's own domain
   * may well contain "ivf"), never the canary rule. Segments are keys or
   * array indexes; `*` matches one segment, a trailing `**` any rest.
   */
  structuralPaths?: readonly string[];
}

const MAX_DEPTH = 32;
const MIN_COMPONENT = 3;
const MIN_COMPACT_CANARY = 6;

/**
 * The one PHI policy every provider request passes before it is handed to
 * the SDK (Stripe, Twilio, SendGrid). It refuses a request that carries a
 * forbidden field name, a canary value, a forbidden term, or a clinical code
 * or lab value in free text, and names the offending paths, never the values.
 *
 * Deny by default: every string is free text unless the adapter declares its
 * path structural, so a field added to a request later is checked without
 * anyone remembering to.
 */
export class PhiPolicy {
  private readonly fields: ReadonlySet<string>;
  private readonly termPattern: RegExp | null;
  private readonly patterns: readonly PhiPattern[];
  private readonly canaries: readonly string[];
  private readonly compactCanaries: readonly string[];

  /** @param options - lists that replace the defaults; spread the DEFAULT_* constants to extend them */
  constructor(options: PhiPolicyOptions = {}) {
    this.fields = new Set((options.forbiddenFields ?? DEFAULT_FORBIDDEN_FIELDS).map(normalizeField).filter((f) => f.length > 0));
    this.termPattern = termRegExp(options.forbiddenTerms ?? DEFAULT_FORBIDDEN_TERMS);
    // A caller's /g or /y pattern would carry lastIndex from one test() to the next.
    this.patterns = (options.patterns ?? DEFAULT_PHI_PATTERNS).map((p) => ({ rule: p.rule, pattern: new RegExp(p.pattern.source, p.pattern.flags.replace(/[gy]/g, '')) }));
    this.canaries = canaryVariants(options.canaries ?? []);
    // Too short a compact form would match by accident inside unrelated text.
    this.compactCanaries = [...new Set(this.canaries.map((c) => c.replace(/[^a-z0-9]/g, '')).filter((c) => c.length >= MIN_COMPACT_CANARY))];
  }

  /**
   * Throws {@link PhiPolicyError} when the request breaks the policy.
   * @param provider - whose request this is (named in the error)
   * @param request - exactly what will be handed to the SDK
   * @param options - the provider's structural paths
   */
  assertAllowed(provider: ProviderName, request: unknown, options: PhiCheckOptions = {}): void {
    const violations = this.findViolations(request, options);
    if (violations.length > 0) throw new PhiPolicyError(provider, violations);
  }

  /**
   * Every breach of the policy in a request, one per path and rule.
   * @param request - the value to inspect
   * @param options - structural paths
   */
  findViolations(request: unknown, options: PhiCheckOptions = {}): PhiViolation[] {
    const structural = (options.structuralPaths ?? []).map((p) => p.split('.'));
    const out: PhiViolation[] = [];
    const seen = new WeakSet<object>();
    const visit = (value: unknown, path: readonly (string | number)[], depth: number): void => {
      const isStructural = structural.some((pattern) => matches(pattern, path));
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
        this.checkText(String(value), typeof value === 'string' && !isStructural, path, out);
        return;
      }
      if (value instanceof Date) {
        if (!Number.isNaN(value.getTime())) this.checkText(value.toISOString(), false, path, out);
        return;
      }
      if (Buffer.isBuffer(value)) {
        this.checkText(value.toString('utf8'), !isStructural, path, out);
        return;
      }
      if (value === null || typeof value !== 'object' || seen.has(value)) return;
      if (depth >= MAX_DEPTH) return;
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => visit(item, [...path, i], depth + 1));
        return;
      }
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const childPath = [...path, key];
        const childStructural = structural.some((pattern) => matches(pattern, childPath));
        if (this.containsCanary(key)) out.push({ path: formatPath(childPath, this), rule: 'canary' });
        else if (!childStructural && this.isForbiddenField(key)) out.push({ path: formatPath(childPath, this), rule: 'field-name' });
        visit(item, childPath, depth + 1);
      }
    };
    visit(request, [], 0);
    return dedupe(out);
  }

  /**
   * Whether a text contains one of the configured canaries, also with its
   * separators changed or dropped (`CANARY_MRN_0001`, `canary mrn 0001`).
   */
  containsCanary(text: string): boolean {
    if (this.canaries.length === 0) return false;
    const lower = text.toLowerCase();
    if (this.canaries.some((c) => lower.includes(c))) return true;
    const compact = lower.replace(/[^a-z0-9]/g, '');
    return this.compactCanaries.some((c) => compact.includes(c));
  }

  private isForbiddenField(key: string): boolean {
    const n = normalizeField(key);
    if (this.fields.has(n)) return true;
    return n.startsWith('patient') && n.length > 'patient'.length && this.fields.has(n.slice('patient'.length));
  }

  private checkText(text: string, freeText: boolean, path: readonly (string | number)[], out: PhiViolation[]): void {
    if (this.containsCanary(text)) out.push({ path: formatPath(path, this), rule: 'canary' });
    if (!freeText) return;
    if (this.termPattern?.test(text)) out.push({ path: formatPath(path, this), rule: 'forbidden-term' });
    for (const p of this.patterns) {
      if (p.pattern.test(text)) out.push({ path: formatPath(path, this), rule: p.rule });
    }
  }
}

/** Lower-case letters and digits only, the form field names are compared in. */
export function normalizeField(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function termRegExp(terms: readonly string[]): RegExp | null {
  const parts = terms
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((t) => t.split(/[\s-]+/).map(escapeRegExp).join('[\\s-]+'));
  if (parts.length === 0) return null;
  // Letters and digits around the match mean it is part of a longer word ("fetch" is not "FET").
  return new RegExp(`(?<![A-Za-z0-9])(?:${parts.join('|')})(?![A-Za-z0-9])`, 'i');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function canaryVariants(canaries: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of canaries) {
    const c = raw.trim();
    if (c.length === 0) continue;
    out.add(c.toLowerCase());
    // An HL7 name (SURNAME^GIVEN) leaks just as much when a template prints "Given Surname".
    if (/[\^,\s]/.test(c)) {
      for (const part of c.split(/[\^,\s]+/)) if (part.length >= MIN_COMPONENT) out.add(part.toLowerCase());
    }
    const date = /^(\d{4})(\d{2})(\d{2})$/.exec(c);
    if (date) {
      const [, y, m, d] = date;
      out.add(`${y}-${m}-${d}`);
      out.add(`${m}/${d}/${y}`);
    }
  }
  return [...out];
}

function matches(pattern: readonly string[], path: readonly (string | number)[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i];
    if (seg === '**') return true;
    if (i >= path.length) return false;
    if (seg !== '*' && seg !== String(path[i])) return false;
  }
  return pattern.length === path.length;
}

/**
 * A path fit for an error message: keys that do not look like field names
 * (or that are themselves a canary) are shown as `[key]`, because a key can
 * carry data too (`metadata[<MRN>]`).
 */
function formatPath(path: readonly (string | number)[], policy: PhiPolicy): string {
  if (path.length === 0) return '(request)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const shown = /^[A-Za-z_][\w-]{0,63}$/.test(seg) && !policy.containsCanary(seg) ? seg : '[key]';
      out += out.length === 0 ? shown : `.${shown}`;
    }
  }
  return out;
}

function dedupe(violations: PhiViolation[]): PhiViolation[] {
  const seen = new Set<string>();
  return violations.filter((v) => {
    const k = `${v.path}\u0000${v.rule}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
