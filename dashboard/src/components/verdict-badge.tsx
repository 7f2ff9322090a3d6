export function VerdictBadge({ verdict }: { verdict: string }) {
  return <span class={`badge verdict-${verdict}`}>{verdict}</span>;
}
