export const VERDICTS = ['compliant', 'grace', 'noncompliant', 'unknown', 'pending', 'revoked'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Verdict colours chosen for contrast on white (WCAG AA for text) and told apart by label too. */
export const VERDICT_COLOUR: Record<string, string> = {
  compliant: '#1a7f37',
  grace: '#9a6700',
  noncompliant: '#cf222e',
  unknown: '#57606a',
  pending: '#0969da',
  revoked: '#24292f',
};

export function when(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function ago(seconds: number | null | undefined, now = Date.now() / 1000): string {
  if (seconds === null || seconds === undefined) return 'never';
  const d = Math.round(now - seconds);
  const future = d < 0;
  const a = Math.abs(d);
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 86400 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
