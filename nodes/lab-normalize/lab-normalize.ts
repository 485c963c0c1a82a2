import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { parse } from '../../adapters/hl7';
import type { Hl7Message } from '../../adapters/hl7';
import { oruToObservations } from '../../adapters/lab';
import type { LabTestMapping } from '../../adapters/lab';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import { envSetting } from '../shared/env-setting';
import { setStatus } from '../shared/status';

interface LabNormalizeDef extends NodeDef {
  /** JSON: LIS test code → {loinc, display, unit, ignoreReferenceRange}. */
  tests: string;
  /** Comma-separated specimen id prefixes of QC material. */
  qcPrefixes: string;
  utcOffset: string;
  patientIdSystem: string;
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * HL7 v2 ORU^R01 lab results (msg.hl7 from mllp-in / hl7-parse, or the text
 * in msg.payload) as FHIR R4 Observations with LOINC and UCUM, the shape
 * astm-in gives for analyzers. Three outputs:
 *
 * 1. patient results: msg.payload = msg.observations = Observation[]
 *    (msg.patientId when the message is about one patient);
 * 2. QC results (no patient data): msg.payload = msg.qc;
 * 3. one msg per result that could not be mapped: msg.error {code, reason, testCode}.
 */
export = function init(RED: NodeAPI): void {
  function LabNormalize(this: Node, def: LabNormalizeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let tests: Record<string, LabTestMapping> | undefined;
    try {
      tests = def.tests && def.tests.trim() !== '' ? (JSON.parse(def.tests) as Record<string, LabTestMapping>) : undefined;
      if (tests !== undefined && (typeof tests !== 'object' || tests === null || Array.isArray(tests))) throw new Error('tests');
    } catch {
      node.error(RED._('lab-normalize.errors.tests'));
      setStatus(node, 'error', RED._('lab-normalize.status.error', { code: 'CONFIG' }));
      return;
    }
    const options = {
      ...(tests ? { tests } : {}),
      qcSpecimenPrefixes: (def.qcPrefixes ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      ...(envSetting(def.utcOffset) ? { utcOffset: envSetting(def.utcOffset) } : {}),
      ...(envSetting(def.patientIdSystem) ? { patientIdSystem: envSetting(def.patientIdSystem) } : {}),
    };
    let results = 0;
    let qc = 0;

    node.on('input', (msg: Msg, send, done) => {
      let out;
      try {
        const hl7 = msg.hl7 && typeof msg.hl7 === 'object' && Array.isArray((msg.hl7 as Hl7Message).segments) ? (msg.hl7 as Hl7Message) : parse(String(msg.payload ?? ''));
        out = oruToObservations(hl7, options);
      } catch (err) {
        const safe = err instanceof IntegrationError ? err : new IntegrationError('the ORU message could not be read', 'PARSE', false);
        msg.retryable = false;
        setStatus(node, 'error', RED._('lab-normalize.status.error', { code: errorCode(safe) }));
        done(safe);
        return;
      }
      const base = { topic: msg.topic, hubMessageId: msg.hubMessageId, controlId: msg.controlId, messageType: msg.messageType, sender: msg.sender };
      // The MRN of a one-patient message, as astm-in gives it: store-record keeps it as the searchable patient key.
      const mrns = new Set(out.observations.map((o) => o.subject.identifier?.value).filter((v): v is string => typeof v === 'string'));
      const first = out.observations.length > 0 ? Object.assign(msg, { payload: out.observations, observations: out.observations }, mrns.size === 1 ? { patientId: [...mrns][0] } : {}) : null;
      const second = out.qc.length > 0 ? ({ ...base, _msgid: msg._msgid, payload: out.qc, qc: out.qc } as Msg) : null;
      const third = out.errors.map(
        (e) =>
          ({
            ...base,
            _msgid: msg._msgid,
            payload: { code: errorCode(e), message: e.message },
            error: { code: errorCode(e), message: e.message, ...('reason' in e ? { reason: e.reason } : {}), ...('testCode' in e && e.testCode ? { testCode: e.testCode } : {}) },
          }) as Msg,
      );
      results += out.observations.length;
      qc += out.qc.length;
      if (out.errors.length > 0) setStatus(node, 'error', RED._('lab-normalize.status.unmapped', { results, qc, errors: out.errors.length }));
      else setStatus(node, 'connected', RED._('lab-normalize.status.done', { results, qc }));
      send([first, second, third.length > 0 ? third : null]);
      done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      setStatus(node, 'idle');
      done();
    });
  }
  RED.nodes.registerType('lab-normalize', LabNormalize);
};
