import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AstmClient, AstmServer, buildQueryResponse, fieldRepeats, fieldValue } from '../../adapters/astm';
import type { AstmHostQuery, AstmOrderInput, AstmQueryHandler } from '../../adapters/astm';
import { CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { AnalyzerSimulator } from './analyzer-simulator';
import { loadPlayback, recordsPlayback } from './playback';

/**
 * Host query round trip over real loopback sockets: the analyzer asks
 * (H, Q, L), the hub's query handler answers, and the analyzer receives the
 * orders (H, P, O.., L) in a new session that the hub opens as the E1381
 * host once the analyzer's session is over.
 */
const CORPUS_QUERY = join(process.env.ASTM_CORPUS_DIR ?? '/work/shared/corpus/astm', 'siemens_immulite_dpc_host_query.astm');
const IMMULITE_QUERY = 'H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|19940407120613\rQ|1|^123ABC||ALL||||||||O\rL|1\r';

const ORDERS: Record<string, AstmOrderInput> = {
  '123ABC': { specimenId: '123ABC', tests: ['E2', 'LH', 'PGSN'], patient: { id: CANARY_MRN, name: { family: CANARY_NAME.split('^')[0]!, given: CANARY_NAME.split('^')[1]! } } },
};

function answering(asked: AstmHostQuery[], options: Parameters<typeof buildQueryResponse>[2]): AstmQueryHandler {
  return async (query) => {
    asked.push(query);
    const orders = query.specimenIds.flatMap((id) => (ORDERS[id] ? [ORDERS[id]!] : []));
    return buildQueryResponse(query, orders, options);
  };
}

test('IMMULITE host query (corpus file) via AstmServer: the analyzer receives its orders', async () => {
  const asked: AstmHostQuery[] = [];
  const delivered: string[] = [];
  const server = new AstmServer({ port: 0, onQuery: answering(asked, { sender: 'IVF-HUB', oneTestPerOrder: true }) }, (m) => void delivered.push(m.text));
  await server.listen();
  const sim = new AnalyzerSimulator({ port: server.port! });
  await sim.start();
  const playback = existsSync(CORPUS_QUERY) ? loadPlayback(CORPUS_QUERY) : recordsPlayback('immulite-query', IMMULITE_QUERY);
  const played = await sim.play(playback);
  expect(played.ok).toBe(true);
  await sim.waitForReceived(1, 10_000);

  expect(asked).toHaveLength(1);
  expect(asked[0]).toMatchObject({ specimenIds: ['123ABC'], allTests: true, requestStatus: 'O' });
  expect(delivered).toHaveLength(1); // the query itself reaches the handler (and the store)
  const answer = sim.received[0]!.message;
  const d = answer.delimiters;
  expect(answer.records.map((r) => r.type).join('')).toBe('HPOOOL');
  expect(fieldValue(answer.patients[0]!.record!, 3, d)).toBe(CANARY_MRN);
  const orders = answer.patients[0]!.orders.map((o) => o.record!);
  expect(orders.map((o) => fieldValue(o, 3, d))).toEqual(['123ABC', '123ABC', '123ABC']);
  expect(orders.map((o) => fieldValue(o, 5, d, 4))).toEqual(['E2', 'LH', 'PGSN']);
  expect(orders.map((o) => fieldValue(o, 26, d))).toEqual(['Q', 'Q', 'Q']);
  await sim.close();
  await server.close();
});

test('cobas e411-style query via AstmClient to an analyzer behind a terminal-server port: unknown specimen answered without tests', async () => {
  const asked: AstmHostQuery[] = [];
  const sim = new AnalyzerSimulator({ mode: 'server', port: 0 });
  await sim.start();
  const client = new AstmClient(
    { host: '127.0.0.1', port: sim.port!, query: { specimenIdComponent: 3 }, onQuery: answering(asked, { sender: ['host', '1'], receiver: 'cobas-e411', headerComment: ['TSDWN', 'REPLY'], answerUnknownSpecimens: true }) },
    () => undefined,
  );
  const connected = new Promise((resolve) => client.once('connected', resolve));
  client.start();
  await connected;
  const query = 'H|\\^&|||cobas-e411^1|||||host|TSREQ^REAL|P|1\rQ|1|^^000004^40^0^5^^S1^SC\\^^123ABC^41^0^6^^S1^SC||ALL||||||||O\rL|1|N\r';
  const played = await sim.play(recordsPlayback('e411-query', query));
  expect(played.ok).toBe(true);
  await sim.waitForReceived(1, 10_000);

  expect(asked[0]!.specimenIds).toEqual(['000004', '123ABC']);
  const answer = sim.received[0]!.message;
  const d = answer.delimiters;
  const orders = answer.patients.flatMap((p) => p.orders.map((o) => o.record!));
  expect(orders.map((o) => fieldValue(o, 3, d))).toEqual(['123ABC', '000004']);
  expect(fieldRepeats(orders[0]!, 5, d).map((r) => r[3])).toEqual(['E2', 'LH', 'PGSN']);
  // The unknown specimen: no tests, its rack/position echoed in O.4.
  expect(fieldRepeats(orders[1]!, 5, d)).toEqual([]);
  expect(fieldRepeats(orders[1]!, 4, d)).toEqual([['40', '0', '5', '', 'S1', 'SC']]);
  await client.close();
  await sim.close();
});
