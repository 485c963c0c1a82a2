/**
 * Reading FHIR resources as received (JSON): references within one message
 * and typed identifiers. Shared by the EMR's order events and the lab's
 * order mapping, which must resolve a request's patient the same way.
 */
export type Json = Record<string, unknown>;

export function asJson(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

/** A FHIR list element (0..*) as an array, whether absent, one value or a list. */
export function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** Identifier.value, when it is a non-blank string. */
export function identifierValue(v: unknown): string | undefined {
  const value = asJson(v)?.value;
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** The identifier whose type has this v2-0203 code (MR, PLAC…), else the first identifier. */
export function typedIdentifier(identifiers: unknown, code: string): string | undefined {
  const ids = listOf(identifiers).map(asJson).filter((i): i is Json => i !== undefined);
  const typed = ids.find((i) => listOf(asJson(i.type)?.coding).some((c) => asJson(c)?.code === code));
  return identifierValue(typed ?? ids[0]);
}

/**
 * The resource a Reference points at, when the message holds it: contained
 * in `owner` (`#id`), or a Bundle entry (`Type/id`, an absolute URL ending so, or its fullUrl).
 */
export function resolveReference(ref: unknown, owner: Json, resources: Readonly<Record<string, Json>>): Json | undefined {
  const reference = asJson(ref)?.reference;
  if (typeof reference !== 'string') return undefined;
  if (reference.startsWith('#')) return listOf(owner.contained).map(asJson).find((c) => c?.id === reference.slice(1));
  return resources[reference] ?? resources[reference.replace(/^.*\/([A-Za-z]+\/[^/]+)$/, '$1')];
}
