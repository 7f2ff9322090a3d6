/** One line of /proc/self/mountinfo (proc(5)). */
export interface Mount {
  majMin: string;
  /** Path inside the filesystem that is mounted: "/" for a whole filesystem, else a bind or btrfs subvolume. */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string[];
}

/** Unparseable lines are skipped: the kernel's format is fixed, damage is local. */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 6 || right.length < 2) continue;
    mounts.push({
      majMin: left[2]!,
      root: unescapeOctal(left[3]!),
      mountPoint: unescapeOctal(left[4]!),
      fsType: right[0]!,
      source: unescapeOctal(right[1]!),
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return mounts;
}

/** The kernel writes space, tab, newline and backslash as \040, \011, \012, \134. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
