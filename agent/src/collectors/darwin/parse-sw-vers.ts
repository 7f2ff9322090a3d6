/** `sw_vers` (or SystemVersion.plist): the macOS product, version and build. */
export interface MacVersion {
  productName: string;
  productVersion: string;
  /** Rapid Security Response suffix such as `(a)`; null without one. */
  productVersionExtra: string | null;
  buildVersion: string | null;
}

/**
 * `ProductName:\tmacOS` lines, separated by tabs (or spaces as pasted). ProductName was
 * "Mac OS X" until Big Sur. With a Rapid Security Response applied a
 * `ProductVersionExtra: (a)` line follows ProductVersion, so keys are matched exactly.
 */
export function parseSwVers(text: string): MacVersion | null {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z]+):\s*(.*?)\s*$/.exec(line);
    if (m) fields[m[1]!] = m[2]!;
  }
  if (!fields.ProductVersion || !/^\d+(\.\d+)*$/.test(fields.ProductVersion)) return null;
  return {
    productName: fields.ProductName || 'macOS',
    productVersion: fields.ProductVersion,
    productVersionExtra: fields.ProductVersionExtra || null,
    buildVersion: fields.BuildVersion || null,
  };
}

/** `sysctl kern.osrelease hw.optional.arm64`: `name: value` lines. */
export function parseSysctl(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([a-z0-9_.]+):\s*(.*?)\s*$/.exec(line);
    if (m) values[m[1]!] = m[2]!;
  }
  return values;
}
