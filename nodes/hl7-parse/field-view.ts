import { fieldName, segmentGet, segmentGetRaw, type Hl7Message, type Hl7Segment } from '../../adapters/hl7';

/**
 * A display view of a message, for the debug sidebar and dashboards: each
 * segment with its non-empty fields, labelled with the field name, values
 * decoded. It is a picture of the message, not an interchange format; flows
 * should read fields with paths (msg.hl7 and the hl7 adapter) instead.
 */

/** A field value: text, or components (each text or sub-components). */
export type Hl7ValueView = string | Array<string | string[]>;

export interface Hl7FieldView {
  /** e.g. `PID-5`, `OBX[2]-5`. */
  path: string;
  /** e.g. `Patient Name`, when the dictionary knows the field. */
  name?: string;
  /** The value of a field that does not repeat. */
  value?: Hl7ValueView;
  /** The values of a field with more than one repetition. */
  repetitions?: Hl7ValueView[];
}

export interface Hl7SegmentView {
  segment: string;
  /** 1-based occurrence of this segment ID. */
  occurrence: number;
  fields: Hl7FieldView[];
}

const HEADERS = new Set(['MSH', 'FHS', 'BHS']);

/**
 * Build the display view of a parsed message.
 *
 * @param message - the parsed message
 */
export function fieldView(message: Hl7Message): Hl7SegmentView[] {
  const seen = new Map<string, number>();
  return message.segments.map((segment) => {
    const id = segment.fields[0] ?? '';
    const occurrence = (seen.get(id) ?? 0) + 1;
    seen.set(id, occurrence);
    return { segment: id, occurrence, fields: segmentFields(message, segment, id, occurrence) };
  });
}

function segmentFields(message: Hl7Message, segment: Hl7Segment, id: string, occurrence: number): Hl7FieldView[] {
  const header = HEADERS.has(id);
  // MSH-n sits at fields[n - 1] (MSH-1 is the separator itself), others at fields[n].
  const last = header ? segment.fields.length : segment.fields.length - 1;
  const out: Hl7FieldView[] = [];
  const prefix = occurrence > 1 ? `${id}[${occurrence}]` : id;
  for (let n = 1; n <= last; n++) {
    const raw = segmentGetRaw(message, segment, String(n));
    if (raw === undefined || raw === '') continue;
    const view: Hl7FieldView = { path: `${prefix}-${n}` };
    const name = /^[A-Z][A-Z0-9]{2}$/.test(id) ? fieldName(id, n) : undefined;
    if (name) view.name = name;
    if (header && n <= 2) {
      // The separator and the encoding characters are shown as they are.
      view.value = raw;
    } else {
      const reps = raw.split(message.delimiters.repetition);
      const values = reps.map((rep, r) => repetitionView(message, segment, n, r + 1, rep));
      if (values.length === 1) view.value = values[0];
      else view.repetitions = values;
    }
    out.push(view);
  }
  return out;
}

function repetitionView(message: Hl7Message, segment: Hl7Segment, field: number, rep: number, raw: string): Hl7ValueView {
  const d = message.delimiters;
  const components = raw.split(d.component);
  const leaf = (c: number, s: number): string => segmentGet(message, segment, `${field}[${rep}].${c}.${s}`) ?? '';
  const views = components.map((component, ci) => {
    const subs = component.split(d.subcomponent);
    if (subs.length === 1) return leaf(ci + 1, 1);
    return subs.map((_s, si) => leaf(ci + 1, si + 1));
  });
  if (views.length === 1 && typeof views[0] === 'string') return views[0];
  return views;
}
