/**
 * Shell-style KEY=value files: os-release(5), /etc/ufw/ufw.conf, /etc/default/*. Values
 * optionally quoted with " or ' (backslash escapes inside double quotes), # comments.
 * The last assignment wins, as when a shell sources the file.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    fields[m[1]!] = unquote(m[2]!);
  }
  return fields;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\([$"`\\])/g, '$1');
  return v;
}
