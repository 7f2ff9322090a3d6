/**
 * The order volumes are reported in: the system volume first, then by mount in code-unit order.
 * Not localeCompare: the order must not depend on the runtime's locale, and ICU's collation
 * data costs the process about 3 MB resident once touched.
 */
export function systemVolumeFirst(a: { mount: string; system?: boolean }, b: { mount: string; system?: boolean }): number {
  if (a.system !== b.system) return a.system ? -1 : 1;
  return a.mount < b.mount ? -1 : a.mount > b.mount ? 1 : 0;
}
