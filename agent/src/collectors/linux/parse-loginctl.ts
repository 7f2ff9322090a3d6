/** `loginctl show-… --property=A --property=B`: `A=value` lines. */
export function parseLoginctlProperties(text: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) properties[m[1]!] = m[2]!;
  }
  return properties;
}

/** A user as `getent passwd <uid>` prints it. */
export interface PasswdEntry {
  name: string;
  uid: number;
  home: string;
}

export function parsePasswdEntry(text: string): PasswdEntry | null {
  const fields = text.trim().split('\n')[0]?.split(':') ?? [];
  if (fields.length < 7) return null;
  const uid = Number(fields[2]);
  if (!fields[0] || !Number.isInteger(uid) || !fields[5]?.startsWith('/')) return null;
  return { name: fields[0], uid, home: fields[5] };
}
