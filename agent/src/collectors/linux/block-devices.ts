/**
 * The block-device graph lsblk describes, flattened: a device stacked on several others
 * (LVM over two PVs, RAID) appears once with every parent, however lsblk printed it.
 */
export interface BlockDevice {
  /** kname when lsblk gave it (stable `dm-0`), else name. */
  key: string;
  name: string;
  kname: string | null;
  majMin: string | null;
  /** disk, part, crypt, lvm, raid1, loop, rom… (null when lsblk was not asked for it) */
  type: string | null;
  fsType: string | null;
  mountPoints: string[];
  parents: string[];
}

export type BlockGraph = Map<string, BlockDevice>;

export interface DeviceRow {
  name: string;
  kname?: string | null;
  majMin?: string | null;
  type?: string | null;
  fsType?: string | null;
  mountPoints: string[];
  parentKey: string | null;
}

/** Adds one printed row to the graph, merging repeats of the same device. */
export function addDevice(graph: BlockGraph, row: DeviceRow): string {
  const key = row.kname || row.name;
  const existing = graph.get(key);
  if (existing) {
    for (const m of row.mountPoints) if (!existing.mountPoints.includes(m)) existing.mountPoints.push(m);
    if (row.parentKey && !existing.parents.includes(row.parentKey)) existing.parents.push(row.parentKey);
    return key;
  }
  graph.set(key, {
    key,
    name: row.name,
    kname: row.kname ?? null,
    majMin: row.majMin ?? null,
    type: row.type ?? null,
    fsType: row.fsType ?? null,
    mountPoints: [...row.mountPoints],
    parents: row.parentKey ? [row.parentKey] : [],
  });
  return key;
}

/** Finds the device a mount's source names: /dev/sda1, /dev/mapper/x, /dev/dm-0, or by major:minor. */
export function findDevice(graph: BlockGraph, source: string, majMin: string | null): BlockDevice | null {
  // Major 0 is an anonymous device (btrfs reports one per subvolume): only the path can tell.
  if (majMin && !majMin.startsWith('0:')) {
    for (const d of graph.values()) if (d.majMin === majMin) return d;
  }
  const wanted = source.startsWith('/dev/mapper/') ? source.slice('/dev/mapper/'.length) : source.replace(/^\/dev\//, '');
  for (const d of graph.values()) {
    const names = [d.name, d.kname].filter((n): n is string => !!n).map((n) => n.replace(/^\/dev\/(mapper\/)?/, ''));
    if (names.includes(wanted)) return d;
  }
  return null;
}

export interface DmCryptLayer {
  /** The crypt mapping (`cryptdata`, `nvme0n1p3_crypt`). */
  device: BlockDevice;
  /** The device holding the header: crypto_LUKS for LUKS, anything for plain dm-crypt. */
  backing: BlockDevice | null;
}

/**
 * Whether everything under `device` passes through dm-crypt: the device is a crypt
 * mapping, or every one of its parents is encrypted. Data spread over one encrypted and
 * one plain PV is not encrypted.
 */
export function dmCryptLayers(graph: BlockGraph, device: BlockDevice): DmCryptLayer[] | null {
  const memo = new Map<string, DmCryptLayer[] | null>();
  const visit = (d: BlockDevice, seen: Set<string>): DmCryptLayer[] | null => {
    const cached = memo.get(d.key);
    if (cached !== undefined) return cached;
    if (seen.has(d.key)) return null;
    seen.add(d.key);
    const parents = d.parents.map((k) => graph.get(k)).filter((p): p is BlockDevice => !!p);
    let result: DmCryptLayer[] | null;
    // lsblk -f output has no TYPE; a child of a crypto_LUKS device can only be its mapping.
    if (d.type === 'crypt' || (d.type === null && parents.some((p) => p.fsType === 'crypto_LUKS'))) {
      result = [{ device: d, backing: parents[0] ?? null }];
    } else if (parents.length === 0) {
      result = null;
    } else {
      const layers: DmCryptLayer[] = [];
      result = layers;
      for (const p of parents) {
        const sub = visit(p, seen);
        if (!sub) {
          result = null;
          break;
        }
        for (const l of sub) if (!layers.some((x) => x.device.key === l.device.key)) layers.push(l);
      }
    }
    seen.delete(d.key);
    memo.set(d.key, result);
    return result;
  };
  return visit(device, new Set());
}
