/**
 * OpenAPI description of `/api/v1/monitor` (hub/api/monitor-api.ts), merged
 * into the document of hub/api/openapi.ts. Shapes follow hub/monitor/protocol.ts.
 */
export function monitorOpenApi(): { schemas: Record<string, unknown>; paths: Record<string, unknown> } {
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const errors = { '401': { description: 'No or invalid token (header or the monitor session cookie)' }, '403': { description: 'Role lacks the permission' } };
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const nullable = (type: string) => ({ type: [type, 'null'] });
  const int = { type: 'integer' };
  const num = { type: 'number' };
  const str = { type: 'string' };
  const reason = { type: 'string', minLength: 3, maxLength: 500, description: 'Why; kept in the audit log' };
  const operationErrors = {
    '400': { description: 'Invalid request (reason missing, filter empty, body not JSON)' },
    '404': { description: 'No such message' },
    '409': { description: 'The operation failed for good (error code in `code`)' },
    '503': { description: 'No queue configured (`code: NO_QUEUE`), or the operation failed and may be retried' },
    ...errors,
  };
  const accepted = { description: 'Accepted', ...json({ type: 'object', properties: { ok: { const: true }, id: str, replayed: int } }) };

  const counters = { type: 'object', properties: Object.fromEntries(['received', 'inFlight', 'sent', 'queued', 'filtered', 'errored'].map((k) => [k, num])) };
  const schemas: Record<string, unknown> = {
    MonitorCounters: { ...counters, description: 'Messages counted by their current status; `received` counts every arrival' },
    MonitorEndpoint: {
      type: 'object',
      properties: {
        name: str,
        kind: { type: 'string', description: 'Node-RED type owning the endpoint, or `store` when only seen in the store' },
        direction: { enum: ['inbound', 'outbound', 'both', null] },
        state: { type: 'string', enum: ['listening', 'connected', 'connecting', 'disconnected', 'error', 'stopped', 'idle', 'unknown'] },
        detail: nullable('string'),
        port: nullable('integer'),
        connections: nullable('integer'),
        peers: { type: 'array', items: { type: 'object', properties: { address: str, port: nullable('integer'), since: nullable('string') } } },
        pending: nullable('integer'),
        flows: { type: 'array', items: { type: 'object', properties: { id: str, label: str } } },
        lastMessageAt: nullable('string'),
        lastHour: ref('MonitorCounters'),
        perMinute: ref('MonitorCounters'),
        types: { type: 'array', items: str },
        spark: { type: 'array', items: int, description: 'Arrivals per minute over the last hour, oldest first' },
      },
    },
    MonitorQueue: {
      type: 'object',
      properties: { queue: str, backend: str, ready: int, delayed: int, inFlight: int, dead: int, oldestWaitingAgeMs: nullable('integer') },
    },
    MonitorSnapshot: {
      type: 'object',
      description: 'Counts, endpoint names, message types, peer host:port and flow labels; never message content, control ids or patient keys',
      properties: {
        seq: int,
        at: { type: 'string', format: 'date-time' },
        countsAt: nullable('string'),
        store: { type: 'object', properties: { backend: str, pendingWrites: nullable('integer'), up: { type: 'boolean' } } },
        totals: { type: 'object', properties: { lastHour: ref('MonitorCounters'), perMinute: ref('MonitorCounters') } },
        flows: { type: 'array', items: { type: 'object', properties: { id: str, label: str, disabled: { type: 'boolean' }, endpoints: { type: 'array', items: str } } } },
        endpoints: { type: 'array', items: ref('MonitorEndpoint') },
        queues: { type: ['array', 'null'], items: ref('MonitorQueue'), description: 'Null when no queue is configured' },
        series: {
          type: 'object',
          description: '10-second buckets over the last hour, oldest first',
          properties: {
            bucketMs: int,
            start: int,
            ...Object.fromEntries(['received', 'inbound', 'outbound', 'errored'].map((k) => [k, { type: 'array', items: int }])),
            ...Object.fromEntries(['latencyP50Ms', 'latencyP95Ms', 'ackP95Ms'].map((k) => [k, { type: 'array', items: nullable('number') }])),
          },
        },
      },
    },
    MonitorMe: {
      type: 'object',
      properties: {
        username: str,
        role: ref('Role'),
        canSeeBodies: { type: 'boolean' },
        canOperate: { type: 'boolean' },
        features: { type: 'object', properties: { operations: { type: 'boolean' }, bulkReplay: { type: 'boolean' }, queues: { type: 'boolean' } } },
      },
    },
    MessageDetail: {
      type: 'object',
      properties: {
        message: ref('Message'),
        body: { type: ['object', 'null'], properties: { encoding: { type: 'string', enum: ['utf8', 'base64'] }, data: str }, description: 'Only for roles that may read bodies (audited)' },
        bodyHidden: { type: 'boolean' },
        parsed: {
          type: ['object', 'null'],
          description: 'HL7 v2 or ASTM segments with field names',
          properties: {
            format: { type: 'string', enum: ['hl7', 'astm'] },
            segments: { type: 'array', items: { type: 'object', properties: { id: str, index: int, description: nullable('string'), fields: { type: 'array', items: { type: 'object', properties: { ref: str, name: nullable('string'), raw: str, reps: { type: 'array', items: { type: 'array', items: str } } } } } } } },
            warnings: { type: 'array', items: str },
          },
        },
        parseError: nullable('string'),
        lifecycle: {
          type: 'array',
          items: {
            type: 'object',
            properties: { at: str, kind: { type: 'string', enum: ['received', 'attempt', 'ack', 'status', 'error', 'related', 'audit', 'queue'] }, title: str, detail: nullable('string'), actor: nullable('string'), relatedId: nullable('string') },
          },
        },
        related: { type: 'array', items: { allOf: [ref('Message'), { type: 'object', properties: { relation: { type: 'string', enum: ['parent', 'child', 'same-control-id'] } } }] } },
        operations: { type: 'object', properties: { available: { type: 'boolean' }, allowed: { type: 'boolean' }, reason: nullable('string') } },
      },
    },
  };

  const paths: Record<string, unknown> = {
    '/monitor/me': { get: { summary: 'Monitor: who is calling and what the UI may offer them', tags: ['monitor'], responses: { '200': { description: 'Caller', ...json(ref('MonitorMe')) }, ...errors } } },
    '/monitor/snapshot': {
      get: {
        summary: 'Monitor: the live overview once (endpoint states and peers, per-status counts, queue depths, last hour series)',
        tags: ['monitor'],
        responses: { '200': { description: 'Overview', ...json(ref('MonitorSnapshot')) }, ...errors },
      },
    },
    '/monitor/events': {
      get: {
        summary: 'Monitor: server-sent events, one `snapshot` event a second (data: a MonitorSnapshot); a `logout` event when the token ends',
        tags: ['monitor'],
        responses: { '200': { description: 'Event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '503': { description: 'Too many open streams' }, ...errors },
      },
    },
    '/monitor/alerts': {
      get: {
        summary: 'Monitor: alert rules (HUB_ALERT_RULES) with their current state, and the fired/recovered history, newest first',
        tags: ['monitor'],
        parameters: [{ name: 'limit', in: 'query', required: false, description: 'History entries, 1-500 (default 100)', schema: { type: 'integer', minimum: 1, maximum: 500 } }],
        responses: {
          '200': {
            description: 'Alerts (shape: AlertsView in adapters/alerts/types.ts)',
            ...json({
              type: 'object',
              properties: {
                enabled: { type: 'boolean' },
                intervalSeconds: nullable('number'),
                rules: { type: 'array', items: { type: 'object', properties: { name: str, type: str, condition: str, state: { type: 'string', enum: ['ok', 'firing', 'unknown'] }, since: nullable('string'), value: nullable('number'), threshold: num, unit: str, subjects: { type: 'array', items: str }, text: nullable('string'), lastEvaluatedAt: nullable('string'), lastNotifiedAt: nullable('string'), error: nullable('string') } } },
                history: { type: 'array', items: { type: 'object', properties: { at: str, kind: { type: 'string', enum: ['fired', 'recovered'] }, rule: str, type: nullable('string'), text: nullable('string'), value: nullable('number'), threshold: nullable('number'), subjects: { type: 'array', items: str } } } },
              },
            }),
          },
          '400': { description: 'Bad limit' },
          ...errors,
        },
      },
    },
    '/monitor/messages/{id}': {
      get: {
        summary: 'Monitor: one message with parsed fields, lifecycle and related messages; the body for roles that may read it (audited)',
        tags: ['monitor'],
        parameters: [id, { name: 'body', in: 'query', required: false, description: 'false to leave the body out', schema: { type: 'boolean' } }],
        responses: { '200': { description: 'Detail', ...json(ref('MessageDetail')) }, '404': { description: 'No such message' }, ...errors },
      },
    },
    '/monitor/messages/{id}/replay': {
      post: {
        summary: 'Monitor: replay a message through its queue, optionally with a corrected body (operator; audited)',
        tags: ['monitor'],
        parameters: [id],
        requestBody: json({ type: 'object', required: ['reason'], properties: { reason, editedBody: { type: 'string', description: 'Corrected body, at most 1 MB' } } }),
        responses: { '202': accepted, ...operationErrors },
      },
    },
    '/monitor/messages/{id}/discard': {
      post: {
        summary: 'Monitor: discard a waiting or dead-lettered message (operator; audited)',
        tags: ['monitor'],
        parameters: [id],
        requestBody: json({ type: 'object', required: ['reason'], properties: { reason } }),
        responses: { '202': accepted, ...operationErrors },
      },
    },
    '/monitor/messages/{id}/reprocess': {
      post: {
        summary: 'Monitor: run a stored inbound message through its flow again, as in POST /messages/{id}/reprocess (operator; audited)',
        tags: ['monitor'],
        parameters: [id],
        requestBody: json({ type: 'object', required: ['reason'], properties: { reason } }),
        responses: { '202': accepted, ...operationErrors },
      },
    },
    '/monitor/reprocess': {
      post: {
        summary: 'Monitor: reprocess every inbound message matching a filter, as POST /messages/reprocess; dryRun only counts (operator; audited)',
        tags: ['monitor'],
        requestBody: json({ type: 'object', required: ['filter'], properties: { filter: { type: 'object' }, reason, dryRun: { type: 'boolean' } } }),
        responses: { '200': { description: 'Dry run: how many match' }, '202': accepted, ...operationErrors },
      },
    },
    '/monitor/replay': {
      post: {
        summary: 'Monitor: replay every message matching a search filter (operator; audited); dryRun only counts',
        tags: ['monitor'],
        requestBody: json({
          type: 'object',
          required: ['filter'],
          properties: {
            filter: { type: 'object', description: 'The search parameters of GET /messages (at least one), without limit and cursor' },
            dryRun: { type: 'boolean' },
            reason,
          },
        }),
        responses: {
          '200': { description: 'Dry run: how many match, and the most one call replays (null: no limit)', ...json({ type: 'object', properties: { count: int, limit: nullable('integer') } }) },
          '202': accepted,
          ...operationErrors,
        },
      },
    },
  };
  return { schemas, paths };
}
