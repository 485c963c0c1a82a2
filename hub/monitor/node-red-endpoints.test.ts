import { describe as describeNodes, nodeRedEndpointSource } from './node-red-endpoints';

describe('endpoints from the deployed flows', () => {
  const defs = [
    { id: 'tab1', type: 'tab', label: 'HL7 intake' },
    { id: 'tab2', type: 'tab', label: 'HTTP intake' },
    { id: 'tab3', type: 'tab', label: 'Results out', disabled: true },
    { id: 'L1', type: 'mllp-listener', name: 'hl7-intake', endpoint: 'hl7-intake', port: '${HUB_MLLP_PORT}' },
    { id: 'in1', type: 'mllp-in', z: 'tab1', listener: 'L1' },
    { id: 'h1', type: 'http in', z: 'tab2', url: '/messages', method: 'post' },
    { id: 's1', type: 'store-record', z: 'tab2', endpoint: 'http-intake', direction: 'inbound' },
    { id: 'E1', type: 'mllp-endpoint', name: 'lis', host: 'lis.local', port: '2575' },
    { id: 'out1', type: 'mllp-out', z: 'tab3', endpoint: 'E1' },
    { id: 'A1', type: 'astm-instrument', instrumentId: 'immulite', mode: 'client', host: 'ts.local', port: '4001' },
    { id: 'off', type: 'store-record', z: 'tab1', endpoint: 'never', d: true },
  ];
  const instances: Record<string, unknown> = {
    L1: { boundPort: () => 2575, connectionCount: () => 2, peers: () => [{ remoteAddress: '10.0.0.5', remotePort: 50001, connectedAt: new Date(0) }] },
    E1: { storeName: 'lis', sender: { state: { state: 'disconnected', connected: 0, connections: 2, errorCode: 'ECONNREFUSED' }, pending: 4 } },
    A1: new (class {
      private readonly open = 1;
      connectionCount(): number {
        return this.open;
      }
      peers(): [] {
        return [];
      }
      boundPort(): undefined {
        return undefined;
      }
    })(),
  };

  test('listeners, senders, instruments and store-record endpoints with their flows and state', () => {
    const { flows, endpoints } = describeNodes(defs, (id) => instances[id] ?? null);
    expect(flows).toEqual([
      { id: 'tab1', label: 'HL7 intake', disabled: false },
      { id: 'tab2', label: 'HTTP intake', disabled: false },
      { id: 'tab3', label: 'Results out', disabled: true },
    ]);
    const byName = Object.fromEntries(endpoints.map((e) => [e.name, e]));
    expect(Object.keys(byName).sort()).toEqual(['hl7-intake', 'http-intake', 'immulite', 'lis']);
    expect(byName['hl7-intake']).toMatchObject({ kind: 'mllp-listener', state: 'listening', port: 2575, connections: 2, flowIds: ['tab1'], peers: [{ address: '10.0.0.5', port: 50001, since: '1970-01-01T00:00:00.000Z' }] });
    expect(byName['http-intake']).toMatchObject({ kind: 'store-record', state: 'listening', detail: 'HTTP POST /messages', flowIds: ['tab2'] });
    expect(byName.lis).toMatchObject({ kind: 'mllp-endpoint', direction: 'outbound', state: 'error', detail: 'ECONNREFUSED', pending: 4, flowIds: ['tab3'] });
    // Methods are called on their node (this), as class-based config nodes need.
    expect(byName.immulite).toMatchObject({ kind: 'astm-instrument', state: 'connected', connections: 1 });
  });

  test('a config node that is not running reads as stopped; a probe that throws does not break the list', () => {
    const { endpoints } = describeNodes(defs, (id) => (id === 'L1' ? { boundPort: () => { throw new Error('boom'); }, connectionCount: () => 0 } : null));
    const byName = Object.fromEntries(endpoints.map((e) => [e.name, e]));
    expect(byName['hl7-intake']).toMatchObject({ state: 'connecting', port: null });
    expect(byName.lis!.state).toBe('stopped');
  });

  test('before Node-RED is up the source lists nothing', () => {
    expect(nodeRedEndpointSource(() => undefined).list()).toEqual({ flows: [], endpoints: [] });
  });
});
