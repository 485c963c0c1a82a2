import { useEffect, useState } from 'preact/hooks';
import type { LifecycleEvent, MessageDetail, MonitorMe, ParsedTree, TreeField } from '../protocol';
import { getJson, postJson } from './api';
import type { ReasonDialogProps } from './dialog';
import { ReasonDialog } from './dialog';
import { bytes, statusClass, time } from './format';

/** After a replay or discard the queue works on its own time: follow the message this long for its new status. */
const FOLLOW_MS = 30_000;
const FOLLOW_EVERY_MS = 1000;
const SETTLED = new Set(['sent', 'filtered']);

export function Detail({ id, me, onBack }: { id: string; me: MonitorMe; onBack: () => void }) {
  const [detail, setDetail] = useState<MessageDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<'parsed' | 'raw'>('parsed');
  const [dialog, setDialog] = useState<Omit<ReasonDialogProps, 'onClose'> | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const [followUntil, setFollowUntil] = useState(0);

  useEffect(() => {
    let live = true;
    setError(null);
    getJson<MessageDetail>(`/api/v1/monitor/messages/${encodeURIComponent(id)}`).then(
      (d) => live && setDetail(d),
      (err: unknown) => live && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [id, reload]);

  useEffect(() => {
    if (!detail || SETTLED.has(detail.message.status) || Date.now() > followUntil) return;
    const t = window.setTimeout(() => setReload((n) => n + 1), FOLLOW_EVERY_MS);
    return () => window.clearTimeout(t);
  }, [detail, followUntil]);

  if (error) return <p class="error">{error}</p>;
  if (!detail || detail.message.id !== id) return <p class="loading">Loading…</p>;
  const m = detail.message;
  const ops = detail.operations;
  const opsDisabled = !ops.available || !ops.allowed;
  const bodyText = detail.body?.encoding === 'utf8' ? detail.body.data : null;

  const operate = (kind: 'replay' | 'edit' | 'discard' | 'reprocess'): void => {
    const done = (text: string): void => {
      setNotice(text);
      setFollowUntil(Date.now() + FOLLOW_MS);
      setReload((n) => n + 1);
    };
    if (kind === 'reprocess') {
      setDialog({
        title: 'Reprocess message',
        message: `The message ${m.controlId ?? m.id} will run through its flow again, as stored. Nothing is sent to its sender.`,
        confirmLabel: 'Reprocess',
        onSubmit: async (reason) => {
          await postJson(`/api/v1/monitor/messages/${m.id}/reprocess`, { reason });
          done('Reprocess requested.');
        },
      });
    } else if (kind === 'discard') {
      setDialog({
        title: 'Discard message',
        message: `The message ${m.controlId ?? m.id} will not be delivered. This cannot be undone.`,
        confirmLabel: 'Discard',
        danger: true,
        onSubmit: async (reason) => {
          await postJson(`/api/v1/monitor/messages/${m.id}/discard`, { reason });
          done('Discard requested.');
        },
      });
    } else {
      setDialog({
        title: kind === 'edit' ? 'Edit and replay' : 'Replay message',
        message: kind === 'edit' ? 'Correct the body, then say why. The message keeps its id.' : `The message ${m.controlId ?? m.id} will be sent again as stored.`,
        confirmLabel: 'Replay',
        ...(kind === 'edit' ? { editBody: (bodyText ?? '').replace(/\r\n?/g, '\n') } : {}),
        onSubmit: async (reason, edited) => {
          // HL7 segments end with CR; the textarea shows them as lines.
          const editedBody = edited === undefined ? undefined : /^(MSH|FHS|BHS)/.test(edited) ? edited.replace(/\n/g, '\r') : edited;
          await postJson(`/api/v1/monitor/messages/${m.id}/replay`, editedBody === undefined ? { reason } : { reason, editedBody });
          done('Replay requested.');
        },
      });
    }
  };

  return (
    <div class="detail" data-testid="message-detail">
      <div class="detail-head">
        <button type="button" class="link" onClick={onBack}>
          ← Messages
        </button>
        <h1>
          {m.messageType ?? 'Message'} <span class="mono">{m.controlId ?? ''}</span> <span class={`pill ${statusClass(m.status)}`} data-testid="detail-status">
            {m.status}
          </span>
        </h1>
      </div>
      {notice && <p class="notice">{notice}</p>}

      <section class="panel meta">
        <dl>
          <dt>Hub id</dt>
          <dd class="mono">{m.id}</dd>
          <dt>Endpoint</dt>
          <dd>
            {m.endpoint} ({m.direction})
          </dd>
          <dt>Sender</dt>
          <dd>{m.sender ?? '–'}</dd>
          <dt>Receiver</dt>
          <dd>{m.receiver ?? '–'}</dd>
          <dt>Received</dt>
          <dd class="mono">{time(m.receivedAt)}</dd>
          <dt>Updated</dt>
          <dd class="mono">{time(m.updatedAt)}</dd>
          <dt>Attempts</dt>
          <dd>{m.attempts}</dd>
          <dt>Size</dt>
          <dd>
            {bytes(m.size)} · {m.contentType}
          </dd>
          <dt>Patient key</dt>
          <dd class="mono" title="keyed hash of the MRN">
            {m.patientKey ? `${m.patientKey.slice(0, 16)}…` : '–'}
          </dd>
          {m.errorCode && (
            <>
              <dt>Error</dt>
              <dd class="bad">
                {m.errorCode}
                {m.errorText ? `: ${m.errorText}` : ''}
              </dd>
            </>
          )}
        </dl>
        {(me.canOperate || ops.available || ops.reprocess) && (
          <div class="ops" data-testid="operations">
            {ops.reprocess && (
              <button type="button" onClick={() => operate('reprocess')} title="Run it through its flow again (after the flow was fixed)">
                Reprocess
              </button>
            )}
            <button type="button" disabled={opsDisabled} onClick={() => operate('replay')}>
              Replay
            </button>
            <button type="button" disabled={opsDisabled || !bodyText} onClick={() => operate('edit')}>
              Edit and replay
            </button>
            <button type="button" class="danger" disabled={opsDisabled} onClick={() => operate('discard')}>
              Discard
            </button>
            {ops.reason && <span class="note">{ops.reason}</span>}
          </div>
        )}
      </section>

      <div class="columns">
        <section class="panel">
          <h2>Lifecycle</h2>
          <Timeline events={detail.lifecycle} />
        </section>
        <section class="panel">
          <h2>Related messages</h2>
          {detail.related.length === 0 ? (
            <p class="empty">None.</p>
          ) : (
            <table class="related">
              <tbody>
                {detail.related.map((r) => (
                  <tr key={r.id}>
                    <td class="muted">{r.relation === 'parent' ? 'answers / replays' : r.relation === 'child' ? 'child / ACK' : 'same control id'}</td>
                    <td>
                      <a href={`#/messages/${r.id}`}>
                        {r.messageType ?? 'message'} {r.controlId ?? ''}
                      </a>
                    </td>
                    <td>{r.endpoint}</td>
                    <td>
                      <span class={`pill ${statusClass(r.status)}`}>{r.status}</span>
                    </td>
                    <td class="mono nowrap">{time(r.receivedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section class="panel">
        <h2>Body</h2>
        {detail.bodyHidden ? (
          <p class="note" data-testid="body-hidden">
            The body is hidden for your role ({me.role}): you see the message's metadata, lifecycle and related messages only.
          </p>
        ) : (
          <>
            <div class="tabs">
              <button type="button" class={tab === 'parsed' ? 'on' : ''} onClick={() => setTab('parsed')}>
                Parsed
              </button>
              <button type="button" class={tab === 'raw' ? 'on' : ''} onClick={() => setTab('raw')}>
                Raw
              </button>
            </div>
            {tab === 'parsed' &&
              (detail.parsed ? (
                <Tree tree={detail.parsed} />
              ) : (
                <p class="note">{detail.parseError ? `Could not parse the body (${detail.parseError}); see Raw.` : 'Not an HL7 or ASTM message; see Raw.'}</p>
              ))}
            {tab === 'raw' && (
              <pre class="raw" data-testid="raw-body">
                {detail.body?.encoding === 'utf8' ? detail.body.data.replace(/\r\n?/g, '\n') : `base64: ${detail.body?.data ?? ''}`}
              </pre>
            )}
          </>
        )}
      </section>

      {dialog && <ReasonDialog {...dialog} onClose={() => setDialog(null)} />}
    </div>
  );
}

function Timeline({ events }: { events: LifecycleEvent[] }) {
  return (
    <ol class="timeline" data-testid="lifecycle">
      {events.map((e, i) => (
        <li key={i} class={`ev ${e.kind}`}>
          <span class="mono nowrap">{time(e.at)}</span>
          <div>
            <strong>{e.relatedId ? <a href={`#/messages/${e.relatedId}`}>{e.title}</a> : e.title}</strong>
            {e.actor && <span class="muted"> · {e.actor}</span>}
            {e.detail && <div class="sub">{e.detail}</div>}
          </div>
        </li>
      ))}
    </ol>
  );
}

function Tree({ tree }: { tree: ParsedTree }) {
  return (
    <div class="tree" data-testid="parsed-tree" data-format={tree.format}>
      {tree.warnings.length > 0 && <p class="note">{tree.warnings.join('; ')}</p>}
      {tree.segments.map((s) => (
        <details key={s.index} open={tree.segments.length <= 40}>
          <summary>
            <span class="seg">{s.id}</span> {s.description && <span class="muted">{s.description}</span>}
          </summary>
          <table>
            <tbody>
              {s.fields.map((f) => (
                <FieldRow key={f.ref} f={f} />
              ))}
            </tbody>
          </table>
        </details>
      ))}
    </div>
  );
}

function FieldRow({ f }: { f: TreeField }) {
  const simple = f.reps.length <= 1 && (f.reps[0]?.length ?? 0) <= 1;
  return (
    <tr>
      <td class="mono ref">{f.ref}</td>
      <td class="fname">{f.name ?? ''}</td>
      <td class="mono">
        {simple ? (
          (f.reps[0]?.[0] ?? f.raw)
        ) : (
          <ul class="reps">
            {f.reps.map((rep, r) => (
              <li key={r}>
                {f.reps.length > 1 && <span class="muted">[{r + 1}] </span>}
                {rep.map((c, i) => (
                  <span key={i} class="comp" title={`${f.ref}${f.reps.length > 1 ? `[${r + 1}]` : ''}.${i + 1}`}>
                    {c}
                  </span>
                ))}
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}
