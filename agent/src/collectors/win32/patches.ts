import type { PatchesSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, okSection, succeeded } from '../section.js';
import { parseRegQuery } from './parse-reg-query.js';
import { parseHotFixJson, parseWindowsUpdateSearch } from './parse-windows-update.js';
import { powershellErrorReason, runPowerShell } from './powershell.js';

/** A Windows Update search asks Microsoft (or WSUS) and takes from seconds to minutes. */
export const WINDOWS_UPDATE_TIMEOUT_MS = 5 * 60_000;
export const WINDOWS_UPDATE_SCRIPT =
  "$searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher(); " +
  "$result = $searcher.Search('IsInstalled=0 and Type=''Software'' and IsHidden=0'); " +
  'ConvertTo-Json -Depth 4 -InputObject @($result.Updates | ForEach-Object { [pscustomobject]@{ UpdateID = $_.Identity.UpdateID; Title = $_.Title; ' +
  'MsrcSeverity = $_.MsrcSeverity; KBArticleIDs = @($_.KBArticleIDs); CategoryIDs = @($_.Categories | ForEach-Object { $_.CategoryID }); RebootRequired = $_.RebootRequired } })';
export const HOTFIX_SCRIPT = 'ConvertTo-Json -InputObject @(Get-HotFix | Select-Object HotFixID, Description, InstalledOn)';
export const AU_POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU';

/**
 * Pending updates from a Windows Update Agent search (run on the slow schedule: it asks
 * Microsoft or WSUS). The last install is the newest hotfix date (Get-HotFix lists the
 * monthly cumulative updates); automatic updates come from group policy, and are
 * unknown (null) where no policy is set.
 */
export async function windowsPatches(ctx: ProbeContext): Promise<PatchesSection> {
  const [search, hotfix, policy] = await Promise.all([
    runPowerShell(ctx, WINDOWS_UPDATE_SCRIPT, WINDOWS_UPDATE_TIMEOUT_MS),
    runPowerShell(ctx, HOTFIX_SCRIPT),
    ctx.exec('reg', ['query', AU_POLICY_KEY]),
  ]);
  if (search.kind === 'failed') return errorSection(ctx, `Windows Update search: ${search.reason}`);
  if (search.kind === 'error') {
    const h = search.error.hresult === null ? '' : ` (0x${(search.error.hresult >>> 0).toString(16)})`;
    return errorSection(ctx, `${powershellErrorReason('Windows Update search', search.error)}${h}: check the network connection to Windows Update or WSUS`);
  }
  const pending = parseWindowsUpdateSearch(search.stdout);
  if (!pending) return errorSection(ctx, 'unrecognised Windows Update search output');
  return okSection(ctx, {
    pending: pending.pending,
    pending_security: pending.security,
    pending_security_unit: 'packages' as const,
    last_installed_at: hotfix.kind === 'output' ? (parseHotFixJson(hotfix.stdout)?.latest ?? null) : null,
    auto_updates: succeeded(policy) ? autoUpdatePolicy(parseRegQuery(policy.stdout)) : null,
    source: 'windows_update',
  });
}

/**
 * Group policy for Automatic Updates: NoAutoUpdate=1 turns them off; AUOptions 2 and 3
 * only notify or download; 4, 5 and 7 install. null when the policy says neither.
 */
function autoUpdatePolicy(values: ReturnType<typeof parseRegQuery>): boolean | null {
  if (values.get('noautoupdate')?.value === 1) return false;
  const options = values.get('auoptions')?.value;
  if (options === 2 || options === 3) return false;
  if (options === 4 || options === 5 || options === 7) return true;
  return null;
}
