import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import type { AstmInstrumentNode, AstmQueryHandle } from '../astm-instrument/types';
import type { SendOutcome } from '../astm-instrument/analyzer-link';
import { stringProp } from '../shared/msg-fields';
import { setStatus } from '../shared/status';

interface AstmOutDef extends NodeDef {
  instrument: string;
  /** Whole-message retries of an order download after a retryable failure. */
  retries: string | number;
  retryDelayMs: string | number;
}

type Msg = NodeMessage & Record<string, unknown>;

const DEFAULT_RETRIES = 2;
/** E1381 §6.5.1.2 has a busy receiver retried after 10 s; the same pause suits a whole-message retry. */
const DEFAULT_RETRY_DELAY_MS = 10_000;

/**
 * Sends to the instrument, in a new E1381 session:
 *
 * - a host query answer, when the msg carries msg._astmQuery (from astm-in's
 *   query output): msg.orders (possibly empty: "no information") become the
 *   O records, one attempt (the instrument is waiting, a late retry helps nobody);
 * - otherwise an order download: msg.orders, or E1394 text in msg.payload,
 *   retried as a whole when the failure is retryable and the instrument
 *   cannot have received it.
 *
 * Both are recorded in the store as outbound messages (related to the query).
 * On success msg.astmSent = {hubMessageId, attempts, frames, retransmissions};
 * failures go to done(err) with msg.retryable.
 */
export = function init(RED: NodeAPI): void {
  function AstmOut(this: Node, def: AstmOutDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const instrument = RED.nodes.getNode(def.instrument) as AstmInstrumentNode | null;
    if (!instrument || typeof instrument.register !== 'function') {
      node.error(RED._('astm-out.errors.no-instrument'));
      setStatus(node, 'error', RED._('astm-out.status.error', { code: 'CONFIG' }));
      return;
    }
    instrument.register(node);
    const retries = nonNegative(def.retries, DEFAULT_RETRIES);
    const retryDelayMs = nonNegative(def.retryDelayMs, DEFAULT_RETRY_DELAY_MS);
    let sent = 0;

    const handle = async (msg: Msg, send: (m: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
      const ids = { flowId: node.z ?? null, nodeId: node.id };
      const handleOf = queryHandle(msg._astmQuery);
      setStatus(node, 'processing', RED._('astm-out.status.sending'));
      let outcome: SendOutcome;
      try {
        if (handleOf) {
          if (handleOf.instrument !== instrument.id) throw new IntegrationError(RED._('astm-out.errors.other-instrument'), 'CONFIG', false);
          outcome = await instrument.answerQuery(handleOf.id, Array.isArray(msg.orders) ? msg.orders : ordersMissing(), ids);
        } else {
          const input = Array.isArray(msg.orders) ? msg.orders : typeof msg.payload === 'string' && msg.payload.trim() !== '' ? msg.payload : undefined;
          if (input === undefined) throw new IntegrationError(RED._('astm-out.errors.nothing'), 'PARSE', false);
          outcome = await instrument.sendOrders(input, { parentId: stringProp(msg, 'hubMessageId') ?? null, retries, retryDelayMs, ...ids });
        }
      } catch (err) {
        msg.retryable = err instanceof IntegrationError ? err.retryable : false;
        setStatus(node, 'error', RED._('astm-out.status.error', { code: errorCode(err) }));
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      delete msg.retryable;
      msg.astmSent = { hubMessageId: outcome.id, attempts: outcome.attempts, frames: outcome.report.frames, retransmissions: outcome.report.retransmissions };
      sent++;
      setStatus(node, 'connected', RED._('astm-out.status.sent', { count: sent }));
      send(msg);
      done();
    };

    node.on('input', (msg, send, done) => {
      // handle() settles every path; the catch is the last guard against an escaping rejection.
      handle(msg as Msg, send, done).catch((err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      instrument
        .deregister(node)
        .catch((err: unknown) => node.warn(RED._('astm-out.errors.close', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });

    function ordersMissing(): never {
      throw new IntegrationError(RED._('astm-out.errors.no-orders'), 'PARSE', false);
    }
  }
  RED.nodes.registerType('astm-out', AstmOut);
};

function queryHandle(value: unknown): AstmQueryHandle | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const h = value as Partial<AstmQueryHandle>;
  return typeof h.instrument === 'string' && typeof h.id === 'string' ? (h as AstmQueryHandle) : undefined;
}

function nonNegative(value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === null || String(value).trim() === '') return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}
