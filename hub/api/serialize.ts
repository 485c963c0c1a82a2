import type { MessageRecord } from '../../adapters/store';

/** A message as the API shows it; the body only when the caller may see bodies and asked. */
export function messageJson(m: MessageRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: m.id,
    flowId: m.flowId,
    nodeId: m.nodeId,
    direction: m.direction,
    endpoint: m.endpoint,
    controlId: m.controlId,
    messageType: m.messageType,
    sender: m.sender,
    receiver: m.receiver,
    patientKey: m.patientKey,
    status: m.status,
    contentType: m.contentType,
    parentId: m.parentId,
    attempts: m.attempts,
    errorCode: m.errorCode,
    errorText: m.errorText,
    receivedAt: m.receivedAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    size: m.size,
    keyId: m.keyId,
  };
  if (m.body) {
    const text = m.body.toString('utf8');
    // Bodies that are not valid UTF-8 (ISO-8859-1 HL7, binary) go out as base64.
    if (Buffer.from(text, 'utf8').equals(m.body)) out.body = { encoding: 'utf8', data: text };
    else out.body = { encoding: 'base64', data: m.body.toString('base64') };
  }
  return out;
}
