/**
 * The flow the hub runs in `bench:mllp`: the HL7 intake tab as the reference
 * flow first shipped it (mllp-listener after commit with a 5-minute duplicate
 * window and enhanced ACKs, mllp-in, a switch routing by type to link-outs,
 * inactive debug nodes). Kept here rather than read from flows/ so that the
 * benchmark keeps measuring the intake: the reference flows now route
 * ORU^R01 on into the lab-results pipeline (queue, patient match, EMR), whose
 * cost would swamp what this benchmark is about and change with every flow edit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const debug = (id: string, name: string, y: number): Record<string, unknown> => ({
  id, type: 'debug', z: 'bench0000000001', name, active: false, tosidebar: true, console: false, tostatus: false,
  complete: '{"messageType": messageType, "controlId": controlId}', targetType: 'jsonata', statusVal: '', statusType: 'auto', x: 630, y, wires: [],
});

const FLOW: Record<string, unknown>[] = [
  { id: 'bench0000000001', type: 'tab', label: 'HL7 intake (bench)', disabled: false, info: '' },
  {
    id: 'bench0000000002', type: 'mllp-listener', name: 'hl7-intake', host: '${HUB_BIND}', port: '${HUB_MLLP_PORT}', endpoint: 'hl7-intake',
    ackMode: 'after-commit', processingTimeoutMs: '15000', duplicateWindowMs: '300000', enhancedAcks: true, charset: '', maxFrameBytes: '1048576',
    idleTimeoutMs: '0', maxConnections: '', allowedPeers: '', tls: false, requireClientCert: false, keyFile: '', certFile: '', caFile: '',
  },
  { id: 'bench0000000003', type: 'mllp-in', z: 'bench0000000001', name: 'HL7 in', listener: 'bench0000000002', x: 130, y: 120, wires: [['bench0000000004']] },
  {
    id: 'bench0000000004', type: 'switch', z: 'bench0000000001', name: 'route by type', property: 'messageType', propertyType: 'msg',
    rules: [{ t: 'eq', v: 'ORU^R01', vt: 'str' }, { t: 'regex', v: '^ADT\\^', vt: 'str', case: false }, { t: 'else' }],
    checkall: 'false', repair: false, outputs: 3, x: 330, y: 120,
    wires: [['bench0000000005', 'bench0000000008'], ['bench0000000006', 'bench0000000009'], ['bench0000000007', 'bench000000000a']],
  },
  { id: 'bench0000000005', type: 'link out', z: 'bench0000000001', name: 'results (ORU^R01)', mode: 'link', links: [], x: 590, y: 60, wires: [] },
  { id: 'bench0000000006', type: 'link out', z: 'bench0000000001', name: 'ADT', mode: 'link', links: [], x: 570, y: 120, wires: [] },
  { id: 'bench0000000007', type: 'link out', z: 'bench0000000001', name: 'other types', mode: 'link', links: [], x: 580, y: 180, wires: [] },
  debug('bench0000000008', 'ORU^R01 (type, control id)', 240),
  debug('bench0000000009', 'ADT (type, control id)', 300),
  debug('bench000000000a', 'other (type, control id)', 360),
  { id: 'bench000000000b', type: 'catch', z: 'bench0000000001', name: 'flow errors', scope: null, uncaught: false, x: 130, y: 420, wires: [['bench000000000c']] },
  { ...debug('bench000000000c', 'error (node, control id)', 420), active: true, complete: '{"node": error.source.id, "messageType": messageType, "controlId": controlId}' },
];

/** A flows directory (HUB_FLOWS_DIR) holding only the bench intake flow. */
export function hubIntakeFlowsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-flows-'));
  writeFileSync(join(dir, 'hl7-intake.json'), JSON.stringify(FLOW, null, 2));
  return dir;
}
