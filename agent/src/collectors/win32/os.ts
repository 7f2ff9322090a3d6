import type { OsSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { parseCurrentVersionJson, parseWmicOsCsv, type WindowsVersion } from './parse-current-version.js';
import { runPowerShell } from './powershell.js';

/** The CurrentVersion key's facts, plus where cnquery's detector (whose output the fixtures hold) reads the rest. */
export const CURRENT_VERSION_SCRIPT =
  "$cv = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'; " +
  "$po = Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\ProductOptions'; " +
  "$se = Get-ItemProperty -Path 'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment'; " +
  'ConvertTo-Json -InputObject ([pscustomobject]@{ CurrentBuild = $cv.CurrentBuild; UBR = $cv.UBR; InstallationType = $cv.InstallationType; ' +
  'EditionID = $cv.EditionID; ProductName = $cv.ProductName; DisplayVersion = $cv.DisplayVersion; Architecture = $env:PROCESSOR_ARCHITECTURE; OsArchitecture = $se.PROCESSOR_ARCHITECTURE; ProductType = $po.ProductType })';
export const WMIC_OS_ARGS = ['os', 'get', '*', '/format:csv'];

/**
 * Windows version from the registry (with the patch level, UBR), classified by build
 * because Windows 11 calls itself Windows 10 there; wmic when PowerShell cannot run.
 */
export async function windowsOs(ctx: ProbeContext): Promise<OsSection> {
  const ps = await runPowerShell(ctx, CURRENT_VERSION_SCRIPT);
  let version: WindowsVersion | null = ps.kind === 'output' ? parseCurrentVersionJson(ps.stdout) : null;
  if (!version) {
    const wmic = await ctx.exec('wmic', WMIC_OS_ARGS);
    version = succeeded(wmic) ? parseWmicOsCsv(wmic.stdout) : null;
  }
  if (!version) {
    const why = ps.kind === 'output' ? 'unrecognised registry output' : ps.kind === 'error' ? ps.error.message.split(/\r?\n/)[0] : execFailureReason('powershell', ps.result);
    return errorSection(ctx, `cannot read the Windows version: ${why}`);
  }
  return okSection(ctx, {
    platform: 'win32' as const,
    id: 'windows',
    name: version.name,
    version: version.version,
    build: version.build,
    kernel: ctx.kernel,
    // process.arch is the agent's build (x64 Node runs emulated on ARM64 Windows); last resort only.
    arch: version.arch ?? ctx.arch,
  });
}
