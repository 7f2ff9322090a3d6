import { asNumber, asRecord, asString, parseJson } from '../json.js';

/** Windows' version facts, from the registry or WMI. */
export interface WindowsVersion {
  /** Product name as Windows 11 really is, e.g. `Windows 11 Pro` (see windowsName). */
  name: string;
  /** `10.0.<build>.<UBR>`: the UBR is the monthly patch level. */
  version: string;
  build: string;
  /** The OS's architecture in Node's names (`x64`, `arm64`, `ia32`), null when not said. */
  arch: string | null;
}

/**
 * PROCESSOR_ARCHITECTURE as the OS records it (AMD64, ARM64, x86) in Node's names. An
 * x64 Node under emulation on ARM64 Windows has process.arch `x64`: only the OS can say.
 */
export function windowsArch(value: string | null): string | null {
  const v = value?.trim().toUpperCase();
  if (v === 'AMD64' || v === 'X64') return 'x64';
  if (v === 'ARM64') return 'arm64';
  if (v === 'X86') return 'ia32';
  return null;
}

/** Windows 11 kept "10.0" and, in the registry's ProductName, "Windows 10": only the build tells. */
export const FIRST_WINDOWS_11_BUILD = 22000;

/**
 * `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion` as ConvertTo-Json prints it
 * (CurrentBuild, UBR, ProductName, InstallationType, …). DisplayVersion is null on
 * Server 2019 and not used. null when CurrentBuild is missing.
 */
export function parseCurrentVersionJson(text: string): WindowsVersion | null {
  const v = asRecord(parseJson(text));
  const build = asString(v?.CurrentBuild) ?? (asNumber(v?.CurrentBuild) === null ? null : String(v?.CurrentBuild));
  if (!build || !/^\d+$/.test(build)) return null;
  const ubr = asNumber(v?.UBR);
  return {
    name: windowsName(asString(v?.ProductName) ?? 'Windows', Number(build), asString(v?.InstallationType)),
    version: ubr === null ? `10.0.${build}` : `10.0.${build}.${ubr}`,
    build,
    // OsArchitecture is the registry's (machine-wide) value; Architecture, PowerShell's own environment.
    arch: windowsArch(asString(v?.OsArchitecture)) ?? windowsArch(asString(v?.Architecture)),
  };
}

/**
 * The product name, corrected: client builds from 22000 on are Windows 11 whatever the
 * registry says. Server names are left alone (Server 2022 is build 20348, Server 2025
 * 26100, and they are not "Windows 11").
 */
export function windowsName(productName: string, build: number, installationType: string | null): string {
  const name = productName.replace(/^Microsoft\s+/i, '').trim();
  const server = /server/i.test(name) || /server/i.test(installationType ?? '');
  if (!server && build >= FIRST_WINDOWS_11_BUILD) return name.replace(/^Windows 10\b/, 'Windows 11');
  return name;
}

/** Win32_OperatingSystem.OSArchitecture: `64-bit`, `32-bit`, `ARM 64-bit Processor` (the word for "bit" is translated, the digits are not). */
function wmicArch(value: string): string | null {
  if (/arm/i.test(value)) return /64/.test(value) ? 'arm64' : null;
  if (/64/.test(value)) return 'x64';
  if (/32/.test(value)) return 'ia32';
  return null;
}

/**
 * `wmic os get * /format:csv` (deprecated, gone from new Windows 11 installs; the
 * fallback when PowerShell cannot run): a blank line, a header with a Node column, then
 * one row. Caption is translated ("Microsoft Windows 11 Professionnel") but names the
 * product all the same. null without Caption and BuildNumber.
 */
export function parseWmicOsCsv(text: string): WindowsVersion | null {
  const rows = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (rows.length < 2) return null;
  const header = rows[0]!.split(',');
  const values = rows[1]!.split(',');
  // Caption has no commas; later fields might, so columns are read from the header's positions.
  const field = (name: string) => {
    const i = header.indexOf(name);
    return i >= 0 ? (values[i] ?? '').trim() : '';
  };
  const build = field('BuildNumber');
  const caption = field('Caption');
  if (!/^\d+$/.test(build) || !caption) return null;
  const version = /^\d+\.\d+\.\d+$/.test(field('Version')) ? field('Version') : `10.0.${build}`;
  return { name: windowsName(caption, Number(build), null), version, build, arch: wmicArch(field('OSArchitecture')) };
}
