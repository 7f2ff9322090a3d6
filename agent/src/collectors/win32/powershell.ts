import { parseJson, asRecord } from '../json.js';
import { commandLine, type ExecResult, type ProbeContext } from '../probe.js';
import { execFailureReason } from '../section.js';

export const POWERSHELL = 'powershell.exe';
/** Windows PowerShell takes a second or more to start on a busy laptop; WMI can be slow too. */
export const POWERSHELL_TIMEOUT_MS = 60_000;

/**
 * Every script runs with errors made terminating and UTF-8 output without a byte-order
 * mark; a failure is printed as `{"postern_error":{type, message, hresult}}` so the
 * probe can tell "access denied" from "not supported" by the exception's type, which
 * no translation changes. Scripts use single quotes only, so Windows' command-line
 * quoting leaves them as written.
 */
const PREAMBLE = "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false";
const CATCH =
  'catch { $e = $_.Exception; [Console]::Out.Write((ConvertTo-Json -Compress -InputObject @{ postern_error = @{ type = $e.GetType().FullName; message = $e.Message; hresult = $e.HResult; native = [string]$e.NativeErrorCode } })); exit 1 }';

export function powershellArgs(script: string): string[] {
  return ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', `${PREAMBLE}; try { ${script} } ${CATCH}`];
}

/** The key a recording holds a script's answer under. */
export function powershellLine(script: string): string {
  return commandLine(POWERSHELL, powershellArgs(script));
}

export interface PowerShellError {
  /** .NET type of the exception, e.g. `System.UnauthorizedAccessException`. */
  type: string;
  message: string;
  hresult: number | null;
  /** A CIM (WMI) error's code name, which no translation changes: `AccessDenied`, `InvalidNamespace`, `InvalidClass`. */
  native: string | null;
}

export type PowerShellOutcome =
  | { kind: 'output'; stdout: string }
  | { kind: 'error'; error: PowerShellError }
  | { kind: 'failed'; reason: string; result: ExecResult };

export async function runPowerShell(ctx: ProbeContext, script: string, timeoutMs = POWERSHELL_TIMEOUT_MS): Promise<PowerShellOutcome> {
  const result = await ctx.exec(POWERSHELL, powershellArgs(script), { timeoutMs });
  const error = asRecord(asRecord(result.stdout.trimStart().startsWith('{"postern_error"') ? parseJson(result.stdout) : null)?.postern_error);
  if (error) {
    return {
      kind: 'error',
      error: {
        type: typeof error.type === 'string' ? error.type : 'unknown',
        message: typeof error.message === 'string' ? error.message : '',
        hresult: typeof error.hresult === 'number' ? error.hresult : null,
        native: typeof error.native === 'string' && error.native !== '' ? error.native : null,
      },
    };
  }
  if (result.failure || result.code !== 0) return { kind: 'failed', reason: execFailureReason('powershell', result), result };
  return { kind: 'output', stdout: result.stdout };
}

/** Access denied, whether said by the exception type, the HRESULT (WBEM_E_ACCESS_DENIED, E_ACCESSDENIED) or the English message. */
export function isAccessDenied(error: PowerShellError): boolean {
  const h = error.hresult === null ? null : error.hresult >>> 0;
  return (
    /UnauthorizedAccess/i.test(error.type) ||
    error.native === 'AccessDenied' ||
    h === 0x80041003 ||
    h === 0x80070005 ||
    /access (is |was )?denied|Zugriff verweigert|acc.s refus|acceso denegado/i.test(error.message)
  );
}

/** The WMI namespace or class does not exist: the Windows feature behind it is not installed. */
export function isMissingWmiClass(error: PowerShellError): boolean {
  const h = error.hresult === null ? null : error.hresult >>> 0;
  return (
    error.native === 'InvalidNamespace' ||
    error.native === 'InvalidClass' ||
    h === 0x8004100e ||
    h === 0x80041010 ||
    /invalid (namespace|class)/i.test(error.message)
  );
}

export function isCommandNotFound(error: PowerShellError): boolean {
  return /CommandNotFoundException/.test(error.type);
}

/** A short reason from a PowerShell error: the first line of its message. */
export function powershellErrorReason(what: string, error: PowerShellError): string {
  const first = error.message.split(/\r?\n/).find((l) => l.trim())?.trim() ?? error.type;
  return `${what} failed: ${first}`;
}
