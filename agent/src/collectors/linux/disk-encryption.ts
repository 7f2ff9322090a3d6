import type { DiskEncryptionSection, Volume } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { dmCryptLayers, findDevice, type BlockDevice, type BlockGraph, type DmCryptLayer } from './block-devices.js';
import { parseCryptsetupStatus, parseLuksDump } from './parse-cryptsetup.js';
import { parseLsblkJson, parseLsblkTree } from './parse-lsblk.js';
import { parseMountinfo, type Mount } from './parse-mountinfo.js';
import { parseZfsEncryption, parseZpoolLeafDevices } from './parse-zfs.js';
import { systemVolumeFirst } from '../volume-order.js';

export const LSBLK_JSON_ARGS = ['-J', '-o', 'NAME,KNAME,MAJ:MIN,TYPE,FSTYPE,MOUNTPOINT'];
/** The posture schema's limits. */
const MAX_VOLUMES = 256;
const MAX_MOUNT_LENGTH = 512;

/** Read-only images (snaps, live media) hold no user data worth a verdict. */
const IMAGE_FILESYSTEMS = new Set(['squashfs', 'erofs', 'iso9660', 'udf']);
const IMAGE_DEVICE_TYPES = new Set(['loop', 'rom']);

/** A mounted filesystem to report, and where its data lives. */
type Candidate = { mount: string; source: string } & (
  | { kind: 'block'; device: BlockDevice | null }
  | { kind: 'zfs'; dataset: string }
);

type VolumeFacts = Omit<Volume, 'mount' | 'system'>;
const PLAIN: VolumeFacts = { encrypted: false, method: null, state: 'off' };

export async function linuxDiskEncryption(ctx: ProbeContext): Promise<DiskEncryptionSection> {
  const [mountinfo, graph] = await Promise.all([ctx.readFile('/proc/self/mountinfo'), readBlockGraph(ctx)]);
  const mounts = mountinfo === null ? null : parseMountinfo(mountinfo);

  const root = mounts ? [...mounts].reverse().find((m) => m.mountPoint === '/') : undefined;
  if (root && !root.source.startsWith('/dev/') && root.fsType !== 'zfs') {
    return errorSection(
      ctx,
      `/ is on ${root.fsType} (${root.source}), not a block device: run the agent on the host, not in a container`,
    );
  }

  let candidates: Candidate[];
  if (mounts && mounts.length > 0) {
    candidates = filesystemsToReport(mounts).map((m): Candidate =>
      m.fsType === 'zfs'
        ? { kind: 'zfs', mount: m.mountPoint, source: m.source, dataset: m.source }
        : { kind: 'block', mount: m.mountPoint, source: m.source, device: typeof graph === 'string' ? null : findDevice(graph, m.source, m.majMin) },
    );
    if (typeof graph === 'string' && candidates.some((c) => c.kind === 'block')) return errorSection(ctx, graph);
  } else {
    // No /proc (chroot, odd sandbox): lsblk's own MOUNTPOINT column is all there is.
    if (typeof graph === 'string') return errorSection(ctx, graph);
    candidates = mountsFromLsblk(graph);
  }

  const crypt = cryptMethodReader(ctx);
  const zfs = zfsReader(ctx, candidates);
  const volumes: Volume[] = [];
  for (const c of candidates) {
    let facts: VolumeFacts | string;
    if (c.kind === 'zfs') {
      facts = await zfs.facts(c.dataset, typeof graph === 'string' ? null : graph, crypt);
    } else if (!c.device) {
      facts = `cannot find the device of ${c.mount} (${c.source}) in lsblk output`;
    } else if (c.device.type && IMAGE_DEVICE_TYPES.has(c.device.type)) {
      continue;
    } else {
      facts = await dmCryptFacts(dmCryptLayers(graph as BlockGraph, c.device), crypt);
    }
    if (typeof facts === 'string') {
      // Never guess: the system volume must be known, other unknowns are left out.
      if (c.mount === '/') return errorSection(ctx, facts);
      continue;
    }
    if (c.mount.length > MAX_MOUNT_LENGTH) continue;
    volumes.push(c.mount === '/' ? { mount: c.mount, ...facts, system: true } : { mount: c.mount, ...facts });
  }
  volumes.sort(systemVolumeFirst);
  if (!volumes.some((v) => v.system)) return errorSection(ctx, 'cannot find the filesystem mounted at /');
  return okSection(ctx, { volumes: volumes.slice(0, MAX_VOLUMES) });
}

async function readBlockGraph(ctx: ProbeContext): Promise<BlockGraph | string> {
  const json = await ctx.exec('lsblk', LSBLK_JSON_ARGS);
  if (json.failure === 'not_found') return 'lsblk not found: install util-linux';
  if (succeeded(json)) {
    const graph = parseLsblkJson(json.stdout);
    return graph ?? 'unrecognised lsblk output';
  }
  // util-linux older than 2.27 (EL7) has no -J; its default tree table has the same tree.
  const tree = await ctx.exec('lsblk', []);
  if (succeeded(tree)) return parseLsblkTree(tree.stdout) ?? 'unrecognised lsblk output';
  return execFailureReason('lsblk', json);
}

/**
 * Real filesystems: block-device or ZFS mounts of a whole filesystem or btrfs subvolume.
 * Bind mounts (a container's /etc/hosts), pseudo and network filesystems are left out;
 * when a mount point is mounted over, the newest mount is the one in use.
 */
function filesystemsToReport(mounts: Mount[]): Mount[] {
  const byMountPoint = new Map<string, Mount>();
  for (const m of mounts) {
    byMountPoint.delete(m.mountPoint);
    byMountPoint.set(m.mountPoint, m);
  }
  return [...byMountPoint.values()].filter((m) => {
    if (m.fsType === 'zfs') return true;
    if (!m.source.startsWith('/dev/') || IMAGE_FILESYSTEMS.has(m.fsType)) return false;
    if (m.root === '/') return true;
    return m.fsType === 'btrfs' && m.superOptions.includes(`subvol=${m.root}`);
  });
}

function mountsFromLsblk(graph: BlockGraph): Candidate[] {
  const candidates: Candidate[] = [];
  for (const device of graph.values()) {
    if ((device.fsType && IMAGE_FILESYSTEMS.has(device.fsType)) || (device.type && IMAGE_DEVICE_TYPES.has(device.type))) continue;
    for (const mount of device.mountPoints) {
      // "[SWAP]" and other bracketed entries are not mount points.
      if (mount.startsWith('/')) candidates.push({ kind: 'block', mount, source: device.name, device });
    }
  }
  return candidates;
}

type CryptMethodReader = (layer: DmCryptLayer) => Promise<string>;

/**
 * The LUKS version comes from `cryptsetup status`, which needs root. Without it the
 * backing device's crypto_LUKS signature still says LUKS; a crypt mapping without one is
 * plain dm-crypt (or lsblk could not say), reported as such rather than guessed.
 */
function cryptMethodReader(ctx: ProbeContext): CryptMethodReader {
  const cache = new Map<string, Promise<string>>();
  const fallback = (layer: DmCryptLayer) => (layer.backing?.fsType === 'crypto_LUKS' ? 'luks' : 'dm-crypt');
  return (layer) => {
    const name = layer.device.name.replace(/^\/dev\/mapper\//, '');
    let method = cache.get(name);
    if (!method) {
      // A mapping name is device data: one that looks like an option is not passed on.
      method = ctx.isPrivileged && !name.startsWith('-')
        ? ctx.exec('cryptsetup', ['status', name]).then(async (r) => {
            const status = r.failure ? null : parseCryptsetupStatus(r.stdout);
            if (!status?.active || !status.method) return fallback(layer);
            return status.method === 'luks2' && (await usesOpal(ctx, layer)) ? 'luks2-opal' : status.method;
          })
        : Promise.resolve(fallback(layer));
      cache.set(name, method);
    }
    return method;
  };
}

/**
 * Whether a LUKS2 mapping's header names the drive's OPAL hardware encryption: a fact
 * worth reporting, since it then rests on the drive's firmware rather than on dm-crypt.
 */
async function usesOpal(ctx: ProbeContext, layer: DmCryptLayer): Promise<boolean> {
  const backing = layer.backing;
  if (!backing) return false;
  const name = backing.kname ?? backing.name;
  const path = name.startsWith('/dev/') ? name : `/dev/${name}`;
  if (!/^\/dev\/[A-Za-z0-9._/-]+$/.test(path)) return false;
  const r = await ctx.exec('cryptsetup', ['luksDump', path]);
  return succeeded(r) && parseLuksDump(r.stdout)?.opal === true;
}

async function dmCryptFacts(layers: DmCryptLayer[] | null, crypt: CryptMethodReader): Promise<VolumeFacts> {
  if (!layers) return PLAIN;
  const methods = [...new Set(await Promise.all(layers.map(crypt)))].sort();
  return { encrypted: true, method: methods.join('+'), state: 'on' };
}

/**
 * ZFS: native encryption is a dataset property (`zfs get`, no root needed). A dataset
 * without it may still sit on a pool whose vdevs are LUKS mappings, so those are
 * checked before saying "off".
 */
function zfsReader(ctx: ProbeContext, candidates: Candidate[]) {
  // ZFS names start with a letter or digit; anything else is not passed to zfs as an argument.
  const datasets = candidates.flatMap((c) => (c.kind === 'zfs' && /^[A-Za-z0-9]/.test(c.dataset) ? [c.dataset] : []));
  let properties: Promise<Map<string, string> | string> | undefined;
  const pools = new Map<string, Promise<string[] | null>>();
  const readProperties = () =>
    (properties ??= ctx.exec('zfs', ['get', '-H', '-o', 'name,value', 'encryption', ...datasets]).then((r) =>
      succeeded(r) ? parseZfsEncryption(r.stdout) : execFailureReason('zfs', r),
    ));
  const readPool = (pool: string) => {
    let leaves = pools.get(pool);
    if (!leaves) {
      leaves = ctx
        .exec('zpool', ['list', '-v', '-H', '-P', '-L', pool])
        .then((r) => (succeeded(r) ? parseZpoolLeafDevices(r.stdout) : null));
      pools.set(pool, leaves);
    }
    return leaves;
  };
  return {
    async facts(dataset: string, graph: BlockGraph | null, crypt: CryptMethodReader): Promise<VolumeFacts | string> {
      const props = await readProperties();
      if (typeof props === 'string') return `cannot read ZFS encryption of ${dataset}: ${props}`;
      const value = props.get(dataset);
      if (!value) return `cannot read ZFS encryption of ${dataset}`;
      if (value !== 'off') return { encrypted: true, method: 'zfs', state: 'on' };
      const leaves = await readPool(dataset.split('/')[0]!);
      const devices = graph && leaves?.length ? leaves.map((p) => findDevice(graph, p, null)) : [];
      if (devices.length === 0 || devices.some((d) => !d)) return `cannot tell which devices hold ZFS dataset ${dataset}`;
      const layers = devices.map((d) => dmCryptLayers(graph!, d!));
      if (layers.some((l) => !l)) return PLAIN;
      return dmCryptFacts(layers.flatMap((l) => l!), crypt);
    },
  };
}
