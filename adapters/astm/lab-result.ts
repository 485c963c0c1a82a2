import type { Dilution, LabValue, ReferenceRange } from './result-value';

/** E1394 R.9 result status, as the hub carries it (FHIR Observation.status vocabulary). */
export type LabResultStatus = 'final' | 'corrected' | 'preliminary' | 'pending' | 'cancelled' | 'unknown';

/** Why a result was classified as QC (see InstrumentProfile.qc). */
export type QcReason = 'action-code' | 'specimen-prefix' | 'specimen-pattern' | 'no-patient';

/**
 * One analyzer result, normalized: the canonical form the EMR-bound flows
 * turn into FHIR or HL7 (fhir.ts, oru.ts). Plain data, survives Node-RED
 * msg cloning. Carries PHI (patient IDs, name, birth date): it is payload,
 * never log material.
 */
export interface LabResult {
  /** `qc` results go to their own output and never to a patient record. */
  kind: 'patient' | 'qc';
  qcReason?: QcReason;
  instrumentId: string;
  specimenId: string;
  patient?: LabPatient;
  test: {
    /** The instrument's test code (mapping key). */
    code: string;
    /** The instrument's test name, when it sends one (R.3 next component). */
    name?: string;
    loinc: string;
    display: string;
  };
  value: LabValue;
  /** UCUM code of the value and the unit text the instrument sent. */
  unit: { ucum: string; reported: string };
  dilution?: Dilution;
  referenceRange?: ReferenceRange;
  /** R.7 abnormal flags as sent (ARCHITECT `EXP`, `<`). */
  abnormalFlags: string[];
  /** Flags from the E1394 / HL7 0078 / FHIR v3 ObservationInterpretation vocabulary: L H LL HH < > N A AA U D B W. */
  interpretation: string[];
  /** Interpretation text sent as a separate result (ARCHITECT result type I: `NEGATIVE`). */
  interpretationText?: string;
  status: LabResultStatus;
  /** R.9 as sent. */
  statusCode: string;
  /** ISO 8601 with the instrument's offset; date only when no time was sent. */
  orderedAt?: string;
  collectedAt?: string;
  startedAt?: string;
  completedAt?: string;
  /** R.11 operator ID. */
  operator?: string;
  /** R.14 instrument (module, serial) that performed the test. */
  performedBy?: string;
  /** C records under the R record: their text. */
  comments: string[];
  /** 1-based positions in the message, for grouping into reports. */
  position: { patient: number; order: number; result: number };
  /**
   * Stable idempotency key: SHA-256 over instrument, specimen, test code,
   * completion time, status and value. A re-sent identical result gets the
   * same key; a corrected one (status C or a new value) does not.
   */
  resultKey: string;
}

export interface LabPatient {
  id?: string;
  /** Which P field the ID came from (`P.3`, `P.4`, `P.5`). */
  idField?: string;
  name?: { family: string; given?: string; middle?: string };
  /** ISO date. */
  birthDate?: string;
  sex?: string;
}
