import { isUtcOffset } from './astm-time';
import { AstmConfigError } from './errors';

/**
 * What the hub knows about one instrument's ASTM dialect: where its fields
 * sit, how it marks QC, and its test code mapping table. Configuration
 * data (a JSON file per instrument in practice), validated on load by
 * {@link validateProfile}; see fixtures/ for examples.
 */
export interface InstrumentProfile {
  /** The hub's name for the instrument; goes into every result. */
  instrumentId: string;
  /**
   * Offset of the instrument's clock (`Z`, `+01:00`). E1394 timestamps carry
   * no zone, and FHIR needs one for any time of day, so it is required.
   */
  utcOffset: string;
  /** Component of the universal test ID (R.3, O.5) holding the test code. Default 4 (`^^^E2`). */
  testCodeComponent?: number;
  /** Component of R.3 holding the result type (ARCHITECT: 11, values F/I/P). Unset: every R record is a value. */
  resultTypeComponent?: number;
  /** Result types that carry the reported value. Default `['F']` when resultTypeComponent is set. */
  valueResultTypes?: string[];
  /** Result types whose value is an interpretation of the same test (ARCHITECT `I`: NEGATIVE). Default `['I']`. */
  interpretationResultTypes?: string[];
  /** Component of R.3 holding the dilution (ARCHITECT: 6, `UNDILUTED` or `1:15`). */
  dilutionComponent?: number;
  /** Results use a decimal comma (`7,41`, EUROIMMUN Analyzer I). */
  decimalComma?: boolean;
  /** Where the specimen ID is, first non-empty wins. Default O.3.1, then O.4.1. */
  specimenIdFields?: FieldRef[];
  /** P fields holding the patient ID, first non-empty wins. Default P.3, P.4, P.5. */
  patientIdFields?: number[];
  qc?: QcRules;
  /** Test code mapping table, by instrument test code. */
  tests: Record<string, TestMapping>;
}

export interface FieldRef {
  record: 'O' | 'P';
  field: number;
  /** Default 1. */
  component?: number;
}

/**
 * How this instrument marks QC (quality control) results. Any rule that
 * matches makes the result QC; QC results never reach a patient record.
 */
export interface QcRules {
  /** O.12 action codes meaning QC. Default `['Q']` (E1394 §9 O record, field 12: QC specimen). */
  actionCodes?: string[];
  /** Specimen ID prefixes of control material (e.g. `QC`, `CTRL`). Case-insensitive. */
  specimenIdPrefixes?: string[];
  /** Regular expression (source text) matching control specimen IDs. */
  specimenIdPattern?: string;
  /** Orders sent without a P record are QC. Default true: nothing in them could reach a patient anyway. */
  orderWithoutPatient?: boolean;
}

export interface TestMapping {
  /** LOINC code, e.g. 2243-4. */
  loinc: string;
  /** LOINC display (short name). */
  display: string;
  /** UCUM code of the value as reported, e.g. `pg/mL`, `m[IU]/mL`. */
  unit: string;
  /**
   * Unit texts the instrument sends in R.5 for this test (`mIU/mL`);
   * default `[unit]`. Any other unit is an AstmUnitMismatchError, never a
   * silent relabel. An empty R.5 means the mapped unit.
   */
  instrumentUnits?: string[];
  /**
   * Do not pass on the instrument's reference range nor range-based flags
   * (L, H, LL, HH, N, A, AA). For stimulation-monitoring E2 a normal range
   * does not apply (research/ivf-domain.md §1). `<` and `>` are kept: they
   * say the value is outside the measuring range.
   */
  ignoreReferenceRange?: boolean;
}

const LOINC = /^\d{1,7}-\d$/;

/**
 * Check a profile read from configuration; errors name the key.
 *
 * @param raw - parsed JSON
 * @throws AstmConfigError
 */
export function validateProfile(raw: unknown): InstrumentProfile {
  if (!raw || typeof raw !== 'object') throw new AstmConfigError('instrument profile must be an object', 'profile');
  const p = raw as Partial<InstrumentProfile>;
  if (typeof p.instrumentId !== 'string' || p.instrumentId.trim() === '') throw new AstmConfigError('instrumentId is required', 'instrumentId');
  if (typeof p.utcOffset !== 'string' || !isUtcOffset(p.utcOffset)) throw new AstmConfigError('utcOffset must be Z or ±HH:MM', 'utcOffset');
  for (const key of ['testCodeComponent', 'resultTypeComponent', 'dilutionComponent'] as const) {
    const v = p[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new AstmConfigError(`${key} must be a component number from 1`, key);
  }
  if (!p.tests || typeof p.tests !== 'object') throw new AstmConfigError('tests (the mapping table) is required', 'tests');
  for (const [code, m] of Object.entries(p.tests)) {
    const key = `tests.${code}`;
    if (!m || typeof m !== 'object') throw new AstmConfigError(`${key} must be an object`, key);
    if (typeof m.loinc !== 'string' || !LOINC.test(m.loinc)) throw new AstmConfigError(`${key}.loinc must be a LOINC code`, `${key}.loinc`);
    if (typeof m.display !== 'string' || m.display === '') throw new AstmConfigError(`${key}.display is required`, `${key}.display`);
    if (typeof m.unit !== 'string' || m.unit === '') throw new AstmConfigError(`${key}.unit (UCUM) is required`, `${key}.unit`);
  }
  if (p.qc?.specimenIdPattern !== undefined) {
    try {
      new RegExp(p.qc.specimenIdPattern);
    } catch {
      throw new AstmConfigError('qc.specimenIdPattern is not a valid regular expression', 'qc.specimenIdPattern');
    }
  }
  return p as InstrumentProfile;
}
