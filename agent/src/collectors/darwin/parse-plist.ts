/**
 * A property list in Apple's XML form (`plutil -convert xml1 -o - FILE`, `diskutil …
 * -plist`). Dates become epoch seconds, data stays base64 text. null when the text is
 * not a well-formed XML plist.
 */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const TOKEN = /<(\/?)([A-Za-z]+)\s*(\/?)>|<\?[^>]*\?>|<!DOCTYPE[^>]*>|<!--[\s\S]*?-->/g;

export function parsePlist(text: string): PlistValue | null {
  const start = text.indexOf('<plist');
  if (start < 0) return null;
  const body = text.slice(text.indexOf('>', start) + 1);
  const tokens: Array<{ close: boolean; tag: string; empty: boolean; at: number; end: number }> = [];
  for (const m of body.matchAll(TOKEN)) {
    if (!m[2]) continue;
    tokens.push({ close: m[1] === '/', tag: m[2], empty: m[3] === '/', at: m.index, end: m.index + m[0].length });
  }
  let i = 0;
  const value = (depth: number): PlistValue => {
    if (depth > 64) throw new Error('too deep');
    const t = tokens[i++];
    if (!t || t.close) throw new Error('expected a value');
    switch (t.tag) {
      case 'true':
      case 'false':
        if (!t.empty) expectClose(t.tag);
        return t.tag === 'true';
      case 'dict': {
        const dict: { [key: string]: PlistValue } = {};
        if (t.empty) return dict;
        for (;;) {
          const next = tokens[i];
          if (!next) throw new Error('unterminated dict');
          if (next.close && next.tag === 'dict') {
            i++;
            return dict;
          }
          if (next.tag !== 'key' || next.close) throw new Error('expected key');
          const key = textUntilClose('key');
          dict[key] = value(depth + 1);
        }
      }
      case 'array': {
        const list: PlistValue[] = [];
        if (t.empty) return list;
        for (;;) {
          const next = tokens[i];
          if (!next) throw new Error('unterminated array');
          if (next.close && next.tag === 'array') {
            i++;
            return list;
          }
          list.push(value(depth + 1));
        }
      }
      case 'string':
      case 'data':
        i--;
        return t.empty ? (i++, '') : textUntilClose(t.tag);
      case 'integer':
      case 'real': {
        i--;
        const n = Number(textUntilClose(t.tag).trim());
        if (!Number.isFinite(n)) throw new Error('bad number');
        return n;
      }
      case 'date': {
        i--;
        const ms = Date.parse(textUntilClose('date').trim());
        if (Number.isNaN(ms)) throw new Error('bad date');
        return Math.floor(ms / 1000);
      }
      default:
        throw new Error(`unknown element ${t.tag}`);
    }
  };
  const textUntilClose = (tag: string): string => {
    const open = tokens[i++]!;
    const close = tokens[i++];
    if (!close || !close.close || close.tag !== tag) throw new Error(`unterminated ${tag}`);
    return unescapeXml(body.slice(open.end, close.at));
  };
  const expectClose = (tag: string) => {
    const close = tokens[i++];
    if (!close || !close.close || close.tag !== tag) throw new Error(`unterminated ${tag}`);
  };
  try {
    return value(0);
  } catch {
    return null;
  }
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e] ?? '';
  });
}

export function plistDict(value: PlistValue | null | undefined): { [key: string]: PlistValue } | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
}

export function plistArray(value: PlistValue | null | undefined): PlistValue[] {
  return Array.isArray(value) ? value : [];
}
