import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { AckCode, AckError, AckSeverity } from '../../adapters/hl7';
import { Hl7AckNotPendingError, Hl7IntakeConfigError } from '../../adapters/hl7-intake';
import { errorCode } from '../../adapters/shared/errors';
import type { MllpListenerNode } from '../mllp-listener/types';
import { setStatus } from '../shared/status';

interface Hl7AckDef extends NodeDef {
  /** AA, AE, AR, or `msg` to take msg.ackCode. */
  ackCode: AckCode | 'msg';
  /** Table 0357 code for the ERR segment of AE/AR; blank: 207. */
  errorCode: string;
  /** ERR-8 text sent back to the sender. It leaves the hub: say what is wrong, not what the data was. */
  errorText: string;
}

const CODES: readonly string[] = ['AA', 'AE', 'AR'];
const SEVERITIES: readonly string[] = ['E', 'W', 'I', 'F'];

/**
 * Manual ack mode: answers the sender of a msg that came from mllp-in. The
 * msg carries an opaque handle (msg._hl7ack) that the listener looks up; the
 * first answer wins. Messages whose answer is not up to the flow (after-commit,
 * after-processing, enhanced-mode commit ACKs) pass through with
 * msg.hl7Ack.sent = false.
 */
export = function init(RED: NodeAPI): void {
  function Hl7Ack(this: Node, def: Hl7AckDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let answered = 0;

    node.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      const handle = readHandle(msg._hl7ack);
      if (!handle) {
        setStatus(node, 'error', RED._('hl7-ack.status.error', { code: 'CONFIG' }));
        done(new Hl7AckNotPendingError('no-handle'));
        return;
      }
      const code = def.ackCode === 'msg' || !def.ackCode ? msg.ackCode : def.ackCode;
      if (typeof code !== 'string' || !CODES.includes(code)) {
        setStatus(node, 'error', RED._('hl7-ack.status.error', { code: 'CONFIG' }));
        done(new Hl7IntakeConfigError(RED._('hl7-ack.errors.bad-code')));
        return;
      }
      const listener = RED.nodes.getNode(handle.listener) as MllpListenerNode | null;
      const outcome = listener && typeof listener.respond === 'function' ? listener.respond(handle.id, code as AckCode, errorsFor(code as AckCode, def, msg.ackErrors)) : 'unknown';
      if (outcome === 'sent' || outcome === 'not-awaited') {
        msg.hl7Ack = { code, sent: outcome === 'sent' };
        if (outcome === 'sent') answered++;
        setStatus(node, 'connected', RED._('hl7-ack.status.answered', { count: answered }));
        send(msg);
        done();
        return;
      }
      const error = new Hl7AckNotPendingError(outcome, handle.id);
      setStatus(node, 'error', RED._('hl7-ack.status.error', { code: errorCode(error) }));
      done(error);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      setStatus(node, 'idle');
      done();
    });
  }
  RED.nodes.registerType('hl7-ack', Hl7Ack);
};

function readHandle(value: unknown): { listener: string; id: string } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { listener, id } = value as { listener?: unknown; id?: unknown };
  return typeof listener === 'string' && typeof id === 'string' ? { listener, id } : undefined;
}

/**
 * msg.ackErrors (an array of {code, text?, location?, severity?}) when given;
 * otherwise one ERR from the node's settings for AE/AR (207 by default).
 */
function errorsFor(code: AckCode, def: Hl7AckDef, fromMsg: unknown): AckError[] {
  if (Array.isArray(fromMsg)) {
    return fromMsg.flatMap((e: unknown): AckError[] => {
      if (!e || typeof e !== 'object') return [];
      const { code: c, text, location, severity } = e as Record<string, unknown>;
      const n = Number(c);
      if (!Number.isInteger(n) || n < 0) return [];
      const out: AckError = { code: n };
      if (typeof text === 'string') out.text = text;
      if (typeof location === 'string') out.location = location;
      if (typeof severity === 'string' && SEVERITIES.includes(severity)) out.severity = severity as AckSeverity;
      return [out];
    });
  }
  if (code === 'AA') return [];
  const n = Number(def.errorCode);
  return [{ code: def.errorCode && Number.isInteger(n) && n >= 0 ? n : 207, ...(def.errorText ? { text: def.errorText } : {}) }];
}
