import { monitorOpenApi } from './openapi-monitor';
import { queuesOpenApi } from './openapi-queues';

/** OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`. */
export function openApiDocument(version: string): Record<string, unknown> {
  const bearer = [{ bearer: [] }];
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const errors = { '401': { description: 'No or invalid token' }, '403': { description: 'Role lacks the permission' } };
  const q = (name: string, description: string, schema: unknown = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
  const monitor = monitorOpenApi();
  const queues = queuesOpenApi();
  return {
    openapi: '3.1.0',
    info: { title: 'IVF Interface Hub API', version, description: 'Messages, the monitor, audit log, users and tokens of the hub. Every call but login needs a Bearer token.' },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A session token from /auth/login or an API token from /tokens' } },
      schemas: {
        Role: { type: 'string', enum: ['admin', 'analyst', 'operator', 'viewer'] },
        Message: {
          type: 'object',
          properties: {
            id: { type: 'string', format: 'uuid' },
            flowId: { type: ['string', 'null'] },
            nodeId: { type: ['string', 'null'] },
            direction: { type: 'string', enum: ['inbound', 'outbound'] },
            endpoint: { type: 'string' },
            controlId: { type: ['string', 'null'] },
            messageType: { type: ['string', 'null'] },
            sender: { type: ['string', 'null'] },
            receiver: { type: ['string', 'null'] },
            patientKey: { type: ['string', 'null'], description: 'Keyed hash of the MRN' },
            status: { type: 'string', enum: ['received', 'processing', 'sent', 'queued', 'filtered', 'error'] },
            contentType: { type: 'string' },
            parentId: { type: ['string', 'null'] },
            attempts: { type: 'integer' },
            errorCode: { type: ['string', 'null'] },
            errorText: { type: ['string', 'null'] },
            receivedAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
            size: { type: 'integer' },
            keyId: { type: 'string' },
            body: { type: 'object', properties: { encoding: { type: 'string', enum: ['utf8', 'base64'] }, data: { type: 'string' } } },
          },
        },
        AuditEntry: {
          type: 'object',
          properties: { id: { type: 'integer' }, at: { type: 'string', format: 'date-time' }, actor: { type: 'string' }, action: { type: 'string' }, target: { type: ['string', 'null'] }, detail: { type: ['object', 'null'] }, ip: { type: ['string', 'null'] } },
        },
        Token: {
          type: 'object',
          properties: { id: { type: 'string' }, name: { type: 'string' }, role: ref('Role'), subject: { type: 'string' }, createdAt: { type: 'string' }, createdBy: { type: 'string' }, expiresAt: { type: ['string', 'null'] }, revokedAt: { type: ['string', 'null'] } },
        },
        ...monitor.schemas,
        ...queues.schemas,
      },
    },
    security: bearer,
    paths: {
      '/auth/login': {
        post: {
          summary: 'Log in with a configured user; returns a session token',
          security: [],
          requestBody: json({ type: 'object', required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } }),
          responses: {
            '200': { description: 'Session token', ...json({ type: 'object', properties: { token: { type: 'string' }, tokenType: { const: 'Bearer' }, expiresAt: { type: 'string' }, username: { type: 'string' }, role: ref('Role') } }) },
            '401': { description: 'Invalid credentials' },
            '429': { description: 'Too many failed logins' },
          },
        },
      },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1 document' } } } },
      ...monitor.paths,
      ...queues.paths,
      '/auth/logout': { post: { summary: 'Revoke the calling token', responses: { '204': { description: 'Revoked' }, ...errors } } },
      '/me': { get: { summary: 'Who the token belongs to', responses: { '200': { description: 'Principal' }, ...errors } } },
      '/users': { get: { summary: 'Configured users (admin)', responses: { '200': { description: 'Users and roles' }, ...errors } } },
      '/tokens': {
        get: { summary: 'API tokens (admin)', responses: { '200': { description: 'Tokens', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('Token') } } }) }, ...errors } },
        post: {
          summary: 'Create an API token for a machine client (admin); the token is shown once',
          requestBody: json({ type: 'object', required: ['name', 'role'], properties: { name: { type: 'string' }, role: ref('Role'), subject: { type: 'string' }, expiresInDays: { type: 'integer' } } }),
          responses: { '201': { description: 'Created' }, '400': { description: 'Invalid request' }, ...errors },
        },
      },
      '/tokens/{id}': { delete: { summary: 'Revoke an API token (admin)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '204': { description: 'Revoked' }, '404': { description: 'No such token' }, ...errors } } },
      '/messages': {
        get: {
          summary: 'Search the message store, newest first, keyset-paged',
          parameters: [
            q('controlId', 'MSH-10 or equivalent'),
            q('patientId', 'An MRN; matched through the keyed hash, never stored'),
            q('type', 'Message type, e.g. ORU^R01'),
            q('status', 'Lifecycle status', { type: 'string', enum: ['received', 'processing', 'sent', 'queued', 'filtered', 'error'] }),
            q('endpoint', 'Endpoint name'),
            q('direction', 'inbound or outbound', { type: 'string', enum: ['inbound', 'outbound'] }),
            q('parentId', 'Messages related to this one'),
            q('from', 'Received at or after (ISO 8601)', { type: 'string', format: 'date-time' }),
            q('to', 'Received before (ISO 8601)', { type: 'string', format: 'date-time' }),
            q('limit', '1-500, default 50', { type: 'integer' }),
            q('cursor', 'nextCursor of the previous page'),
          ],
          responses: { '200': { description: 'A page', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('Message') }, nextCursor: { type: ['string', 'null'] } } }) }, '400': { description: 'Invalid query' }, ...errors },
        },
      },
      '/messages/{id}': {
        get: {
          summary: 'One message; the body with includeBody=true (not for viewers; audited)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, q('includeBody', 'true to include the decrypted body', { type: 'boolean' })],
          responses: { '200': { description: 'The message', ...json(ref('Message')) }, '404': { description: 'No such message' }, ...errors },
        },
      },
      '/messages/reprocess': {
        post: {
          summary:
            'Reprocess every inbound message matching a filter (at least one; e.g. endpoint and status=error once a flow is fixed), at most 1,000; dryRun only counts (operator; reason required; one audit entry with the counts).',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['filter'],
                  properties: { filter: { type: 'object', description: 'Message search parameters (as GET /messages)' }, reason: { type: 'string', maxLength: 500 }, dryRun: { type: 'boolean' } },
                },
              },
            },
          },
          responses: {
            '200': { description: 'Dry run: how many match', ...json({ type: 'object', properties: { count: { type: 'integer' }, limit: { type: 'integer' } } }) },
            '202': { description: 'Handed back', ...json({ type: 'object', properties: { reprocessed: { type: 'integer' }, refused: { type: 'integer' } } }) },
            '400': { description: 'No filter or no reason' },
            ...errors,
          },
        },
      },
      '/messages/{id}/reprocess': {
        post: {
          summary:
            'Run a stored inbound message through its flow again, e.g. once a failing flow is fixed (operator; reason required; audited). The record goes back to processing (one attempt more) and ends sent or error; nothing is sent to the original sender.',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', maxLength: 500 } } } } } },
          responses: {
            '202': { description: 'Handed to the receiving node', ...json({ type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } }) },
            '400': { description: 'No reason given' },
            '404': { description: 'No such message' },
            '409': { description: 'Not inbound, its receiving node is not running, or the node refused (a batch envelope, still in flight, unparseable); `code` says which' },
            ...errors,
          },
        },
      },
      '/audit': {
        get: {
          summary: 'Audit log, newest first (admin)',
          parameters: [q('actor', 'Filter by user'), q('action', 'Filter by action, e.g. flows.deploy'), q('before', 'Entries older than this id', { type: 'integer' }), q('limit', '1-1000', { type: 'integer' })],
          responses: { '200': { description: 'Entries', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('AuditEntry') } } }) }, ...errors },
        },
      },
    },
  };
}
