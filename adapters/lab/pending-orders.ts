import type { AstmHostQuery, AstmOrderInput } from '../astm';
import { get, segmentGet } from '../hl7';
import type { Hl7Message, Hl7Segment } from '../hl7';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import type { MessageStatus, MessageStore } from '../store';

/** An order the analyzers may ask for: what astm-out sends, plus where it came from. */
export interface PendingOrder extends AstmOrderInput {
  /** The EMR's test codes as ordered (OBR-4), before mapping to instrument codes. */
  orderedCodes: string[];
  /** ORC-2 / OBR-2 placer order number. */
  placerOrder?: string;
}

export interface OrdersFromHl7 {
  /** New or changed orders, one per specimen. */
  orders: PendingOrder[];
  /** Specimen ids whose orders the EMR cancelled (ORC-1 CA, DC, OC). */
  cancelled: string[];
}

export interface OrderMappingOptions {
  /** EMR test code (or LOINC) → instrument test code; a code without an entry is sent as it is. */
  tests?: Record<string, string>;
}

/** HL7 table 0119 order controls that withdraw an order. */
const CANCEL_CONTROLS = new Set(['CA', 'DC', 'OC', 'CR']);

/**
 * Orders of an ORM^O01 or OML^O21 (v2.3–2.5.1), grouped by specimen: the
 * specimen id is SPM-2 (OML), else OBR-3 (filler / accession number), else
 * OBR-2 / ORC-2 (placer). Patient data (PID-3 MRN typed MR, name, birth
 * date, sex) go to the instrument's P record, as the analyzer shows them.
 * @param m - parsed order message
 * @param options - code mapping to instrument test codes
 */
export function ordersFromHl7(m: Hl7Message, options: OrderMappingOptions = {}): OrdersFromHl7 {
  const out: OrdersFromHl7 = { orders: [], cancelled: [] };
  const bySpecimen = new Map<string, PendingOrder>();
  let pid: Hl7Segment | undefined;
  let orc: Hl7Segment | undefined;
  let last: Hl7Segment | undefined;

  const at = (seg: Hl7Segment | undefined, path: string): string => (seg ? (segmentGet(m, seg, path) ?? '') : '');
  const patient = (): PendingOrder['patient'] => {
    if (!pid) return undefined;
    const reps = (pid.fields[3] ?? '').split(m.delimiters.repetition).length;
    let id = '';
    for (let r = 1; r <= reps && !id; r++) if (at(pid, `3[${r}].5`) === 'MR') id = at(pid, `3[${r}].1`);
    id ||= at(pid, '3.1');
    const family = at(pid, '5.1');
    const given = at(pid, '5.2');
    return {
      ...(id ? { id } : {}),
      ...(family ? { name: { family, ...(given ? { given } : {}) } } : {}),
      ...(at(pid, '7') ? { birthDate: at(pid, '7').slice(0, 8) } : {}),
      ...(at(pid, '8') ? { sex: at(pid, '8') } : {}),
    };
  };
  const place = (obr: Hl7Segment, spm: Hl7Segment | undefined): void => {
    const control = (at(orc, '1') || 'NW').toUpperCase();
    const specimenId = [at(spm, '2.2.1'), at(spm, '2.1.1'), at(obr, '3.1'), at(orc, '3.1'), at(obr, '2.1'), at(orc, '2.1')].find((s) => s !== '' && s !== '""');
    if (!specimenId) return;
    if (CANCEL_CONTROLS.has(control)) {
      if (!out.cancelled.includes(specimenId)) out.cancelled.push(specimenId);
      return;
    }
    const code = at(obr, '4.1');
    const alt = at(obr, '4.4');
    const instrumentCode = options.tests?.[code] ?? (alt ? options.tests?.[alt] : undefined) ?? code;
    let order = bySpecimen.get(specimenId);
    if (!order) {
      const priority = (at(obr, '27.6') || at(orc, '7.6') || at(obr, '5')).toUpperCase();
      const p = patient();
      order = {
        specimenId,
        tests: [],
        orderedCodes: [],
        priority: priority === 'S' || priority === 'A' ? priority : 'R',
        ...(at(obr, '7') ? { collectedAt: at(obr, '7').slice(0, 14) } : {}),
        ...(at(obr, '2.1') || at(orc, '2.1') ? { placerOrder: at(obr, '2.1') || at(orc, '2.1') } : {}),
        ...(p ? { patient: p } : {}),
      };
      bySpecimen.set(specimenId, order);
      out.orders.push(order);
    }
    if (code && !order.orderedCodes.includes(code)) order.orderedCodes.push(code);
    if (instrumentCode && !order.tests.includes(instrumentCode)) (order.tests as string[]).push(instrumentCode);
  };

  // The specimen (SPM) of an OML order follows its OBR, so an OBR is placed when the next group starts.
  let pendingSpm: Hl7Segment | undefined;
  const flush = (): void => {
    if (last) place(last, pendingSpm);
    last = undefined;
    pendingSpm = undefined;
  };
  for (const seg of m.segments) {
    const id = seg.fields[0];
    if (id === 'PID') {
      flush();
      pid = seg;
    } else if (id === 'ORC') {
      flush();
      orc = seg;
    } else if (id === 'OBR') {
      flush();
      last = seg;
    } else if (id === 'SPM' && last) {
      pendingSpm ??= seg;
    }
  }
  flush();
  return out;
}

export const PENDING_ORDERS_ENDPOINT = 'pending-orders';
const ORDER_TYPE = 'ORDER';
const CANCEL_TYPE = 'ORDER^CA';
/** Every ordered test of the specimen has a final result (HL7 table 0038 CM, order completed). */
const COMPLETE_TYPE = 'ORDER^CM';

/** The codes a specimen's final results carry: LOINC, the instrument's test code, the LIS's local code. */
export interface SpecimenResults {
  specimenId: string;
  codes: string[];
}

/** What `complete()` did, by specimen id. */
export interface OrderCompletion {
  /** Every ordered test resulted: no longer pending, no longer offered to a host query. */
  completed: string[];
  /** Some tests resulted: still pending, with only the others. */
  outstanding: string[];
}

/** The parts of a FHIR Observation that say which specimen and test it resulted, and whether finally. */
export interface ResultObservation {
  status?: string;
  code?: { coding?: { code?: string }[] };
  specimen?: { identifier?: { value?: string } };
}

/** A preliminary result does not close an order; a final, amended or corrected one does (FHIR Observation.status). */
const FINAL_STATUSES = new Set(['final', 'amended', 'corrected']);

/**
 * Groups results by specimen, keeping only final ones.
 * @param observations - FHIR Observations as astm-in and lab-normalize build them
 */
export function resultsBySpecimen(observations: readonly ResultObservation[]): SpecimenResults[] {
  const bySpecimen = new Map<string, Set<string>>();
  for (const o of observations) {
    const specimenId = o.specimen?.identifier?.value;
    if (!specimenId || !FINAL_STATUSES.has(o.status ?? '')) continue;
    let codes = bySpecimen.get(specimenId);
    if (!codes) bySpecimen.set(specimenId, (codes = new Set()));
    for (const c of o.code?.coding ?? []) if (c.code) codes.add(c.code);
  }
  return [...bySpecimen].map(([specimenId, codes]) => ({ specimenId, codes: [...codes] }));
}

export interface PendingOrderStoreDeps {
  logger?: Logger;
}

/**
 * Pending orders kept in the hub's message store, one record per specimen
 * and change (endpoint `pending-orders`, control id = specimen id, body =
 * the order, encrypted like every body; the MRN only as the store's patient
 * key). The newest record of a specimen wins, so a cancellation or a changed
 * order simply supersedes the earlier one, and the store's index on control
 * ids makes the host-query lookup one indexed read per specimen. Records are
 * kept as `queued` (never pruned while pending).
 */
export class PendingOrderStore {
  private readonly logger: Logger;

  /**
   * @param store - the hub's message store
   * @param deps - logger
   */
  constructor(
    private readonly store: MessageStore,
    deps: PendingOrderStoreDeps = {},
  ) {
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * Keep orders and cancellations; resolves once durable.
   * @param change - orders and cancelled specimen ids
   * @param source - the hub message id of the order message, for tracing
   */
  async save(change: OrdersFromHl7, source?: Source): Promise<number> {
    const writes: OrderWrite[] = [
      ...change.orders.map((o) => ({ specimenId: o.specimenId, type: ORDER_TYPE, patientId: o.patient?.id ?? null, body: JSON.stringify(o), status: 'queued' as const })),
      ...change.cancelled.map((s) => ({ specimenId: s, type: CANCEL_TYPE, patientId: null, body: JSON.stringify({ specimenId: s, cancelled: true }), status: 'filtered' as const })),
    ];
    await Promise.all(writes.map((w) => this.write(w, source)));
    this.logger.debug('pending orders saved', { orders: change.orders.length, cancelled: change.cancelled.length });
    return writes.length;
  }

  /**
   * The pending order of each specimen, in the order asked; specimens with
   * none (never ordered, or cancelled) are left out.
   * @param specimenIds - from a host query
   */
  async lookup(specimenIds: readonly string[]): Promise<PendingOrder[]> {
    const found: PendingOrder[] = [];
    for (const specimenId of specimenIds) {
      const newest = await this.newest(specimenId);
      if (newest) found.push(newest.order);
    }
    return found;
  }

  /**
   * Close orders as their results arrive, so an analyzer that queries a
   * specimen again is not sent tests already done. An order whose tests all
   * have a final result is superseded by a `ORDER^CM` record (status `sent`);
   * one with some resulted is superseded by an order for the others. Either
   * way the superseded order record becomes `sent`, so pending orders do not
   * pile up as `queued`. A test counts as resulted when a result carries its
   * instrument code or the code it was ordered with (OBR-4, e.g. LOINC).
   * Results for a specimen with no pending order, or for none of its tests,
   * change nothing.
   * @param results - from {@link resultsBySpecimen}
   * @param source - the hub message id of the results, for tracing
   */
  async complete(results: readonly SpecimenResults[], source?: Source): Promise<OrderCompletion> {
    const outcome: OrderCompletion = { completed: [], outstanding: [] };
    for (const { specimenId, codes } of results) {
      const newest = await this.newest(specimenId);
      if (!newest || newest.status !== 'queued') continue;
      const { order } = newest;
      const left = remainingTests(order, new Set(codes));
      if (left.tests.length === order.tests.length && left.orderedCodes.length === order.orderedCodes.length) continue;
      const done = left.tests.length === 0 || (order.orderedCodes.length > 0 && left.orderedCodes.length === 0);
      const patientId = order.patient?.id ?? null;
      await this.write(
        done
          ? { specimenId, type: COMPLETE_TYPE, patientId, status: 'sent', body: JSON.stringify({ specimenId, completed: true }) }
          : { specimenId, type: ORDER_TYPE, patientId, status: 'queued', body: JSON.stringify({ ...order, tests: left.tests, orderedCodes: left.orderedCodes }) },
        source,
      );
      await this.store.update(newest.id, { status: 'sent' });
      (done ? outcome.completed : outcome.outstanding).push(specimenId);
    }
    this.logger.debug('pending orders completed', { completed: outcome.completed.length, outstanding: outcome.outstanding.length });
    return outcome;
  }

  /**
   * Orders for a host query: its specimens, each answered with the tests the
   * query asks for when it names some (a query for `ALL` gets every test).
   * @param query - astm-in's parsed query
   */
  async answer(query: Pick<AstmHostQuery, 'specimenIds' | 'testIds' | 'allTests'>): Promise<PendingOrder[]> {
    const orders = await this.lookup(query.specimenIds);
    if (query.allTests || query.testIds.length === 0) return orders;
    return orders.map((o) => ({ ...o, tests: o.tests.filter((t) => query.testIds.includes(t)) })).filter((o) => o.tests.length > 0);
  }

  /** The specimen's newest record when it is an order (not a cancellation or a completion), with the order. */
  private async newest(specimenId: string): Promise<{ id: string; status: MessageStatus; order: PendingOrder } | null> {
    const newest = (await this.store.search({ endpoint: PENDING_ORDERS_ENDPOINT, controlId: specimenId, limit: 1 })).items[0];
    if (!newest || newest.messageType !== ORDER_TYPE) return null;
    const record = await this.store.get(newest.id, { includeBody: true });
    if (!record?.body) return null;
    return { id: newest.id, status: newest.status, order: JSON.parse(record.body.toString('utf8')) as PendingOrder };
  }

  private write(w: OrderWrite, source?: Source): Promise<unknown> {
    return this.store.insert({
      direction: 'inbound',
      endpoint: PENDING_ORDERS_ENDPOINT,
      controlId: w.specimenId,
      messageType: w.type,
      patientId: w.patientId,
      status: w.status,
      contentType: 'application/json',
      parentId: source?.hubMessageId ?? null,
      flowId: source?.flowId ?? null,
      nodeId: source?.nodeId ?? null,
      body: w.body,
    });
  }
}

/** Where a change to pending orders came from, for tracing. */
type Source = { hubMessageId?: string; flowId?: string | null; nodeId?: string | null };

/** One record of a specimen's order history. */
interface OrderWrite {
  specimenId: string;
  type: string;
  patientId: string | null;
  status: 'queued' | 'filtered' | 'sent';
  body: string;
}

/**
 * The tests of an order still without a result. An order's instrument codes
 * and ordered codes are built pairwise (ordersFromHl7), so when the lists are
 * as long as each other a result for either code of a pair settles both.
 */
function remainingTests(order: PendingOrder, resulted: ReadonlySet<string>): Pick<PendingOrder, 'tests' | 'orderedCodes'> {
  const { tests, orderedCodes } = order;
  if (tests.length === orderedCodes.length) {
    const open = tests.map((t, i) => !resulted.has(t) && !resulted.has(orderedCodes[i]!));
    return { tests: tests.filter((_, i) => open[i]), orderedCodes: orderedCodes.filter((_, i) => open[i]) };
  }
  return { tests: tests.filter((t) => !resulted.has(t)), orderedCodes: orderedCodes.filter((c) => !resulted.has(c)) };
}

/** The message type of an order message (`ORM^O01`, `OML^O21`), or undefined. */
export function orderMessageType(m: Hl7Message): string | undefined {
  const t = [get(m, 'MSH-9.1'), get(m, 'MSH-9.2')].join('^');
  return t === 'ORM^O01' || t === 'OML^O21' ? t : undefined;
}
