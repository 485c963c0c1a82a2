import { ProviderConfigError } from '../phi-guard/errors';

/** A daily window in the clinic's wall-clock time, `HH:MM` 24-hour. `start` after `end` spans midnight. */
export interface QuietHoursWindow {
  start: string;
  end: string;
}

export const DEFAULT_QUIET_HOURS: QuietHoursWindow = { start: '21:00', end: '08:00' };

export type QuietHoursDecision = { action: 'send-now' } | { action: 'defer'; until: Date };

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Whether a patient message may go out now in the clinic's time zone, or
 * when it may. Time-critical messages (trigger-shot instructions) do not ask:
 * the sender skips this check for them.
 *
 * Daylight-saving changes: the end of the window is found as a wall-clock
 * time on the right local date. If that time does not exist that day (the
 * clock jumps over it), the later candidate is used, so a deferral never
 * ends inside the window; if it exists twice, the first.
 *
 * @param now - the current instant
 * @param timeZone - the clinic's IANA zone, e.g. `America/New_York`
 * @param window - quiet window; equal start and end means none
 */
export function quietHoursDecision(now: Date, timeZone: string, window: QuietHoursWindow = DEFAULT_QUIET_HOURS): QuietHoursDecision {
  const start = minutesOf(window.start, 'start');
  const end = minutesOf(window.end, 'end');
  if (start === end) return { action: 'send-now' };
  const local = wallClock(now, timeZone);
  const minute = local.hour * 60 + local.minute;
  const wraps = start > end;
  const quiet = wraps ? minute >= start || minute < end : minute >= start && minute < end;
  if (!quiet) return { action: 'send-now' };
  // In a window spanning midnight, the evening part ends tomorrow morning.
  const dayOffset = wraps && minute >= start ? 1 : 0;
  const endDate = new Date(Date.UTC(local.year, local.month - 1, local.day + dayOffset));
  const until = zonedTimeToInstant(endDate.getUTCFullYear(), endDate.getUTCMonth() + 1, endDate.getUTCDate(), Math.floor(end / 60), end % 60, timeZone);
  return until.getTime() > now.getTime() ? { action: 'defer', until } : { action: 'send-now' };
}

/**
 * Throws {@link ProviderConfigError} unless the zone is one Intl knows.
 * @param timeZone - IANA zone name
 */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (err) {
      throw new ProviderConfigError(`unknown time zone ${JSON.stringify(timeZone.slice(0, 64))}`, { cause: err });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

function wallClock(at: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year ?? 0, month: parts.month ?? 1, day: parts.day ?? 1, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0 };
}

/** Zone offset (local minus UTC) in ms at an instant. */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(new Date(instant), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000;
}

function zonedTimeToInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): Date {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute);
  // The offset on either side of a transition near the target: try both.
  const candidates = [...new Set([asUtc - offsetAt(asUtc - 86_400_000 / 2, timeZone), asUtc - offsetAt(asUtc + 86_400_000 / 2, timeZone), asUtc - offsetAt(asUtc, timeZone)])];
  const exact = candidates.filter((t) => {
    const w = wallClock(new Date(t), timeZone);
    return w.year === year && w.month === month && w.day === day && w.hour === hour && w.minute === minute;
  });
  return new Date(exact.length > 0 ? Math.min(...exact) : Math.max(...candidates));
}

function minutesOf(hhmm: string, which: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new ProviderConfigError(`quiet hours ${which} must be HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}
