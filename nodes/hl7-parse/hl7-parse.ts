import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { batchMessages, decodeHl7Buffer, get, isBatch, messageInfo, parse, parseBatch, type Hl7Message } from '../../adapters/hl7';
import { hl7Parties } from '../../adapters/hl7-send';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import { setStatus } from '../shared/status';
import { fieldView } from './field-view';

interface Hl7ParseDef extends NodeDef {
  /** Turn parse warnings (bad segment IDs, segments run together) into errors. */
  strict: boolean;
  /** Accept a missing terminator after the last segment. */
  allowUnterminated: boolean;
  /** Also set msg.hl7Fields, the field-named display view. */
  fieldView: boolean;
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Parses msg.payload (HL7 text, or bytes decoded per MSH-18) into msg.hl7
 * and lifts the header facts other nodes use (msg.messageType, controlId,
 * sender, receiver, patientId). A batch file becomes one msg per message.
 */
export = function init(RED: NodeAPI): void {
  function Hl7Parse(this: Node, def: Hl7ParseDef): void {
    RED.nodes.createNode(this, def);
    const options = { strict: def.strict === true, allowUnterminated: def.allowUnterminated !== false };
    let parsed = 0;

    const annotate = (msg: Msg, message: Hl7Message): Msg => {
      const info = messageInfo(message);
      msg.hl7 = message;
      msg.messageType = info.messageType;
      msg.controlId = info.controlId;
      const parties = hl7Parties(message);
      msg.sender = parties.sender;
      msg.receiver = parties.receiver;
      const patientId = get(message, 'PID-3[1].1');
      if (patientId) msg.patientId = patientId;
      else delete msg.patientId;
      if (def.fieldView) msg.hl7Fields = fieldView(message);
      return msg;
    };

    this.on('input', (msg: Msg, send, done) => {
      let text: string;
      let messages: Hl7Message[];
      try {
        const payload = msg.payload;
        if (Buffer.isBuffer(payload)) text = decodeHl7Buffer(payload);
        else if (typeof payload === 'string') text = payload;
        else throw new IntegrationError(RED._('hl7-parse.errors.not-text'), 'PARSE', false);
        messages = isBatch(text) ? batchMessages(parseBatch(text, options)) : [parse(text, options)];
      } catch (err) {
        setStatus(this, 'error', RED._('hl7-parse.status.error', { code: errorCode(err) }));
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      parsed += messages.length;
      setStatus(this, 'connected', RED._('hl7-parse.status.parsed', { count: parsed }));
      if (messages.length === 1) {
        send(annotate(msg, messages[0]!));
      } else {
        const count = messages.length;
        send([messages.map((message, index) => annotate({ ...(RED.util.cloneMessage(msg) as Msg), batch: { index, count } }, message))]);
      }
      done();
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      setStatus(this, 'idle');
      done();
    });
  }
  RED.nodes.registerType('hl7-parse', Hl7Parse);
};
