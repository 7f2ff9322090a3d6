/** One update `softwareupdate --list` offers. */
export interface MacUpdate {
  /** The product label (`macOS Ventura 13.3.1-22E261`): not translated, unlike the title. */
  label: string;
  recommended: boolean;
  /** `restart` / `shut down` when installing it needs one: an OS or firmware update. */
  action: 'restart' | 'shut down' | null;
}

export type SoftwareUpdateList = { kind: 'updates'; updates: MacUpdate[] } | { kind: 'scan_failed'; reason: string };

/**
 * `softwareupdate --list` in both formats:
 * - Catalina and later: `* Label: X` then `\tTitle: T, Version: V, Size: S, Recommended: YES, Action: restart,`;
 * - before: `   * X` (or `   - X`: not recommended) then `\tT (V), 123K [recommended] [restart]`.
 * Titles are translated, so only labels and the bracketed or `Key: value` flags are
 * read. `No new software available.` is an empty list; a failed scan says why. null for
 * anything else.
 */
export function parseSoftwareUpdateList(text: string): SoftwareUpdateList | null {
  const failed = /^(?:Scan finished with error|Can't connect|.*Software Update (?:couldn't|could not))[^\n]*/im.exec(text);
  if (failed) {
    const description = /NSLocalizedDescription=([^,}]+)/.exec(failed[0])?.[1]?.trim();
    return { kind: 'scan_failed', reason: description ?? failed[0].slice(0, 120) };
  }
  const lines = text.split(/\r?\n/);
  const updates: MacUpdate[] = [];
  let found = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const next = lines[i + 1] ?? '';
    const modern = /^\s*\* Label: (.+?)\s*$/.exec(line);
    if (modern) {
      const recommended = /\bRecommended: YES\b/i.test(next);
      const action = /\bAction: (restart|shut down)\b/i.exec(next)?.[1]?.toLowerCase() as MacUpdate['action'] | undefined;
      updates.push({ label: modern[1]!, recommended, action: action ?? null });
      i += /^\s+Title:/.test(next) ? 1 : 0;
      continue;
    }
    const legacy = /^\s+([*-]) (.+?)\s*$/.exec(line);
    if (legacy && /^\s+\S/.test(next) && !/^\s+[*-] /.test(next)) {
      const action = /\[(restart|shut down)\]/i.exec(next)?.[1]?.toLowerCase() as MacUpdate['action'] | undefined;
      updates.push({ label: legacy[2]!, recommended: legacy[1] === '*' && /\[recommended\]/i.test(next), action: action ?? null });
      i += 1;
      continue;
    }
    if (/^No new software available\.?\s*$/i.test(line.trim()) || /found the following new or updated software/i.test(line)) found = true;
  }
  return found || updates.length > 0 ? { kind: 'updates', updates } : null;
}

/** `14.7.3` → `14`, `10.15.7` → `10.15`: the release line a version belongs to (10.x counted the second number). */
export function macOsReleaseLine(version: string): string | null {
  const parts = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!parts) return null;
  return parts[1] === '10' && parts[2] !== undefined ? `10.${parts[2]}` : parts[1]!;
}

/**
 * A macOS update of another release line than the running one (`macOS Sequoia 15.3.1`
 * offered to 14.7.3) is an upgrade to a new OS, not a fix of the one installed: its
 * security content is not missing from this Mac. false when either version is unknown.
 */
export function isOtherMacOsRelease(label: string, runningVersion: string | null): boolean {
  const offered = /^(?:macOS|Mac OS X|OS X)\b\D*?(\d+(?:\.\d+)*)/i.exec(label)?.[1];
  if (!offered || runningVersion === null) return false;
  const line = macOsReleaseLine(offered);
  const running = macOsReleaseLine(runningVersion);
  return line !== null && running !== null && line !== running;
}

/**
 * Whether an update carries security fixes for the running OS. Apple publishes security content for macOS
 * releases (including Rapid Security Responses and Security Updates), Safari, the T2's
 * BridgeOS and its malware definitions; anything that needs a restart or shutdown is an
 * OS or firmware update. Betas are never counted: they are opted into, not missed; nor
 * are macOS releases of another line than `runningVersion` (a major upgrade).
 */
export function isSecurityUpdate(label: string, action: MacUpdate['action'] = null, runningVersion: string | null = null): boolean {
  if (/\bbeta\b/i.test(label)) return false;
  if (isOtherMacOsRelease(label, runningVersion)) return false;
  if (action !== null) return true;
  return /^(?:macOS|OS X|Mac OS X|MSU_UPDATE|Security Update|Rapid Security|Background Security|Safari|XProtect|MRT|Gatekeeper|BridgeOS)/i.test(label);
}
