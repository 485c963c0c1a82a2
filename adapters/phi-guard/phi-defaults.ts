import type { PhiRule } from './errors';

/**
 * The hub's starting PHI policy for provider requests, from the domain brief
 * (shared/research/ivf-domain.md §3, §5): Stripe must get no PHI at all, and
 * SMS/email bodies must be content-free. Clinics extend these lists through
 * configuration; they are deliberately strict, because a refused message is
 * rewritten by an analyst while a sent one cannot be recalled.
 */

/**
 * Field names that must never appear in a provider request, compared after
 * lower-casing and dropping everything but letters and digits (`patient_name`,
 * `patientName` and `Patient-Name` are one name). A leading `patient` is also
 * ignored, so `patientDob` counts as `dob`.
 */
export const DEFAULT_FORBIDDEN_FIELDS: readonly string[] = [
  'patientname', 'name', 'firstname', 'lastname', 'givenname', 'familyname', 'middlename', 'fullname', 'surname', 'maidenname',
  'dob', 'dateofbirth', 'birthdate', 'birthday',
  'mrn', 'medicalrecordnumber', 'ssn', 'socialsecuritynumber', 'insuranceid', 'memberid',
  'diagnosis', 'diagnoses', 'diagnosiscode', 'icd', 'icd10', 'icdcode',
  'procedure', 'procedures', 'procedurecode', 'cpt', 'cptcode', 'hcpcs',
  'hcg', 'betahcg', 'labresult', 'result', 'results', 'pregnancy', 'pregnancystatus', 'pregnant',
  'medication', 'medications', 'drug', 'dose', 'cycle', 'cycletype', 'treatment',
  'address', 'street', 'postalcode', 'zip',
];

/**
 * Words that reveal a fertility condition or treatment. Matched
 * case-insensitively as whole words (hyphen or space between the parts of a
 * phrase). Includes the drug names a trigger-shot or stimulation message
 * would otherwise mention.
 */
export const DEFAULT_FORBIDDEN_TERMS: readonly string[] = [
  'IVF', 'in vitro', 'fertility', 'infertility', 'infertile', 'reproductive', 'reproduction',
  'embryo', 'embryos', 'embryology', 'blastocyst', 'oocyte', 'oocytes', 'egg retrieval', 'egg freezing', 'egg donor', 'donor egg', 'donor eggs', 'donor sperm',
  'sperm', 'semen', 'ICSI', 'IUI', 'FET', 'PGT', 'PGT-A', 'PGD', 'cryopreservation', 'surrogate', 'surrogacy', 'gestational carrier',
  'hCG', 'beta hCG', 'pregnancy', 'pregnant', 'miscarriage', 'ectopic',
  'trigger shot', 'trigger injection', 'stimulation', 'ovulation', 'ovarian', 'endometriosis', 'PCOS', 'OHSS', 'azoospermia',
  'Ovidrel', 'Novarel', 'Pregnyl', 'Lupron', 'leuprolide', 'Menopur', 'Gonal-f', 'Follistim', 'Cetrotide', 'ganirelix',
  'progesterone', 'estradiol', 'Clomid', 'clomiphene', 'letrozole',
];

export interface PhiPattern {
  rule: PhiRule;
  pattern: RegExp;
}

/**
 * Code and value shapes. `\w` boundaries keep them from firing inside
 * provider ids (`cus_…`, `pi_…`) and lower-case UUIDs such as hub message ids.
 * ICD-10 is matched upper-case only, as codes are written; CPT matches any
 * stand-alone five-digit number (so also a ZIP code or an amount without a
 * separator: rewrite the text rather than loosen the rule).
 */
export const DEFAULT_PHI_PATTERNS: readonly PhiPattern[] = [
  // CPT: five digits, or four digits and F/T/U (category II/III, PLA codes).
  { rule: 'cpt-code', pattern: /(?<!\w)\d{4}[0-9FTU](?!\w)/ },
  // HCPCS level II: a letter and four digits (S4011 global IVF billing, J-codes for drugs).
  { rule: 'hcpcs-code', pattern: /(?<!\w)[A-V]\d{4}(?!\w)/ },
  // ICD-10-CM: letter, digit, alphanumeric, optional extension with or without the dot (N97.9, N979, Z31.83, O09.81x).
  { rule: 'icd-code', pattern: /(?<!\w)[A-TV-Z]\d[0-9A-Z](?:\.?[0-9A-Za-z]{1,4})?(?!\w)/ },
  // A hormone value with its unit (beta-hCG 152.4 mIU/mL, E2 pg/mL).
  { rule: 'lab-value', pattern: /\d+(?:[.,]\d+)?\s*(?:m?IU\/m?L|pg\/mL|ng\/mL|nmol\/L|pmol\/L)/i },
];
