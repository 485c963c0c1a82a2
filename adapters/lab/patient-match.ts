import type { FhirClient, FhirResource } from '../emr';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';

/** The Observation members matching reads and writes; the rest passes through. */
export interface MatchableObservation {
  resourceType: string;
  subject?: { reference?: string; identifier?: { system?: string; value?: string }; display?: string };
  extension?: { url: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

export interface PatientMatchOptions {
  /**
   * Identifier system of the EMR's MRNs. Empty: the system the result
   * carries (the lab and the EMR share the MRN system).
   */
  mrnSystem?: string;
  /** Also look for the patient's active treatment cycle (EpisodeOfCare) and link results to it. */
  cycle?: boolean;
}

export interface PatientMatchDeps {
  logger?: Logger;
}

export interface PatientMatchResult<T extends MatchableObservation> {
  /** Results whose patient the EMR knows: subject is `Patient/<id>`, with the cycle when there is one. */
  matched: T[];
  /** Results with no patient identifier, or one the EMR does not know, or knows twice. */
  unmatched: T[];
  /** Distinct patients looked up, for status counts. */
  patients: number;
}

/**
 * FHIR extension (hl7.fhir.uv.extensions, usable with R4) linking a resource
 * to the EpisodeOfCare it belongs to: the IVF treatment cycle.
 */
export const EPISODE_OF_CARE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare';

/**
 * Binds lab results to the EMR's patients. Each result names its patient by
 * identifier (the MRN the analyzer or LIS sent); the EMR is asked once per
 * distinct identifier, and a result is matched only when exactly one
 * Patient has it: an unknown or ambiguous MRN is never guessed at, the
 * result is returned as unmatched for the work queue. When the EMR keeps
 * treatment cycles as EpisodeOfCare, the one active cycle of the patient is
 * linked too (none or several: no link, the result still goes to the chart).
 */
export class PatientMatcher {
  private readonly logger: Logger;

  /**
   * @param fhir - the EMR's FHIR client
   * @param options - MRN system, cycle lookup
   * @param deps - logger
   */
  constructor(
    private readonly fhir: Pick<FhirClient, 'searchByIdentifier' | 'search'>,
    private readonly options: PatientMatchOptions = {},
    deps: PatientMatchDeps = {},
  ) {
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * @param observations - results with `subject.identifier` (or already a `Patient/` reference)
   * @returns matched results (copies, subject replaced) and unmatched ones (as given)
   * @throws the FHIR client's errors (retryable when the EMR is down), so a queue retries the whole message
   */
  async match<T extends MatchableObservation>(observations: readonly T[]): Promise<PatientMatchResult<T>> {
    const lookups = new Map<string, Promise<{ patient: FhirResource; cycle?: FhirResource } | null>>();
    const keyOf = (o: T): { system: string; value: string } | undefined => {
      const id = o.subject?.identifier;
      const system = this.options.mrnSystem || id?.system;
      return id?.value && system ? { system, value: id.value } : undefined;
    };
    for (const o of observations) {
      const id = keyOf(o);
      if (!id) continue;
      const k = `${id.system}|${id.value}`;
      if (!lookups.has(k)) lookups.set(k, this.lookup(id));
    }
    const found = new Map<string, { patient: FhirResource; cycle?: FhirResource } | null>();
    for (const [k, p] of lookups) found.set(k, await p);

    const out: PatientMatchResult<T> = { matched: [], unmatched: [], patients: lookups.size };
    for (const o of observations) {
      if (o.subject?.reference?.startsWith('Patient/')) {
        out.matched.push(o);
        continue;
      }
      const id = keyOf(o);
      const hit = id ? found.get(`${id.system}|${id.value}`) : null;
      if (!hit) {
        out.unmatched.push(o);
        continue;
      }
      const bound: T = { ...o, subject: { reference: `Patient/${hit.patient.id}` } };
      if (hit.cycle) bound.extension = [...(o.extension ?? []).filter((e) => e.url !== EPISODE_OF_CARE_EXTENSION), { url: EPISODE_OF_CARE_EXTENSION, valueReference: { reference: `EpisodeOfCare/${hit.cycle.id}` } }];
      out.matched.push(bound);
    }
    this.logger.debug('lab results matched', { results: observations.length, matched: out.matched.length, unmatched: out.unmatched.length, patients: out.patients });
    return out;
  }

  private async lookup(id: { system: string; value: string }): Promise<{ patient: FhirResource; cycle?: FhirResource } | null> {
    const patients = (await this.fhir.searchByIdentifier('Patient', id)).filter((p) => typeof p.id === 'string' && p.id !== '');
    if (patients.length !== 1) return null;
    const patient = patients[0]!;
    if (!this.options.cycle) return { patient };
    const cycles = await this.fhir.search('EpisodeOfCare', { patient: `Patient/${patient.id}`, status: 'active' });
    return cycles.length === 1 && cycles[0]!.id ? { patient, cycle: cycles[0]! } : { patient };
  }
}
