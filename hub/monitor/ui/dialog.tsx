import { useState } from 'preact/hooks';

export interface ReasonDialogProps {
  title: string;
  message: string;
  confirmLabel: string;
  danger?: boolean;
  /** Edit-and-replay: the body to edit. */
  editBody?: string;
  onSubmit(reason: string, editedBody?: string): Promise<void>;
  onClose(): void;
}

/** Every operation asks why; the reason goes to the audit log with the operation. */
export function ReasonDialog(p: ReasonDialogProps) {
  const [reason, setReason] = useState('');
  const [body, setBody] = useState(p.editBody ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const valid = reason.trim().length >= 3 && (p.editBody === undefined || body.trim().length > 0);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!valid || busy) return;
    setBusy(true);
    setError(null);
    try {
      await p.onSubmit(reason.trim(), p.editBody === undefined ? undefined : body);
      p.onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  return (
    <div class="modal-backdrop" role="presentation" onClick={(e) => e.target === e.currentTarget && !busy && p.onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={p.title}>
      <form onSubmit={submit} data-testid="reason-dialog">
        <h2>{p.title}</h2>
        <p>{p.message}</p>
        {p.editBody !== undefined && (
          <label class="block">
            Message body
            <textarea class="mono" rows={12} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} spellcheck={false} />
          </label>
        )}
        <label class="block">
          Reason (written to the audit log)
          <input name="reason" value={reason} required minLength={3} maxLength={500} autoFocus onInput={(e) => setReason((e.target as HTMLInputElement).value)} placeholder="e.g. LIS was down 10:00-10:20, ticket 4711" />
        </label>
        {error && <p class="error">{error}</p>}
        <div class="actions">
          <button type="button" onClick={p.onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class={p.danger ? 'danger' : 'primary'} disabled={!valid || busy}>
            {busy ? 'Working…' : p.confirmLabel}
          </button>
        </div>
      </form>
      </div>
    </div>
  );
}
