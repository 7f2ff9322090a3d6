/**
 * Whether `hostname` (as `URL` spells it, or a listen address) names this machine without a
 * network in between: `localhost`, 127.0.0.0/8 or ::1. Decided from the name alone, never by a
 * DNS lookup: a name that resolves to 127.0.0.1 today may resolve elsewhere tomorrow.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost') return true;
  if (host === '[::1]' || host === '::1') return true;
  // No node:net here: the shared package must also load in a browser.
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0')));
}
