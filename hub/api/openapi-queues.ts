/**
 * OpenAPI description of the queue routes (hub/api/queues-router.ts): queue
 * depth and the dead letters. Merged into the document of hub/api/openapi.ts.
 */
export function queuesOpenApi(): { schemas: Record<string, unknown>; paths: Record<string, unknown> } {
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const errors = { '401': { description: 'No or invalid token' }, '403': { description: 'Role lacks the permission' } };
  const str = { type: 'string' };
  const int = { type: 'integer' };
  const date = { type: 'string', format: 'date-time' };
  const path = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: str });
  const q = (name: string, description: string, schema: unknown = str) => ({ name, in: 'query', required: false, description, schema });
  const reasonEnum = ['permanent', 'max-attempts', 'deadline', 'redrive'];
  const reason = { type: 'string', minLength: 1, maxLength: 500, description: 'Why; kept in the audit log' };
  const filterProps = {
    reason: { type: 'string', enum: reasonEnum, description: 'Why it was dead-lettered' },
    errorCode: { type: 'string', description: 'Code of the last error, e.g. NACK, TIMEOUT' },
    key: { type: 'string', description: 'Ordering key (a patient key hash, never an MRN)' },
    from: { ...date, description: 'Dead-lettered at or after' },
    to: { ...date, description: 'Dead-lettered before' },
  };
  const failures = {
    '400': { description: 'Invalid request (reason missing, bad filter)' },
    '404': { description: 'No such queue or dead letter' },
    '409': { description: 'The queue refused the operation for good (error code in `code`)' },
    '503': { description: 'The queue backend is unreachable; retry' },
    ...errors,
  };
  const historyEntry = {
    type: 'object',
    description: 'A failed attempt (`event: failed`: attempt, code, retryable, error class, message of typed errors only) or an operator replay (`event: replayed`: edited, by)',
    properties: { event: { type: 'string', enum: ['failed', 'replayed'] }, at: date, attempt: int, code: str, retryable: { type: 'boolean' }, error: str, message: { type: ['string', 'null'] }, edited: { type: 'boolean' }, by: { type: ['string', 'null'] } },
  };
  const schemas: Record<string, unknown> = {
    QueueStats: {
      type: 'object',
      properties: {
        queue: str,
        backend: { type: 'string', enum: ['embedded', 'rabbitmq', 'sqs'] },
        ready: int,
        delayed: int,
        inFlight: int,
        dead: int,
        oldestWaitingAgeMs: { type: ['integer', 'null'], description: 'Age of the oldest message not yet handled; null when none or unknown (SQS)' },
      },
    },
    DeadLetter: {
      type: 'object',
      description: 'A message that failed for good. Without its body unless asked for (includeBody=true).',
      properties: {
        id: { type: 'string', description: 'Hub message id, also the idempotency key' },
        queue: str,
        key: { type: ['string', 'null'] },
        headers: { type: 'object', additionalProperties: str },
        attempts: int,
        firstEnqueuedAt: date,
        enqueuedAt: date,
        deadAt: date,
        reason: { type: 'string', enum: reasonEnum },
        lastError: { oneOf: [historyEntry, { type: 'null' }] },
        history: { type: 'array', items: historyEntry },
        size: { type: 'integer', description: 'Body bytes' },
        body: { type: 'string', description: 'Only with includeBody=true: the body, base64' },
        bodyEncoding: { const: 'base64' },
      },
    },
  };
  const paths: Record<string, unknown> = {
    '/queues': {
      get: {
        summary: 'Depth of every queue the hub uses (configured or declared by the running flows)',
        responses: { '200': { description: 'Queues', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('QueueStats') } } }) }, ...errors },
      },
    },
    '/dead-letters': {
      get: {
        summary: 'Dead letters of a queue, oldest first, without bodies',
        parameters: [
          { name: 'queue', in: 'query', required: true, description: 'Queue name', schema: str },
          q('reason', 'Why it was dead-lettered', { type: 'string', enum: reasonEnum }),
          q('errorCode', 'Code of the last error'),
          q('key', 'Ordering key'),
          q('from', 'Dead-lettered at or after (ISO 8601)', date),
          q('to', 'Dead-lettered before (ISO 8601)', date),
          q('limit', '1-500, default 50', int),
          q('cursor', 'nextCursor of the previous page'),
        ],
        responses: { '200': { description: 'A page', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('DeadLetter') }, nextCursor: { type: ['string', 'null'] } } }) }, ...failures },
      },
    },
    '/dead-letters/{queue}/{id}': {
      get: {
        summary: 'One dead letter; the body with includeBody=true (not for viewers; audited)',
        parameters: [path('queue', 'Queue name'), path('id', 'Message id'), q('includeBody', 'true to include the body', { type: 'boolean' })],
        responses: { '200': { description: 'The dead letter', ...json(ref('DeadLetter')) }, ...failures },
      },
      delete: {
        summary: 'Discard a dead letter for good (operator; reason required; audited)',
        parameters: [path('queue', 'Queue name'), path('id', 'Message id')],
        requestBody: json({ type: 'object', required: ['reason'], properties: { reason } }),
        responses: { '204': { description: 'Discarded' }, ...failures },
      },
    },
    '/dead-letters/{queue}/{id}/replay': {
      post: {
        summary: 'Put a dead letter back on its queue, optionally with a corrected body (operator; reason required; audited). The id stays.',
        parameters: [path('queue', 'Queue name'), path('id', 'Message id')],
        requestBody: json({ type: 'object', required: ['reason'], properties: { reason, body: { type: 'string', description: 'Corrected body (UTF-8 text); the original when absent' } } }),
        responses: { '204': { description: 'Replayed' }, ...failures },
      },
    },
    '/dead-letters/{queue}/replay': {
      post: {
        summary: 'Replay every dead letter of a queue matching a filter; an empty filter replays all (operator; reason required; audited)',
        parameters: [path('queue', 'Queue name')],
        requestBody: json({ type: 'object', required: ['reason'], properties: { reason, filter: { type: 'object', properties: filterProps } } }),
        responses: { '200': { description: 'How many', ...json({ type: 'object', properties: { replayed: int } }) }, ...failures },
      },
    },
  };
  return { schemas, paths };
}
