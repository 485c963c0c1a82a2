/** Display helpers: short, glanceable numbers and times. */

export function num(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (!Number.isInteger(n)) return n.toFixed(1);
  return n.toLocaleString('en-US');
}

export function rate(n: number): string {
  if (n === 0) return '0/min';
  if (n < 1) return `${n.toFixed(1)}/min`;
  return `${num(Math.round(n))}/min`;
}

export function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function time(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** CSS class for a message status. */
export function statusClass(status: string): string {
  switch (status) {
    case 'sent':
      return 'ok';
    case 'error':
      return 'bad';
    case 'queued':
      return 'info';
    case 'received':
    case 'processing':
      return 'busy';
    default:
      return 'muted';
  }
}

/** CSS class for an endpoint's connection state. */
export function stateClass(state: string): string {
  switch (state) {
    case 'listening':
    case 'connected':
      return 'ok';
    case 'connecting':
      return 'warn';
    case 'error':
    case 'disconnected':
      return 'bad';
    default:
      return 'muted';
  }
}
