import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { InMemoryQueue } from '../../adapters/queue';
import type { NewAuditEntry } from '../../adapters/store/types';
import type { Role } from '../../config/schema';
import { queuesRouter } from './queues-router';

describe('queuesRouter', () => {
  let queue: InMemoryQueue;
  let server: Server;
  let base: string;
  let audit: NewAuditEntry[];

  beforeEach(async () => {
    queue = new InMemoryQueue();
    await queue.declareQueue('lis', { maxAttempts: 1, backoff: { minMs: 1, maxMs: 1, factor: 1, jitter: 0 } });
    audit = [];
    const app = express();
    app.use(express.json());
    app.use((req, _res, next) => {
      const role = (req.headers['x-role'] as Role | undefined) ?? 'operator';
      req.principal = { username: `u-${role}`, role, tokenId: 't1', kind: 'api' };
      next();
    });
    app.use('/api/v1', queuesRouter({ queue, audit: { append: async (e) => void audit.push(e), list: async () => [] }, queueNames: () => ['lis'] }));
    server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });

  afterEach(async () => {
    await new Promise((r) => server.close(r));
    await queue.close();
  });

  async function deadLetter(id: string): Promise<void> {
    await queue.enqueue('lis', { id, body: 'secret-body', key: 'k1' });
    const consumer = await queue.consume('lis', async () => {
      throw Object.assign(new Error('nope'), { retryable: false });
    });
    for (let i = 0; i < 200 && (await queue.stats('lis')).dead < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await consumer.close();
  }

  const call = (method: string, path: string, role: Role, body?: unknown): Promise<Response> =>
    fetch(base + path, { method, headers: { 'content-type': 'application/json', 'x-role': role }, body: body === undefined ? undefined : JSON.stringify(body) });

  test('GET /queues lists stats per declared queue', async () => {
    const res = await call('GET', '/queues', 'viewer');
    expect(res.status).toBe(200);
    const json = (await res.json()) as { items: { queue: string }[] };
    expect(json.items.map((s) => s.queue)).toEqual(['lis']);
  });

  test('lists dead letters without bodies; body read needs messages.body and is audited', async () => {
    await deadLetter('m1');
    const list = (await (await call('GET', '/dead-letters?queue=lis', 'viewer')).json()) as { items: Record<string, unknown>[] };
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ id: 'm1', reason: 'permanent' });
    expect(JSON.stringify(list)).not.toContain('secret-body');

    expect((await call('GET', '/dead-letters/lis/m1?includeBody=true', 'viewer')).status).toBe(403);
    const one = (await (await call('GET', '/dead-letters/lis/m1?includeBody=true', 'operator')).json()) as { body: string };
    expect(Buffer.from(one.body, 'base64').toString()).toBe('secret-body');
    expect(audit).toEqual([expect.objectContaining({ actor: 'u-operator', action: 'dead-letter.view-body', target: 'lis/m1' })]);
  });

  test('viewer gets 403 on replay, bulk replay and discard', async () => {
    await deadLetter('m2');
    expect((await call('POST', '/dead-letters/lis/m2/replay', 'viewer', { reason: 'x' })).status).toBe(403);
    expect((await call('POST', '/dead-letters/lis/replay', 'viewer', { reason: 'x', filter: {} })).status).toBe(403);
    expect((await call('DELETE', '/dead-letters/lis/m2', 'viewer', { reason: 'x' })).status).toBe(403);
    expect((await queue.stats('lis')).dead).toBe(1);
    expect(audit).toEqual([]);
  });

  test('a missing or blank reason is a 400', async () => {
    await deadLetter('m3');
    expect((await call('POST', '/dead-letters/lis/m3/replay', 'operator', {})).status).toBe(400);
    expect((await call('POST', '/dead-letters/lis/replay', 'admin', { reason: '  ' })).status).toBe(400);
    expect((await call('DELETE', '/dead-letters/lis/m3', 'operator', {})).status).toBe(400);
    expect((await queue.stats('lis')).dead).toBe(1);
  });

  test('replay puts the message back and writes an audit entry', async () => {
    await deadLetter('m4');
    const res = await call('POST', '/dead-letters/lis/m4/replay', 'operator', { reason: 'LIS fixed' });
    expect(res.status).toBe(204);
    expect(await queue.stats('lis')).toMatchObject({ dead: 0, ready: 1 });
    expect(audit).toEqual([expect.objectContaining({ actor: 'u-operator', action: 'dead-letter.replay', target: 'lis/m4', detail: expect.objectContaining({ queue: 'lis', reason: 'LIS fixed' }) })]);
  });

  test('bulk replay by filter and discard are audited; unknown ids are 404', async () => {
    await deadLetter('m5');
    const bulk = await call('POST', '/dead-letters/lis/replay', 'admin', { reason: 'outage over', filter: { reason: 'permanent' } });
    expect(await bulk.json()).toEqual({ replayed: 1 });
    await queue.deleteQueue('lis');
    await queue.declareQueue('lis', { maxAttempts: 1 });
    await deadLetter('m6');
    expect((await call('DELETE', '/dead-letters/lis/m6', 'operator', { reason: 'duplicate' })).status).toBe(204);
    expect((await call('DELETE', '/dead-letters/lis/nope', 'operator', { reason: 'duplicate' })).status).toBe(404);
    expect((await call('GET', '/dead-letters?queue=other', 'operator')).status).toBe(404);
    expect(audit.map((e) => e.action)).toEqual(['dead-letter.bulk-replay', 'dead-letter.discard']);
    expect(audit[1]).toMatchObject({ actor: 'u-operator', target: 'lis/m6', detail: { queue: 'lis', reason: 'duplicate' } });
  });
});
