import type { AntivirusSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, okSection } from '../section.js';
import { parseDefenderStatus, parseSecurityCenterProducts, parseWscHealth } from './parse-security-center.js';
import { isCommandNotFound, powershellErrorReason, runPowerShell, type PowerShellOutcome } from './powershell.js';

export const SECURITY_CENTER_SCRIPT =
  "ConvertTo-Json -Depth 3 -InputObject ([pscustomobject]@{ antiVirus = @(Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName AntiVirusProduct | Select-Object displayName, productState, timestamp) })";
/** The health Windows Security shows, from wscapi.dll (Add-Type compiles the P/Invoke declaration). */
export const WSC_HEALTH_SCRIPT =
  '$q = [char]34; Add-Type -Namespace Postern -Name Wsc -MemberDefinition (' +
  "'[DllImport(' + $q + 'wscapi.dll' + $q + ')] public static extern int WscGetSecurityProviderHealth(int providers, out int health);'); " +
  '$providers = [ordered]@{ firewall = 1; autoUpdate = 2; antiVirus = 4; antiSpyware = 8; internetSettings = 16; uac = 32; securityCenterService = 64 }; ' +
  '$health = [ordered]@{}; foreach ($k in @($providers.Keys)) { $h = 0; $null = [Postern.Wsc]::WscGetSecurityProviderHealth($providers[$k], [ref]$h); $health[$k] = $h }; ' +
  'ConvertTo-Json -Compress -InputObject $health';
export const DEFENDER_STATUS_SCRIPT = 'ConvertTo-Json -InputObject (Get-MpComputerStatus)';

/**
 * Antivirus products as Windows Security knows them: Security Center's registry
 * (productState says on/off and signatures current or not) and its overall health,
 * where a snoozed antivirus is not active. Windows Server has no Security Center:
 * there Microsoft Defender's own status is all there is.
 */
export async function windowsAntivirus(ctx: ProbeContext): Promise<AntivirusSection> {
  const [center, wsc] = await Promise.all([runPowerShell(ctx, SECURITY_CENTER_SCRIPT), runPowerShell(ctx, WSC_HEALTH_SCRIPT)]);
  const products = center.kind === 'output' ? parseSecurityCenterProducts(center.stdout) : null;
  if (products) {
    const health = wsc.kind === 'output' ? parseWscHealth(wsc.stdout)?.antiVirus : undefined;
    const active = health === 'snooze' ? false : products.some((p) => p.enabled) || health === 'good';
    return okSection(ctx, { active, products });
  }
  if (center.kind === 'output') return errorSection(ctx, 'unrecognised Security Center output');
  return defenderOnly(ctx, center);
}

async function defenderOnly(ctx: ProbeContext, center: PowerShellOutcome): Promise<AntivirusSection> {
  const defender = await runPowerShell(ctx, DEFENDER_STATUS_SCRIPT);
  if (defender.kind === 'output') {
    const product = parseDefenderStatus(defender.stdout);
    if (!product) return errorSection(ctx, 'unrecognised Get-MpComputerStatus output');
    return okSection(ctx, { active: product.enabled, products: [product] });
  }
  if (defender.kind === 'error' && isCommandNotFound(defender.error)) {
    return errorSection(ctx, 'cannot list antivirus products: Security Center is absent (Windows Server) and Microsoft Defender is not installed');
  }
  const why = defender.kind === 'error' ? powershellErrorReason('Get-MpComputerStatus', defender.error) : defender.reason;
  const centerWhy = center.kind === 'error' ? powershellErrorReason('Security Center', center.error) : center.kind === 'failed' ? center.reason : '';
  return errorSection(ctx, centerWhy ? `${centerWhy}; ${why}` : why);
}
