import { plistArray, plistDict, type PlistValue } from './parse-plist.js';

/** One APFS volume of `diskutil apfs list -plist`. */
export interface ApfsVolume {
  name: string;
  device: string;
  roles: string[];
  /** Encrypted at rest: FileVault, or the hardware encryption of Apple silicon and T2. */
  encryption: boolean;
  filevault: boolean;
  cryptoMigrationOn: boolean;
}

/** Volumes grouped by container, as diskutil lists them. null when it is not that listing. */
export function parseDiskutilApfsList(plist: PlistValue | null): ApfsVolume[][] | null {
  const containers = plistDict(plist)?.Containers;
  if (!Array.isArray(containers)) return null;
  return containers.map((c) =>
    plistArray(plistDict(c)?.Volumes).flatMap((v): ApfsVolume[] => {
      const d = plistDict(v);
      if (!d || typeof d.DeviceIdentifier !== 'string') return [];
      return [
        {
          name: typeof d.Name === 'string' ? d.Name : d.DeviceIdentifier,
          device: d.DeviceIdentifier,
          roles: plistArray(d.Roles).filter((r): r is string => typeof r === 'string'),
          encryption: d.Encryption === true,
          filevault: d.FileVault === true,
          cryptoMigrationOn: d.CryptoMigrationOn === true,
        },
      ];
    }),
  );
}

/**
 * The volume that holds the user's data on the boot disk: the `Data` volume of the
 * container that also has the `System` volume (Catalina and later), or the `System`
 * volume itself when there is no separate data volume. null when none is found.
 */
export function systemDataVolume(containers: ApfsVolume[][]): ApfsVolume | null {
  for (const volumes of containers) {
    const system = volumes.find((v) => v.roles.includes('System'));
    if (!system) continue;
    return volumes.find((v) => v.roles.includes('Data')) ?? system;
  }
  return null;
}
