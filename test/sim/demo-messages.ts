/**
 * What the demo's clinic morning is made of: obviously fake patients (never
 * the canary values, which tests hunt for in logs) and the messages their
 * morning produces, in the shapes the reference flows accept: IMMULITE-style
 * ASTM result streams, ORU^R01 from the LIS, SIU^S12/S14/S15 and DFT^P03
 * from the EMR.
 */

export interface DemoPatient {
  mrn: string;
  /** HL7 XPN: family^given. */
  name: string;
  dob: string;
  /** Unformatted, from the fictional 555-01xx range. */
  phone: string;
  /** false: the EMR does not know this patient (the result waits in the unmatched-results work queue). */
  registered: boolean;
}

export const DEMO_PATIENTS: readonly DemoPatient[] = [
  { mrn: 'DEMO-1001', name: 'DEMOPATIENT^ALICE', dob: '19880214', phone: '2025550101', registered: true },
  { mrn: 'DEMO-1002', name: 'DEMOPATIENT^BEATRIX', dob: '19850730', phone: '2025550102', registered: true },
  { mrn: 'DEMO-1003', name: 'DEMOPATIENT^CLARA', dob: '19910311', phone: '2025550103', registered: true },
  { mrn: 'DEMO-1004', name: 'DEMOPATIENT^DORA', dob: '19830903', phone: '2025550104', registered: true },
  { mrn: 'DEMO-1005', name: 'DEMOPATIENT^EDITH', dob: '19900126', phone: '2025550105', registered: true },
  { mrn: 'DEMO-1006', name: 'DEMOPATIENT^FRIDA', dob: '19870518', phone: '2025550106', registered: true },
  { mrn: 'DEMO-1007', name: 'DEMOPATIENT^GRETA', dob: '19861122', phone: '2025550107', registered: true },
  { mrn: 'DEMO-1008', name: 'DEMOPATIENT^HELGA', dob: '19890607', phone: '2025550108', registered: true },
];

/** Referred from another clinic and not registered yet: the hub must park, not drop, their result. */
export const UNREGISTERED_PATIENT: DemoPatient = { mrn: 'DEMO-9901', name: 'DEMOPATIENT^IRIS', dob: '19920415', phone: '2025550199', registered: false };

/** The identifier system the lab flows use for MRNs (adapters/lab, `urn:ivf-hub:patient-id`). */
export const PATIENT_ID_SYSTEM = 'urn:ivf-hub:patient-id';

/** A seeded generator, so a run can be repeated with the same values. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** HL7/ASTM timestamp YYYYMMDDHHMMSS in local time. */
export function dtm(at: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}`;
}

/** One analyzer test: instrument code and result, as the IMMULITE profile maps it. */
export interface AnalyzerTest {
  code: 'E2' | 'LH' | 'PGSN' | 'HCG';
  /** As the instrument prints it, e.g. `1843.`, `< 0.2`. */
  value: string;
  unit: string;
  range: string;
  flag: string;
}

/** Cycle-monitoring panel (E2, LH, P4) for a stimulation day, or a beta-hCG pregnancy test. */
export function analyzerPanel(kind: 'monitoring' | 'pregnancy', random: () => number): AnalyzerTest[] {
  if (kind === 'pregnancy') {
    const positive = random() < 0.6;
    const value = positive ? `${Math.round(40 + random() * 900)}.` : '< 1.0';
    return [{ code: 'HCG', value, unit: 'mIU/mL', range: '.4\\.4^5000\\5000', flag: positive ? 'H' : '<' }];
  }
  const e2 = Math.round(150 + random() * 3200);
  const lh = (1 + random() * 12).toFixed(2);
  const p4 = random() < 0.25 ? '< 0.2' : (0.2 + random() * 1.2).toFixed(2);
  return [
    { code: 'E2', value: `${e2}.`, unit: 'pg/mL', range: '12\\12^2000\\2000', flag: e2 > 2000 ? 'H' : 'N' },
    { code: 'LH', value: lh, unit: 'mIU/mL', range: '.7\\.7^400\\400', flag: 'N' },
    { code: 'PGSN', value: p4, unit: 'ng/mL', range: '.2\\.2^40\\40', flag: p4.startsWith('<') ? '<' : 'N' },
  ];
}

/**
 * An IMMULITE-style E1394 message (`H|\^|`, one O record per test), one
 * specimen of one patient. H.3 carries a message control id so every
 * message of a run is distinct (the hub drops re-sends of identical text).
 */
export function immuliteResults(o: { controlId: string; patient: DemoPatient; specimen: string; tests: AnalyzerTest[]; serial: string; at: Date }): string {
  const ts = dtm(o.at);
  const collected = dtm(new Date(o.at.getTime() - 90 * 60_000));
  const records = [`H|\\^|${o.controlId}|PASSWORD|DPC||||SYSTEM||P|1|${ts}`, `P|1|${o.patient.mrn}|||${o.patient.name}|||F`];
  o.tests.forEach((t, i) => {
    records.push(`O|${i + 1}|${o.specimen}||^^^${t.code}|||${collected}`);
    records.push(`R|1|^^^${t.code}|${t.value}|${t.unit}|${t.range}|${t.flag}|N|F||tech1|${ts}|${ts}|${o.serial}`);
  });
  records.push('L|1|N');
  return records.join('\r') + '\r';
}

/** The morning QC run of an analyzer: control lots only, no patient (the hub keeps them apart as QC). */
export function immuliteQc(o: { controlId: string; serial: string; at: Date; level1: string; level2: string }): string {
  const ts = dtm(o.at);
  return [
    `H|\\^|${o.controlId}|PASSWORD|DPC||||SYSTEM||P|1|${ts}`,
    'P|1',
    `O|1|QC-LOT42-L1||^^^E2|||${ts}`,
    `R|1|^^^E2|${o.level1}|pg/mL||N|N|F||tech1|${ts}|${ts}|${o.serial}`,
    'P|2',
    `O|1|QC-LOT42-L2||^^^E2|||${ts}`,
    `R|1|^^^E2|${o.level2}|pg/mL||N|N|F||tech1|${ts}|${ts}|${o.serial}`,
    'L|1|N',
  ].join('\r') + '\r';
}

/** ORU^R01 from the LIS: AMH and a hormone panel for one accession. Returns the message and its OBX count. */
export function lisOru(o: { controlId: string; patient: DemoPatient; accession: string; at: Date; random: () => number }): { text: string; observations: number } {
  const ts = dtm(o.at);
  const r = o.random;
  const obx = [
    `OBX|1|NM|2243-4^Estradiol^LN||${Math.round(200 + r() * 2500)}|pg/mL|30-400|H|||F|||${ts}`,
    `OBX|2|NM|2839-9^Progesterone^LN||${r() < 0.3 ? '<0.5' : (0.5 + r()).toFixed(1)}|ng/mL|0.2-1.5||||F|||${ts}`,
    `OBX|3|NM|10501-5^LH^LN||${(1 + r() * 10).toFixed(1)}|m[IU]/mL|1.7-8.6||||F|||${ts}`,
  ];
  const text = [
    `MSH|^~\\&|IVFLIS|REPROLAB|IVFHUB|REPROCLINIC|${ts}||ORU^R01^ORU_R01|${o.controlId}|P|2.5.1`,
    `PID|1||${o.patient.mrn}^^^REPROCLINIC^MR||${o.patient.name}||${o.patient.dob}|F`,
    `OBR|1|ORD-${o.controlId}|${o.accession}^REPROLAB|24357-6^Cycle monitoring^LN|||${ts}`,
    ...obx,
  ].join('\r') + '\r';
  return { text, observations: obx.length };
}

/** SIU from the EMR: S12 booked, S14 moved, S15 cancelled. `start` is the visit time. */
export function emrSiu(o: { controlId: string; trigger: 'S12' | 'S14' | 'S15'; appointment: string; patient: DemoPatient; start: Date; at: Date }): string {
  return [
    `MSH|^~\\&|IVFEMR|REPROCLINIC|IVFHUB|REPROCLINIC|${dtm(o.at)}||SIU^${o.trigger}^SIU_S12|${o.controlId}|P|2.5.1`,
    `SCH|PL-${o.appointment}|${o.appointment}||||MONITORING^Cycle monitoring ultrasound|||||^^30^${dtm(o.start).slice(0, 12)}`,
    `PID|1||${o.patient.mrn}^^^REPROCLINIC^MR||${o.patient.name}||${o.patient.dob}|F|||||^PRN^CP^^^^^^^^^${o.patient.phone}`,
    'AIS|1||MONITORING^Cycle monitoring ultrasound',
  ].join('\r') + '\r';
}

/** DFT^P03 from the EMR: the charges of a monitoring visit (ultrasound and hormone assays). */
export function emrDft(o: { controlId: string; patient: DemoPatient; account: string; visit: string; at: Date }): string {
  const day = dtm(o.at).slice(0, 8);
  const dx = 'N97.9^Female infertility, unspecified^I10';
  const charge = (n: number, code: string, text: string, amount: string): string =>
    `FT1|${n}|${o.controlId}-${n}||${day}|${day}|CG|${code}^${text}^C4|||1|${amount}&USD||||||||${dx}||||||${code}^${text}^C4`;
  return [
    `MSH|^~\\&|IVFEMR|REPROCLINIC|BILLING|REPROCLINIC|${dtm(o.at)}||DFT^P03^DFT_P03|${o.controlId}|P|2.5.1`,
    `EVN|P03|${dtm(o.at)}`,
    `PID|1||${o.patient.mrn}^^^REPROCLINIC^MR||${o.patient.name}||${o.patient.dob}|F|||1 DEMO STREET^^SAMPLETOWN^NY^10001|||||||${o.account}`,
    `PV1|1|O|REI^^^REPROCLINIC||||||||||||||||${o.visit}`,
    charge(1, '76830', 'Transvaginal ultrasound', '250.00'),
    charge(2, '82670', 'Estradiol', '85.00'),
    charge(3, '84144', 'Progesterone', '70.00'),
    `DG1|1||${dx}|||F|||||||||1`,
    `IN1|1|IVFPLAN^IVF rider|KEYINS01^^^^NIIP|KEY INSURANCE COMPANY||||GRP-IVF-01||||||PA20260301^20260301^KEYINS01||${o.patient.name}|SEL^Self^HL70063|${o.patient.dob}||||||||||||||||||MEMBER-${o.patient.mrn}|||||||F`,
  ].join('\r') + '\r';
}
