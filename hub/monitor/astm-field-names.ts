/**
 * ASTM E1394-97 (CLSI LIS2-A2) record and field names, for the monitor's
 * parsed view only. Index 0 is field 1 (the record type).
 */
export const ASTM_RECORD_NAMES: Readonly<Record<string, string>> = {
  H: 'Message Header',
  P: 'Patient Information',
  O: 'Test Order',
  R: 'Result',
  C: 'Comment',
  Q: 'Request Information',
  M: 'Manufacturer Information',
  S: 'Scientific',
  L: 'Message Terminator',
};

const FIELDS: Readonly<Record<string, readonly string[]>> = {
  H: [
    'Record Type ID', 'Delimiter Definition', 'Message Control ID', 'Access Password', 'Sender Name or ID',
    'Sender Street Address', 'Reserved Field', 'Sender Telephone Number', 'Characteristics of Sender', 'Receiver ID',
    'Comment or Special Instructions', 'Processing ID', 'Version Number', 'Date and Time of Message',
  ],
  P: [
    'Record Type ID', 'Sequence Number', 'Practice Assigned Patient ID', 'Laboratory Assigned Patient ID',
    'Patient ID Number 3', 'Patient Name', "Mother's Maiden Name", 'Birthdate', 'Patient Sex',
    'Patient Race-Ethnic Origin', 'Patient Address', 'Reserved Field', 'Patient Telephone Number',
    'Attending Physician ID', 'Special Field 1', 'Special Field 2', 'Patient Height', 'Patient Weight',
    "Patient's Known or Suspected Diagnosis", 'Patient Active Medications', "Patient's Diet", 'Practice Field 1',
    'Practice Field 2', 'Admission and Discharge Dates', 'Admission Status', 'Location',
    'Nature of Alternative Diagnostic Code and Classifiers', 'Alternative Diagnostic Code and Classification',
    'Patient Religion', 'Marital Status', 'Isolation Status', 'Language', 'Hospital Service', 'Hospital Institution',
    'Dosage Category',
  ],
  O: [
    'Record Type ID', 'Sequence Number', 'Specimen ID', 'Instrument Specimen ID', 'Universal Test ID', 'Priority',
    'Requested/Ordered Date and Time', 'Specimen Collection Date and Time', 'Collection End Time',
    'Collection Volume', 'Collector ID', 'Action Code', 'Danger Code', 'Relevant Clinical Information',
    'Date/Time Specimen Received', 'Specimen Descriptor', 'Ordering Physician', "Physician's Telephone Number",
    'User Field 1', 'User Field 2', 'Laboratory Field 1', 'Laboratory Field 2',
    'Date/Time Results Reported or Last Modified', 'Instrument Charge to Computer System', 'Instrument Section ID',
    'Report Types', 'Reserved Field', 'Location or Ward of Specimen Collection', 'Nosocomial Infection Flag',
    'Specimen Service', 'Specimen Institution',
  ],
  R: [
    'Record Type ID', 'Sequence Number', 'Universal Test ID', 'Data or Measurement Value', 'Units',
    'Reference Ranges', 'Result Abnormal Flags', 'Nature of Abnormality Testing', 'Result Status',
    'Date of Change in Instrument Normative Values or Units', 'Operator Identification', 'Date/Time Test Started',
    'Date/Time Test Completed', 'Instrument Identification',
  ],
  C: ['Record Type ID', 'Sequence Number', 'Comment Source', 'Comment Text', 'Comment Type'],
  Q: [
    'Record Type ID', 'Sequence Number', 'Starting Range ID Number', 'Ending Range ID Number', 'Universal Test ID',
    'Nature of Request Time Limits', 'Beginning Request Results Date and Time',
    'Ending Request Results Date and Time', 'Requesting Physician Name', 'Requesting Physician Telephone Number',
    'User Field 1', 'User Field 2', 'Request Information Status Codes',
  ],
  L: ['Record Type ID', 'Sequence Number', 'Termination Code'],
};

/**
 * @param record - record type letter (`R`)
 * @param field - 1-based field number
 */
export function astmFieldName(record: string, field: number): string | null {
  return FIELDS[record]?.[field - 1] ?? null;
}
