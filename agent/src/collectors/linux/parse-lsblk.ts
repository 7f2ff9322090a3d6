import { addDevice, type BlockGraph } from './block-devices.js';

/**
 * `lsblk -J` (util-linux ≥ 2.27). Accepts the columns this agent asks for and the
 * common variants: `-p` full paths, `mountpoints` arrays (≥ 2.37), values as strings
 * (older versions) or missing columns (`lsblk -fJp` has no TYPE). null when it is not
 * lsblk JSON.
 */
export function parseLsblkJson(text: string): BlockGraph | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const top = (doc as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(top)) return null;
  const graph: BlockGraph = new Map();
  const walk = (nodes: unknown[], parentKey: string | null, depth: number): boolean => {
    if (depth > 32) return false;
    for (const node of nodes) {
      if (typeof node !== 'object' || node === null) return false;
      const n = node as Record<string, unknown>;
      if (typeof n.name !== 'string') return false;
      const mountPoints = [
        ...(Array.isArray(n.mountpoints) ? n.mountpoints : []),
        ...(n.mountpoint === undefined ? [] : [n.mountpoint]),
      ].filter((m): m is string => typeof m === 'string' && m.length > 0);
      const key = addDevice(graph, {
        name: n.name,
        kname: str(n.kname),
        majMin: str(n['maj:min']),
        type: str(n.type),
        fsType: str(n.fstype),
        mountPoints,
        parentKey,
      });
      if (n.children !== undefined && (!Array.isArray(n.children) || !walk(n.children, key, depth + 1))) return false;
    }
    return true;
  };
  return walk(top, null, 0) ? graph : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

const TREE_PREFIX = /^[\s│├└─|`-]*/u;

/**
 * lsblk's default tree table, for util-linux older than 2.27 (no -J, e.g. EL7). Column
 * starts come from the header: TYPE, FSTYPE and MOUNTPOINT are left-aligned under it,
 * and an empty cell is blank. Rows without a TYPE ("[snip]", blank lines) are skipped.
 */
export function parseLsblkTree(text: string): BlockGraph | null {
  const lines = text.split('\n');
  const headerIndex = lines.findIndex((l) => /^NAME\s/.test(l));
  if (headerIndex < 0) return null;
  const header = lines[headerIndex]!;
  const col = (name: string): number => {
    const m = new RegExp(`(^|\\s)${name}(\\s|$)`).exec(header);
    return m ? m.index + m[1]!.length : -1;
  };
  const typeAt = col('TYPE');
  if (typeAt < 0) return null;
  const fsTypeAt = col('FSTYPE');
  const mountAt = Math.max(col('MOUNTPOINT'), col('MOUNTPOINTS'));
  const graph: BlockGraph = new Map();
  const stack: string[] = []; // keys by depth
  let lastKey: string | null = null;
  for (const row of lines.slice(headerIndex + 1)) {
    const cell = (at: number): string => (at >= 0 && row.length > at ? (/^\S*/.exec(row.slice(at))?.[0] ?? '') : '');
    const type = cell(typeAt);
    const mount = mountAt >= 0 && row.length > mountAt ? unescapeLsblk(row.slice(mountAt).trim()) : '';
    if (!type) {
      // MOUNTPOINTS puts a device's further mount points on rows of their own.
      if (mount && lastKey && /^[\s│|]*$/u.test(row.slice(0, mountAt))) graph.get(lastKey)!.mountPoints.push(mount);
      continue;
    }
    const prefix = TREE_PREFIX.exec(row)![0];
    const name = /^\S+/.exec(row.slice(prefix.length))?.[0];
    if (!name) continue;
    const depth = Math.floor(prefix.length / 2);
    const majMin = row.split(/\s+/).find((t) => /^\d+:\d+$/.test(t)) ?? null;
    const key = addDevice(graph, {
      name,
      majMin,
      type,
      fsType: cell(fsTypeAt) || null,
      mountPoints: mount ? [mount] : [],
      parentKey: depth > 0 ? (stack[depth - 1] ?? null) : null,
    });
    stack[depth] = key;
    stack.length = depth + 1;
    lastKey = key;
  }
  return graph.size > 0 ? graph : null;
}

/** lsblk's text output escapes unsafe characters as \xHH. */
function unescapeLsblk(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
