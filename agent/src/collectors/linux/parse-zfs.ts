/** `zfs get -H -o name,value encryption <dataset>…`: dataset → "off" | "aes-256-gcm" | …; tab separated. */
export function parseZfsEncryption(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [name, value] = line.split('\t');
    if (name && value) result.set(name, value.trim());
  }
  return result;
}

/**
 * `zpool list -v -H -P -L <pool>`: the pool line, then one tab-indented line per vdev;
 * with -P -L the leaf vdevs are real device paths. Grouping rows (mirror-0, raidz1-0,
 * logs, cache) have no path and are skipped.
 */
export function parseZpoolLeafDevices(text: string): string[] {
  const devices: string[] = [];
  for (const line of text.split('\n')) {
    if (!/^\s/.test(line)) continue;
    const first = line.trim().split('\t')[0]?.trim();
    if (first?.startsWith('/')) devices.push(first);
  }
  return devices;
}
