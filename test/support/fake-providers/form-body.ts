/**
 * Form bodies as Stripe and Twilio receive them. Stripe nests with brackets
 * (`metadata[hub_message_id]=…`, `lines[0][amount]=…`); `parseNestedForm`
 * rebuilds the object (numeric keys stay object keys, which is enough for
 * assertions).
 */
export function parseFlatForm(raw: Buffer | string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw.toString())) out[k] = v;
  return out;
}

export type NestedForm = { [key: string]: string | NestedForm };

export function parseNestedForm(raw: Buffer | string): NestedForm {
  const out: NestedForm = {};
  for (const [key, value] of new URLSearchParams(raw.toString())) {
    const parts = key.split(/\[|\]\[|\]/).filter((p) => p.length > 0);
    let node: NestedForm = out;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else {
        const next = node[part];
        if (typeof next === 'object') node = next;
        else {
          const created: NestedForm = {};
          node[part] = created;
          node = created;
        }
      }
    });
  }
  return out;
}
