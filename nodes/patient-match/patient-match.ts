import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { PatientMatcher, PatientNotFoundError } from '../../adapters/lab';
import type { MatchableObservation } from '../../adapters/lab';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import type { EmrServerNode } from '../emr-server/emr-server-node';
import { envSetting } from '../shared/env-setting';
import { setStatus } from '../shared/status';

interface PatientMatchDef extends NodeDef {
  server: string;
  mrnSystem: string;
  cycle: boolean;
  /** `output`: unmatched results leave on output 2; `retry`: the msg fails (retryable), for a work queue's consumer. */
  unmatched: 'output' | 'retry';
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Binds lab results (msg.payload: FHIR Observations with a patient
 * identifier as subject) to the EMR's Patient, and to the patient's active
 * treatment cycle (EpisodeOfCare) when asked. Output 1: one msg per matched
 * result (msg.payload one Observation, subject `Patient/<id>`, same _msgid);
 * output 2: one msg with the results of unknown (or ambiguous) patients, as they came. An EMR failure fails the msg with its typed error,
 * so the queue in front retries it.
 */
export = function init(RED: NodeAPI): void {
  function PatientMatch(this: Node, def: PatientMatchDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const server = RED.nodes.getNode(def.server) as EmrServerNode | null;
    if (!server) {
      node.error(RED._('patient-match.errors.no-server'));
      setStatus(node, 'error', RED._('patient-match.status.not-configured'));
    } else {
      server.register(node);
      if (!server.fhir) setStatus(node, 'error', RED._('patient-match.status.not-configured'));
    }
    const retryUnmatched = def.unmatched === 'retry';
    let matched = 0;
    let unmatched = 0;

    node.on('input', (msg: Msg, send, done) => {
      const fhir = server?.fhir;
      if (!fhir) {
        setStatus(node, 'error', RED._('patient-match.status.not-configured'));
        // Retryable: the results wait in the queue until the EMR is configured.
        msg.retryable = true;
        done(new IntegrationError('the EMR server is not configured', 'CONFIG', true));
        return;
      }
      const observations = Array.isArray(msg.payload) ? (msg.payload as MatchableObservation[]) : msg.payload && typeof msg.payload === 'object' ? [msg.payload as MatchableObservation] : null;
      if (!observations || observations.some((o) => !o || typeof o !== 'object' || typeof o.resourceType !== 'string')) {
        msg.retryable = false;
        setStatus(node, 'error', RED._('patient-match.status.error', { code: 'PARSE' }));
        done(new IntegrationError('msg.payload is not a FHIR resource or an array of them', 'PARSE', false));
        return;
      }
      setStatus(node, 'processing', RED._('patient-match.status.matching'));
      const matcher = new PatientMatcher(fhir, { mrnSystem: envSetting(def.mrnSystem), cycle: def.cycle === true });
      matcher.match(observations).then(
        (result) => {
          matched += result.matched.length;
          unmatched += result.unmatched.length;
          const text = RED._('patient-match.status.counts', { matched, unmatched });
          setStatus(node, result.unmatched.length > 0 ? 'error' : 'connected', text);
          // One msg per result, each keeping the input's _msgid: a queue-in upstream follows that id
          // and acknowledges only once every result has been written (a split node would give new ids).
          const first = result.matched.length > 0 ? result.matched.map((o, index) => ({ ...msg, payload: o, matched: { index, count: result.matched.length } }) as Msg) : null;
          if (retryUnmatched) {
            send([first, null]);
            if (result.unmatched.length > 0) {
              msg.retryable = true;
              done(new PatientNotFoundError(result.unmatched.length));
            } else done();
            return;
          }
          const second = result.unmatched.length > 0 ? ({ ...msg, payload: result.unmatched, unmatched: { count: result.unmatched.length } } as Msg) : null;
          send([first, second]);
          done();
        },
        (err: unknown) => {
          const code = errorCode(err);
          msg.retryable = err instanceof IntegrationError ? err.retryable : true;
          setStatus(node, 'error', RED._('patient-match.status.error', { code }));
          // The FHIR client's errors name hosts and status codes, never the MRN it searched for.
          done(err instanceof IntegrationError ? err : new IntegrationError('patient lookup failed', 'PROVIDER', true));
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      const finish = (): void => {
        setStatus(node, 'idle');
        done();
      };
      if (!server) return finish();
      server
        .deregister(node)
        .catch(() => undefined)
        .finally(finish);
    });
  }
  RED.nodes.registerType('patient-match', PatientMatch);
};
