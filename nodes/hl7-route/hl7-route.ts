import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { isHl7Message } from '../../adapters/hl7-send';
import { decodeHl7Buffer, parse, type Hl7Message } from '../../adapters/hl7';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import { setStatus } from '../shared/status';
import { compileRule, route, type RouteMatcher, type RouteRuleDef } from './route-rules';

interface Hl7RouteDef extends NodeDef {
  rules: RouteRuleDef[];
  mode: 'first' | 'all';
  otherwise: boolean;
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Routes HL7 messages to one output per rule (message type with wildcards,
 * sending application or facility, or any path), by first or all matches,
 * with an optional "otherwise" output. Reads msg.hl7, or parses msg.payload
 * (and sets msg.hl7) when there is none.
 */
export = function init(RED: NodeAPI): void {
  function Hl7Route(this: Node, def: Hl7RouteDef): void {
    RED.nodes.createNode(this, def);
    const rules = Array.isArray(def.rules) ? def.rules : [];
    const options = { mode: def.mode === 'all' ? ('all' as const) : ('first' as const), otherwise: def.otherwise === true };
    const outputs = rules.length + (options.otherwise ? 1 : 0);
    const matchers: RouteMatcher[] = [];
    let configProblem: string | undefined;
    for (const [index, rule] of rules.entries()) {
      try {
        matchers.push(compileRule(rule));
      } catch (err) {
        configProblem = `rule ${index + 1}: ${err instanceof Error ? err.message : String(err)}`;
        break;
      }
    }
    if (configProblem) {
      this.error(RED._('hl7-route.errors.config', { reason: configProblem }));
      setStatus(this, 'error', RED._('hl7-route.status.error', { code: 'CONFIG' }));
    }

    let showingError = false;

    this.on('input', (msg: Msg, send, done) => {
      if (configProblem) {
        done(new IntegrationError(RED._('hl7-route.errors.config', { reason: configProblem }), 'CONFIG', false));
        return;
      }
      let message: Hl7Message;
      try {
        message = messageOf(msg);
      } catch (err) {
        setStatus(this, 'error', RED._('hl7-route.status.error', { code: errorCode(err) }));
        showingError = true;
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const hits = route(matchers, message, options);
      if (hits.length > 0) {
        const out: Array<NodeMessage | null> = new Array<NodeMessage | null>(outputs).fill(null);
        // Node-RED clones the msg for every output after the first.
        for (const index of hits) out[index] = msg;
        send(out);
      }
      if (showingError) {
        setStatus(this, 'idle');
        showingError = false;
      }
      done();
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      setStatus(this, 'idle');
      done();
    });

    function messageOf(msg: Msg): Hl7Message {
      if (isHl7Message(msg.hl7)) return msg.hl7;
      let text: string | undefined;
      if (typeof msg.payload === 'string') text = msg.payload;
      else if (Buffer.isBuffer(msg.payload)) text = decodeHl7Buffer(msg.payload);
      if (text === undefined) throw new IntegrationError(RED._('hl7-route.errors.no-message'), 'PARSE', false);
      const parsed = parse(text, { allowUnterminated: true });
      msg.hl7 = parsed;
      return parsed;
    }
  }
  RED.nodes.registerType('hl7-route', Hl7Route);
};
