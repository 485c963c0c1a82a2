import { get, parse } from '../hl7';
import { CANARY_MRN } from '../../test/fixtures/canary';
import { monitoringOrderBundle } from '../../test/fixtures/fhir-orders';
import { ordersFromServiceRequests } from './fhir-orders';
import { ormFromOrders } from './orm-from-orders';
import { orderMessageType, ordersFromHl7 } from './pending-orders';

type Json = Record<string, unknown>;

function fhirOrders(status = 'active'): ReturnType<typeof ordersFromServiceRequests> {
  const bundle = monitoringOrderBundle('S26-000888', status);
  const entries = (bundle.entry as { resource: Json }[]).map((e) => e.resource);
  const resources = Object.fromEntries(entries.filter((r) => r.resourceType !== 'ServiceRequest').map((r) => [`${String(r.resourceType)}/${String(r.id)}`, r]));
  return ordersFromServiceRequests({ serviceRequests: entries.filter((r) => r.resourceType === 'ServiceRequest'), resources });
}

describe('ormFromOrders', () => {
  test('FHIR orders become an ORM^O01 that reads back as the same orders', () => {
    const orders = fhirOrders();
    const text = ormFromOrders(orders, { sourceId: 'evt-o1', now: new Date('2026-12-04T12:00:00Z') })!;
    const message = parse(text);
    expect(orderMessageType(message)).toBeTruthy();
    expect(text.split('\r')[0]).toMatch(/^MSH\|\^~\\&\|IVFHUB\|\|LIS\|\|20261204120000\+0000\|\|ORM\^O01\^ORM_O01\|[0-9A-F]{20}\|P\|2\.5\.1$/);
    expect(ordersFromHl7(message)).toEqual(orders);
    expect(ordersFromHl7(message).orders[0]!.patient?.id).toBe(CANARY_MRN);
  });

  test('the same event always has the same control id; another event another one', () => {
    const msh10 = (sourceId: string): string => ormFromOrders(fhirOrders(), { sourceId })!.split('\r')[0]!.split('|')[9]!;
    expect(msh10('evt-o1')).toBe(msh10('evt-o1'));
    expect(msh10('evt-o1')).not.toBe(msh10('evt-o2'));
  });

  test('a cancel is ORC-1 CA for the specimen; nothing to say is no message', () => {
    const cancelled = fhirOrders('revoked');
    const text = ormFromOrders(cancelled, { sourceId: 'evt-c' })!;
    expect(ordersFromHl7(parse(text))).toEqual({ orders: [], cancelled: ['S26-000888'] });
    expect(ormFromOrders({ orders: [], cancelled: [] }, { sourceId: 'x' })).toBeUndefined();
  });

  test('as OML^O21 each OBR is followed by its specimen (SPM-2.2 the id, SPM-4 serum, SPM-17 collected), and it reads back as the same orders', () => {
    const orders = fhirOrders();
    const text = ormFromOrders(orders, { sourceId: 'evt-o1', messageType: 'OML^O21', now: new Date('2026-12-04T12:00:00Z') })!;
    const message = parse(text);
    expect(orderMessageType(message)).toBe('OML^O21');
    expect(text.split('\r')[0]).toContain('|OML^O21^OML_O21|');
    const ids = message.segments.map((seg) => seg.fields[0]);
    // OML_O21 v2.5.1: ORDER = ORC, OBSERVATION REQUEST = OBR [SPECIMEN = SPM].
    const groups = ids.slice(ids.indexOf('ORC'));
    expect(groups.join(' ')).toMatch(/^(ORC OBR SPM ?)+$/);
    const spm = message.segments.find((seg) => seg.fields[0] === 'SPM')!;
    const order = orders.orders[0]!;
    expect(get(message, 'SPM-2.2')).toBe(order.specimenId);
    expect(get(message, 'SPM-4.1')).toBe('SER');
    expect(spm.fields[17] ?? '').toBe(order.collectedAt ?? '');
    expect(ordersFromHl7(message)).toEqual(orders);
    // The same orders as the ORM, and the same control id for the same event.
    expect(ordersFromHl7(message)).toEqual(ordersFromHl7(parse(ormFromOrders(orders, { sourceId: 'evt-o1' })!)));
    expect(text.split('\r')[0]!.split('|')[9]).toBe(ormFromOrders(orders, { sourceId: 'evt-o1' })!.split('\r')[0]!.split('|')[9]);
  });

  test('an OML^O21 cancel names the specimen in SPM too', () => {
    const text = ormFromOrders(fhirOrders('revoked'), { sourceId: 'evt-c', messageType: 'OML^O21' })!;
    const message = parse(text);
    expect(get(message, 'SPM-2.2')).toBe('S26-000888');
    expect(ordersFromHl7(message)).toEqual({ orders: [], cancelled: ['S26-000888'] });
  });
});
