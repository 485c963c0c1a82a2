import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { AstmHostQuery } from '../../adapters/astm';
import { parse } from '../../adapters/hl7';
import type { Hl7Message } from '../../adapters/hl7';
import { orderMessageType, ordersFromHl7, ordersFromServiceRequests, ormFromOrders, PendingOrderStore, resultsBySpecimen } from '../../adapters/lab';
import type { LisOrderMessageType } from '../../adapters/lab';
import type { FhirOrderInput, OrdersFromHl7, ResultObservation } from '../../adapters/lab';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import { setStatus } from '../shared/status';

interface PendingOrdersDef extends NodeDef {
  /** `save`: keep the orders of an ORM/OML; `answer`: orders for astm-in's host query; `complete`: close orders by their results. */
  mode: 'save' | 'answer' | 'complete';
  /** JSON: EMR test code (or LOINC) → instrument test code. */
  tests: string;
  /** save: FHIR order events also become an order message for the LIS in msg.payload. */
  lisOrm?: boolean;
  /** Which order message: ORM^O01 (default, and for flows made before the choice) or OML^O21. */
  lisMessage?: string;
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Pending lab orders, kept durably in the hub's message store by specimen id.
 *
 * - save: an ORM^O01 / OML^O21 (msg.hl7 or msg.payload), or an EMR
 *   `order.placed` / `order.changed` event of FHIR ServiceRequests (emr in's
 *   msg.emrEvent) → its orders are stored, then the msg goes on with
 *   msg.orders (for an analyzer download) and msg.cancelled; msg.payload is
 *   untouched (to forward to the LIS).
 * - answer: astm-in's host query (msg.query) → msg.orders, the pending
 *   orders of the specimens asked for; none means astm-out answers "no information".
 * - complete: results (msg.observations, FHIR Observations from astm-in or
 *   lab-normalize) → the orders they finish are closed (msg.ordersCompleted),
 *   partly finished ones keep only the tests still to do (msg.ordersOutstanding).
 */
export = function init(RED: NodeAPI): void {
  function PendingOrders(this: Node, def: PendingOrdersDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const mode = def.mode === 'answer' || def.mode === 'complete' ? def.mode : 'save';
    const messageType: LisOrderMessageType = def.lisMessage === 'OML^O21' ? 'OML^O21' : 'ORM^O01';
    let tests: Record<string, string> | undefined;
    try {
      tests = def.tests && def.tests.trim() !== '' ? (JSON.parse(def.tests) as Record<string, string>) : undefined;
      if (tests !== undefined && (typeof tests !== 'object' || tests === null || Array.isArray(tests))) throw new Error('tests');
    } catch {
      node.error(RED._('pending-orders.errors.tests'));
      setStatus(node, 'error', RED._('pending-orders.status.error', { code: 'CONFIG' }));
      return;
    }
    let count = 0;

    const handle = async (msg: Msg): Promise<void> => {
      const store = new PendingOrderStore(getHubServices().store);
      if (mode === 'answer') {
        const query = msg.query as AstmHostQuery | undefined;
        if (!query || !Array.isArray(query.specimenIds)) throw new IntegrationError('msg.query is not a host query', 'PARSE', false);
        msg.orders = await store.answer({ specimenIds: query.specimenIds, testIds: Array.isArray(query.testIds) ? query.testIds : [], allTests: query.allTests !== false });
        count += 1;
        setStatus(node, 'connected', RED._('pending-orders.status.answered', { count, orders: (msg.orders as unknown[]).length }));
        return;
      }
      if (mode === 'complete') {
        const observations = Array.isArray(msg.observations) ? msg.observations : Array.isArray(msg.payload) ? msg.payload : undefined;
        if (!observations) throw new IntegrationError('msg.observations is not a list of Observations', 'PARSE', false);
        const outcome = await store.complete(resultsBySpecimen(observations as ResultObservation[]), { hubMessageId: typeof msg.hubMessageId === 'string' ? msg.hubMessageId : undefined, flowId: node.z ?? null, nodeId: node.id });
        msg.ordersCompleted = outcome.completed;
        msg.ordersOutstanding = outcome.outstanding;
        count += outcome.completed.length;
        setStatus(node, 'connected', RED._('pending-orders.status.completed', { count }));
        return;
      }
      const change = ordersOf(msg, tests);
      await store.save(change, { hubMessageId: typeof msg.hubMessageId === 'string' ? msg.hubMessageId : undefined, flowId: node.z ?? null, nodeId: node.id });
      const event = msg.emrEvent as { id?: unknown } | undefined;
      if (def.lisOrm === true && event && typeof event.id === 'string') {
        const orm = ormFromOrders(change, { sourceId: event.id, messageType });
        if (orm !== undefined) msg.payload = orm;
      }
      msg.orders = change.orders;
      msg.cancelled = change.cancelled;
      count += change.orders.length + change.cancelled.length;
      setStatus(node, 'connected', RED._('pending-orders.status.saved', { count }));
    };

    node.on('input', (msg: Msg, send, done) => {
      setStatus(node, 'processing', RED._('pending-orders.status.working'));
      handle(msg).then(
        () => {
          send(msg);
          done();
        },
        (err: unknown) => {
          msg.retryable = err instanceof IntegrationError ? err.retryable : true;
          setStatus(node, 'error', RED._('pending-orders.status.error', { code: errorCode(err) }));
          done(err instanceof IntegrationError ? err : new IntegrationError('pending orders: store failure', 'STORE', true));
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      setStatus(node, 'idle');
      done();
    });
  }
  RED.nodes.registerType('pending-orders', PendingOrders);
};

/** The orders a save-mode msg carries: FHIR ServiceRequests of an EMR order event, else an ORM/OML. */
function ordersOf(msg: Msg, tests: Record<string, string> | undefined): OrdersFromHl7 {
  const options = tests ? { tests } : {};
  const event = msg.emrEvent as { type?: unknown; order?: FhirOrderInput } | undefined;
  if (event && typeof event === 'object') {
    if ((event.type === 'order.placed' || event.type === 'order.changed') && event.order && Array.isArray(event.order.serviceRequests)) {
      return ordersFromServiceRequests(event.order, options);
    }
    throw new IntegrationError('not an EMR order event (order.placed or order.changed)', 'PARSE', false);
  }
  let hl7: Hl7Message;
  try {
    hl7 = msg.hl7 && typeof msg.hl7 === 'object' && Array.isArray((msg.hl7 as Hl7Message).segments) ? (msg.hl7 as Hl7Message) : parse(String(msg.payload ?? ''));
  } catch {
    throw new IntegrationError('the order message could not be read', 'PARSE', false);
  }
  if (!orderMessageType(hl7)) throw new IntegrationError('not an ORM^O01 or OML^O21 message', 'PARSE', false);
  return ordersFromHl7(hl7, options);
}
