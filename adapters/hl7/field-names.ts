import { parsePath } from './path';

/**
 * Display names of the fields of common segments, as named in HL7 v2.5.1
 * (OBX-20..25 from v2.6/2.7, which LRI v2.5.1 profiles already use). Used
 * for every version: names barely change between versions, and this is for
 * display, not validation. Index 0 is field 1.
 */
const FIELD_NAMES: Readonly<Record<string, readonly string[]>> = {
  MSH: [
    'Field Separator', 'Encoding Characters', 'Sending Application', 'Sending Facility', 'Receiving Application',
    'Receiving Facility', 'Date/Time of Message', 'Security', 'Message Type', 'Message Control ID', 'Processing ID',
    'Version ID', 'Sequence Number', 'Continuation Pointer', 'Accept Acknowledgment Type',
    'Application Acknowledgment Type', 'Country Code', 'Character Set', 'Principal Language of Message',
    'Alternate Character Set Handling Scheme', 'Message Profile Identifier',
  ],
  EVN: [
    'Event Type Code', 'Recorded Date/Time', 'Date/Time Planned Event', 'Event Reason Code', 'Operator ID',
    'Event Occurred', 'Event Facility',
  ],
  PID: [
    'Set ID - PID', 'Patient ID', 'Patient Identifier List', 'Alternate Patient ID - PID', 'Patient Name',
    "Mother's Maiden Name", 'Date/Time of Birth', 'Administrative Sex', 'Patient Alias', 'Race', 'Patient Address',
    'County Code', 'Phone Number - Home', 'Phone Number - Business', 'Primary Language', 'Marital Status', 'Religion',
    'Patient Account Number', 'SSN Number - Patient', "Driver's License Number - Patient", "Mother's Identifier",
    'Ethnic Group', 'Birth Place', 'Multiple Birth Indicator', 'Birth Order', 'Citizenship',
    'Veterans Military Status', 'Nationality', 'Patient Death Date and Time', 'Patient Death Indicator',
    'Identity Unknown Indicator', 'Identity Reliability Code', 'Last Update Date/Time', 'Last Update Facility',
    'Species Code', 'Breed Code', 'Strain', 'Production Class Code', 'Tribal Citizenship',
  ],
  PV1: [
    'Set ID - PV1', 'Patient Class', 'Assigned Patient Location', 'Admission Type', 'Preadmit Number',
    'Prior Patient Location', 'Attending Doctor', 'Referring Doctor', 'Consulting Doctor', 'Hospital Service',
    'Temporary Location', 'Preadmit Test Indicator', 'Re-admission Indicator', 'Admit Source', 'Ambulatory Status',
    'VIP Indicator', 'Admitting Doctor', 'Patient Type', 'Visit Number', 'Financial Class', 'Charge Price Indicator',
    'Courtesy Code', 'Credit Rating', 'Contract Code', 'Contract Effective Date', 'Contract Amount', 'Contract Period',
    'Interest Code', 'Transfer to Bad Debt Code', 'Transfer to Bad Debt Date', 'Bad Debt Agency Code',
    'Bad Debt Transfer Amount', 'Bad Debt Recovery Amount', 'Delete Account Indicator', 'Delete Account Date',
    'Discharge Disposition', 'Discharged to Location', 'Diet Type', 'Servicing Facility', 'Bed Status',
    'Account Status', 'Pending Location', 'Prior Temporary Location', 'Admit Date/Time', 'Discharge Date/Time',
    'Current Patient Balance', 'Total Charges', 'Total Adjustments', 'Total Payments', 'Alternate Visit ID',
    'Visit Indicator', 'Other Healthcare Provider',
  ],
  ORC: [
    'Order Control', 'Placer Order Number', 'Filler Order Number', 'Placer Group Number', 'Order Status',
    'Response Flag', 'Quantity/Timing', 'Parent', 'Date/Time of Transaction', 'Entered By', 'Verified By',
    'Ordering Provider', "Enterer's Location", 'Call Back Phone Number', 'Order Effective Date/Time',
    'Order Control Code Reason', 'Entering Organization', 'Entering Device', 'Action By',
    'Advanced Beneficiary Notice Code', 'Ordering Facility Name', 'Ordering Facility Address',
    'Ordering Facility Phone Number', 'Ordering Provider Address', 'Order Status Modifier',
    'Advanced Beneficiary Notice Override Reason', "Filler's Expected Availability Date/Time", 'Confidentiality Code',
    'Order Type', 'Enterer Authorization Mode', 'Parent Universal Service Identifier',
  ],
  OBR: [
    'Set ID - OBR', 'Placer Order Number', 'Filler Order Number', 'Universal Service Identifier', 'Priority - OBR',
    'Requested Date/Time', 'Observation Date/Time', 'Observation End Date/Time', 'Collection Volume',
    'Collector Identifier', 'Specimen Action Code', 'Danger Code', 'Relevant Clinical Information',
    'Specimen Received Date/Time', 'Specimen Source', 'Ordering Provider', 'Order Callback Phone Number',
    'Placer Field 1', 'Placer Field 2', 'Filler Field 1', 'Filler Field 2', 'Results Rpt/Status Chng - Date/Time',
    'Charge to Practice', 'Diagnostic Serv Sect ID', 'Result Status', 'Parent Result', 'Quantity/Timing',
    'Result Copies To', 'Parent', 'Transportation Mode', 'Reason for Study', 'Principal Result Interpreter',
    'Assistant Result Interpreter', 'Technician', 'Transcriptionist', 'Scheduled Date/Time',
    'Number of Sample Containers', 'Transport Logistics of Collected Sample', "Collector's Comment",
    'Transport Arrangement Responsibility', 'Transport Arranged', 'Escort Required',
    'Planned Patient Transport Comment', 'Procedure Code', 'Procedure Code Modifier',
    'Placer Supplemental Service Information', 'Filler Supplemental Service Information',
    'Medically Necessary Duplicate Procedure Reason', 'Result Handling',
  ],
  OBX: [
    'Set ID - OBX', 'Value Type', 'Observation Identifier', 'Observation Sub-ID', 'Observation Value', 'Units',
    'References Range', 'Abnormal Flags', 'Probability', 'Nature of Abnormal Test', 'Observation Result Status',
    'Effective Date of Reference Range', 'User Defined Access Checks', 'Date/Time of the Observation',
    "Producer's ID", 'Responsible Observer', 'Observation Method', 'Equipment Instance Identifier',
    'Date/Time of the Analysis', 'Observation Site', 'Observation Instance Identifier', 'Mood Code',
    'Performing Organization Name', 'Performing Organization Address', 'Performing Organization Medical Director',
  ],
  NTE: ['Set ID - NTE', 'Source of Comment', 'Comment', 'Comment Type'],
  MSA: [
    'Acknowledgment Code', 'Message Control ID', 'Text Message', 'Expected Sequence Number',
    'Delayed Acknowledgment Type', 'Error Condition',
  ],
  ERR: [
    'Error Code and Location', 'Error Location', 'HL7 Error Code', 'Severity', 'Application Error Code',
    'Application Error Parameter', 'Diagnostic Information', 'User Message', 'Inform Person Indicator',
    'Override Type', 'Override Reason Code', 'Help Desk Contact Point',
  ],
  NK1: [
    'Set ID - NK1', 'Name', 'Relationship', 'Address', 'Phone Number', 'Business Phone Number', 'Contact Role',
    'Start Date', 'End Date', 'Next of Kin / Associated Parties Job Title',
    'Next of Kin / Associated Parties Job Code/Class', 'Next of Kin / Associated Parties Employee Number',
    'Organization Name - NK1', 'Marital Status', 'Administrative Sex', 'Date/Time of Birth', 'Living Dependency',
    'Ambulatory Status', 'Citizenship', 'Primary Language', 'Living Arrangement', 'Publicity Code',
    'Protection Indicator', 'Student Indicator', 'Religion', "Mother's Maiden Name", 'Nationality', 'Ethnic Group',
    'Contact Reason', "Contact Person's Name", "Contact Person's Telephone Number", "Contact Person's Address",
    "Next of Kin/Associated Party's Identifiers", 'Job Status', 'Race', 'Handicap',
    'Contact Person Social Security Number', 'Next of Kin Birth Place', 'VIP Indicator',
  ],
  IN1: [
    'Set ID - IN1', 'Insurance Plan ID', 'Insurance Company ID', 'Insurance Company Name',
    'Insurance Company Address', 'Insurance Co Contact Person', 'Insurance Co Phone Number', 'Group Number',
    'Group Name', "Insured's Group Emp ID", "Insured's Group Emp Name", 'Plan Effective Date', 'Plan Expiration Date',
    'Authorization Information', 'Plan Type', 'Name of Insured', "Insured's Relationship to Patient",
    "Insured's Date of Birth", "Insured's Address", 'Assignment of Benefits', 'Coordination of Benefits',
    'Coord of Ben. Priority', 'Notice of Admission Flag', 'Notice of Admission Date', 'Report of Eligibility Flag',
    'Report of Eligibility Date', 'Release Information Code', 'Pre-Admit Cert (PAC)', 'Verification Date/Time',
    'Verification By', 'Type of Agreement Code', 'Billing Status', 'Lifetime Reserve Days', 'Delay Before L.R. Day',
    'Company Plan Code', 'Policy Number', 'Policy Deductible', 'Policy Limit - Amount', 'Policy Limit - Days',
    'Room Rate - Semi-Private', 'Room Rate - Private', "Insured's Employment Status",
    "Insured's Administrative Sex", "Insured's Employer's Address", 'Verification Status',
    'Prior Insurance Plan ID', 'Coverage Type', 'Handicap', "Insured's ID Number", 'Signature Code',
    'Signature Code Date', "Insured's Birth Place", 'VIP Indicator',
  ],
  FT1: [
    'Set ID - FT1', 'Transaction ID', 'Transaction Batch ID', 'Transaction Date', 'Transaction Posting Date',
    'Transaction Type', 'Transaction Code', 'Transaction Description', 'Transaction Description - Alt',
    'Transaction Quantity', 'Transaction Amount - Extended', 'Transaction Amount - Unit', 'Department Code',
    'Insurance Plan ID', 'Insurance Amount', 'Assigned Patient Location', 'Fee Schedule', 'Patient Type',
    'Diagnosis Code - FT1', 'Performed By Code', 'Ordered By Code', 'Unit Cost', 'Filler Order Number',
    'Entered By Code', 'Procedure Code', 'Procedure Code Modifier', 'Advanced Beneficiary Notice Code',
    'Medically Necessary Duplicate Procedure Reason', 'NDC Code', 'Payment Reference ID',
    'Transaction Reference Key',
  ],
  DG1: [
    'Set ID - DG1', 'Diagnosis Coding Method', 'Diagnosis Code - DG1', 'Diagnosis Description',
    'Diagnosis Date/Time', 'Diagnosis Type', 'Major Diagnostic Category', 'Diagnostic Related Group',
    'DRG Approval Indicator', 'DRG Grouper Review Code', 'Outlier Type', 'Outlier Days', 'Outlier Cost',
    'Grouper Version and Type', 'Diagnosis Priority', 'Diagnosing Clinician', 'Diagnosis Classification',
    'Confidential Indicator', 'Attestation Date/Time', 'Diagnosis Identifier', 'Diagnosis Action Code',
  ],
  SPM: [
    'Set ID - SPM', 'Specimen ID', 'Specimen Parent IDs', 'Specimen Type', 'Specimen Type Modifier',
    'Specimen Additives', 'Specimen Collection Method', 'Specimen Source Site', 'Specimen Source Site Modifier',
    'Specimen Collection Site', 'Specimen Role', 'Specimen Collection Amount', 'Grouped Specimen Count',
    'Specimen Description', 'Specimen Handling Code', 'Specimen Risk Code', 'Specimen Collection Date/Time',
    'Specimen Received Date/Time', 'Specimen Expiration Date/Time', 'Specimen Availability',
    'Specimen Reject Reason', 'Specimen Quality', 'Specimen Appropriateness', 'Specimen Condition',
    'Specimen Current Quantity', 'Number of Specimen Containers', 'Container Type', 'Container Condition',
    'Specimen Child Role',
  ],
  TQ1: [
    'Set ID - TQ1', 'Quantity', 'Repeat Pattern', 'Explicit Time', 'Relative Time and Units', 'Service Duration',
    'Start Date/Time', 'End Date/Time', 'Priority', 'Condition Text', 'Text Instruction', 'Conjunction',
    'Occurrence Duration', 'Total Occurrences',
  ],
  FHS: [
    'File Field Separator', 'File Encoding Characters', 'File Sending Application', 'File Sending Facility',
    'File Receiving Application', 'File Receiving Facility', 'File Creation Date/Time', 'File Security',
    'File Name/ID', 'File Header Comment', 'File Control ID', 'Reference File Control ID',
  ],
  FTS: ['File Batch Count', 'File Trailer Comment'],
  BHS: [
    'Batch Field Separator', 'Batch Encoding Characters', 'Batch Sending Application', 'Batch Sending Facility',
    'Batch Receiving Application', 'Batch Receiving Facility', 'Batch Creation Date/Time', 'Batch Security',
    'Batch Name/ID/Type', 'Batch Comment', 'Batch Control ID', 'Reference Batch Control ID',
  ],
  BTS: ['Batch Message Count', 'Batch Comment', 'Batch Totals'],
};

/**
 * Display name of a field, e.g. `fieldName('PID', 5)` → `Patient Name`.
 *
 * @param segmentId - e.g. `PID`
 * @param field - 1-based field number
 * @param _version - MSH-12; accepted for future per-version tables, v2.5.1 names are used for all
 */
export function fieldName(segmentId: string, field: number, _version?: string): string | undefined {
  return FIELD_NAMES[segmentId]?.[field - 1];
}

/**
 * Label for a path, e.g. `PID-5[1].1` → `PID-5 Patient Name`, or the bare
 * field reference when the field is not in the dictionary.
 *
 * @param path - an HL7 path with a field
 */
export function describePath(path: string): string {
  const p = parsePath(path);
  if (p.field === undefined) return p.segment;
  const ref = `${p.segment}-${p.field}`;
  const name = fieldName(p.segment, p.field);
  return name ? `${ref} ${name}` : ref;
}

/** Segment IDs that have field names. */
export function knownSegments(): string[] {
  return Object.keys(FIELD_NAMES);
}
