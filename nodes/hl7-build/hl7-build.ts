import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { isHl7Message } from '../../adapters/hl7-send';
import { decodeHl7Buffer, messageInfo, parse, parsePath, serialize, set, setRaw, type Hl7Message } from '../../adapters/hl7';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import { setStatus } from '../shared/status';
import { hl7Timestamp, newControlId } from './generated-values';

/** One "set field" rule as the editor stores it. */
interface BuildRule {
  /** HL7 path, e.g. `PID-5[1].1`, `MSH-10`, `OBX[2]-5`. */
  p: string;
  /** Value type: str, num, msg, flow, global, env, jsonata, date, or the generated hl7ctrl / hl7now. */
  vt: string;
  v: string;
  /** Set as encoded text (its ^ ~ & stay delimiters) instead of a plain value. */
  enc?: boolean;
}

interface Hl7BuildDef extends NodeDef {
  /** `msg`: msg.hl7, else msg.payload text; `template`: the node's template. */
  source: 'msg' | 'template';
  template: string;
  rules: BuildRule[];
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Builds or changes an HL7 message: starts from msg.hl7, msg.payload or a
 * template, applies the rules in order (like a change node, with HL7 paths
 * as targets), and outputs msg.hl7 plus its text in msg.payload.
 */
export = function init(RED: NodeAPI): void {
  function Hl7Build(this: Node, def: Hl7BuildDef): void {
    RED.nodes.createNode(this, def);
    const rules = Array.isArray(def.rules) ? def.rules : [];
    const configProblem = validate(def, rules);
    if (configProblem) {
      this.error(RED._('hl7-build.errors.config', { reason: configProblem }));
      setStatus(this, 'error', RED._('hl7-build.status.error', { code: 'CONFIG' }));
    }

    const evaluate = (rule: BuildRule, index: number, msg: Msg): Promise<unknown> => {
      if (rule.vt === 'hl7ctrl') return Promise.resolve(newControlId());
      if (rule.vt === 'hl7now') return Promise.resolve(hl7Timestamp(new Date()));
      return new Promise((resolve, reject) => {
        RED.util.evaluateNodeProperty(rule.v, rule.vt, this, msg, (err: Error | null | undefined, value: unknown) => {
          // JSONata messages can quote the data they ran on: report only the rule and the code.
          if (err) reject(ruleError(index, rule, `${rule.vt} evaluation failed (${errorCode(err)})`));
          else resolve(value);
        });
      });
    };

    const build = async (msg: Msg): Promise<Hl7Message> => {
      const message = start(msg);
      for (const [index, rule] of rules.entries()) {
        const value = text(await evaluate(rule, index, msg), index, rule);
        if (rule.enc) setRaw(message, rule.p, value);
        else set(message, rule.p, value);
      }
      return message;
    };

    const start = (msg: Msg): Hl7Message => {
      if (def.source === 'template') return withCrTerminators(parse(def.template, { allowUnterminated: true }));
      // A copy: the rules must not reach back into a message another branch still holds.
      if (isHl7Message(msg.hl7)) return structuredClone(msg.hl7);
      if (typeof msg.payload === 'string') return parse(msg.payload, { allowUnterminated: true });
      if (Buffer.isBuffer(msg.payload)) return parse(decodeHl7Buffer(msg.payload), { allowUnterminated: true });
      throw new IntegrationError(RED._('hl7-build.errors.no-source'), 'PARSE', false);
    };

    this.on('input', (msg: Msg, send, done) => {
      if (configProblem) {
        done(new IntegrationError(RED._('hl7-build.errors.config', { reason: configProblem }), 'CONFIG', false));
        return;
      }
      build(msg).then(
        (message) => {
          const info = messageInfo(message);
          msg.hl7 = message;
          msg.payload = serialize(message);
          msg.controlId = info.controlId;
          msg.messageType = info.messageType;
          setStatus(this, 'idle');
          send(msg);
          done();
        },
        (err: unknown) => {
          setStatus(this, 'error', RED._('hl7-build.status.error', { code: errorCode(err) }));
          done(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      setStatus(this, 'idle');
      done();
    });
  }
  RED.nodes.registerType('hl7-build', Hl7Build);
};

/** Problems a deploy can already see; undefined when there are none. Names rules and paths, never values. */
function validate(def: Hl7BuildDef, rules: BuildRule[]): string | undefined {
  if (def.source === 'template') {
    if (!def.template?.trim()) return 'the template is empty';
    try {
      parse(def.template, { allowUnterminated: true });
    } catch (err) {
      return `the template is not HL7 (${err instanceof Error ? err.message : 'parse error'})`;
    }
  }
  for (const [index, rule] of rules.entries()) {
    try {
      if (parsePath(rule.p).field === undefined) return `rule ${index + 1}: "${rule.p}" names a segment, not a field`;
    } catch (err) {
      return `rule ${index + 1}: ${err instanceof Error ? err.message : 'bad path'}`;
    }
    if (rule.vt === 'jsonata' && !rule.v?.trim()) return `rule ${index + 1}: empty JSONata expression`;
  }
  return undefined;
}

function text(value: unknown, index: number, rule: BuildRule): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return hl7Timestamp(value);
  const kind = value === undefined ? 'undefined' : value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw ruleError(index, rule, `value is ${kind}; expected text, a number or a date`);
}

function ruleError(index: number, rule: BuildRule, problem: string): IntegrationError {
  return new IntegrationError(`hl7 build rule ${index + 1} (${rule.p}): ${problem}`, 'CONFIG', false);
}

/** Template text typed in the editor has LF line ends; HL7 wants CR after every segment. */
function withCrTerminators(message: Hl7Message): Hl7Message {
  return { ...message, lineEnding: '\r', segments: message.segments.map((s) => ({ fields: s.fields })) };
}
