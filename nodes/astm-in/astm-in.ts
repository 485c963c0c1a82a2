import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { AstmDelivery, AstmDeliveryError, AstmInstrumentNode, AstmQueryHandle } from '../astm-instrument/types';
import { setStatus } from '../shared/status';

interface AstmInDef extends NodeDef {
  instrument: string;
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Emits every complete message its astm-instrument receives, already
 * stored (msg.hubMessageId) and acknowledged to the instrument, on four outputs:
 *
 * 1. patient results: msg.payload FHIR R4 transaction Bundle, msg.observations,
 *    msg.oru (HL7 ORU^R01), msg.results (canonical), msg.astm (raw records and parsed tree);
 * 2. QC results: msg.payload / msg.qc, nothing from the patient records;
 * 3. host queries, one msg per Q record: msg.query, msg._astmQuery (answer it with astm-out);
 * 4. errors: msg.error {code, message, testCode?}: unmapped test codes, unit
 *    mismatches, discarded incomplete messages, queries the flow did not answer in time.
 */
export = function init(RED: NodeAPI): void {
  function AstmIn(this: Node, def: AstmInDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const instrument = RED.nodes.getNode(def.instrument) as AstmInstrumentNode | null;
    if (!instrument || typeof instrument.register !== 'function') {
      node.error(RED._('astm-in.errors.no-instrument'));
      setStatus(node, 'error', RED._('astm-in.status.error', { code: 'CONFIG' }));
      return;
    }
    let showingError = false;

    const base = (hubMessageId: string | undefined): Msg => ({
      _msgid: RED.util.generateId(),
      topic: instrument.instrumentId,
      instrumentId: instrument.instrumentId,
      ...(hubMessageId ? { hubMessageId } : {}),
    });

    const errorMsg = (error: AstmDeliveryError, hubMessageId?: string): Msg => ({ ...base(hubMessageId), payload: { ...error }, error: { ...error } });

    const deliver = (d: AstmDelivery): void => {
      const out: [Msg | null, Msg | null, Msg[] | null, Msg[] | null] = [null, null, null, null];
      if (d.results.length > 0) {
        out[0] = {
          ...base(d.id),
          payload: d.fhir,
          observations: d.observations,
          oru: d.oru,
          results: d.results,
          controlId: d.controlId,
          ...(d.patientId ? { patientId: d.patientId } : {}),
          astm: { text: d.text, records: d.records, message: d.message, receivedAt: d.receivedAt },
        };
      }
      // QC: the results only (they carry no patient); the raw message may hold patient records too.
      if (d.qc.length > 0) out[1] = { ...base(d.id), payload: d.qc, qc: d.qc, controlId: d.controlId };
      if (d.queries.length > 0) {
        out[2] = d.queries.map((q) => ({
          ...base(d.id),
          payload: q.query,
          query: q.query,
          controlId: d.controlId,
          _astmQuery: { instrument: instrument.id, id: q.id, hubMessageId: d.id } satisfies AstmQueryHandle,
        }));
      }
      if (d.errors.length > 0) out[3] = d.errors.map((e) => errorMsg(e, d.id));
      node.send(out);
      if (d.errors[0]) {
        showingError = true;
        setStatus(node, 'error', RED._('astm-in.status.error', { code: d.errors[0].code }));
      } else if (showingError) {
        showingError = false;
        instrument.refreshStatus(node);
      }
    };

    instrument.register(node, {
      delivery: deliver,
      problem: (p) => {
        node.send([null, null, null, { ...errorMsg(p.error, p.hubMessageId), ...(p.queryId ? { queryId: p.queryId } : {}) }]);
      },
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      instrument
        .deregister(node)
        .catch((err: unknown) => node.warn(RED._('astm-in.errors.close', { name: (err as Error)?.name ?? 'Error' })))
        .finally(done);
    });
  }
  RED.nodes.registerType('astm-in', AstmIn);
};
