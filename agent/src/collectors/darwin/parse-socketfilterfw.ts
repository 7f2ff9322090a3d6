/** The application firewall's global state: 0 off, 1 on, 2 on and blocking all incoming. */
export type AlfState = 0 | 1 | 2;

/**
 * `socketfilterfw --getglobalstate` (no root). The number in `(State = N)` decides: the
 * words changed between releases, and block-all (2) reads `Firewall is enabled. (State =
 * 2)` on older macOS but `Firewall is blocking all non-essential incoming connections.
 * (State = 2)` on newer ones, without the word "enabled". Without a number the wording
 * decides (`--setblockall on` prints `Firewall is set to block all non-essential …`).
 * null for anything else, including `--listapps`' per-app `(state: 1)`.
 */
export function parseAlfGlobalState(text: string): AlfState | null {
  const n = /\(State = (\d)\)/.exec(text)?.[1];
  if (n !== undefined) return n === '0' || n === '1' || n === '2' ? (Number(n) as AlfState) : null;
  if (/^Firewall is (?:set to )?block(?:ing)? all\b/im.test(text)) return 2;
  if (/^Firewall is enabled\b/im.test(text)) return 1;
  if (/^Firewall is disabled\b/im.test(text)) return 0;
  return null;
}
