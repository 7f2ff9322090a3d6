<#
.SYNOPSIS
  Installs the Postern agent (one self-contained postern-agent.exe, its Node.js runtime inside)
  as a Windows service, enrolls it, and starts it. Run from an elevated Windows PowerShell 5.1
  (powershell.exe). Safe to run again: it upgrades the program and keeps the enrollment.

.DESCRIPTION
  - Takes postern-agent.exe from -ExePath, or downloads the newest
    postern-agent-<version>-windows-x64.exe from a Postern server (-Server, or -From a URL or
    folder) and checks it against the server's SHA256SUMS before anything is installed.
  - Compiles a small service launcher (bin\postern-agent-service.exe) with Add-Type, from the C#
    below, with the compiler of the .NET Framework that every Windows has. The agent is not a
    Windows service program (it does not answer the service control manager), so the launcher
    is the service: it starts "postern-agent.exe run", writes its output to
    "$env:ProgramData\Postern\logs\agent.log", stops the whole process tree on service stop,
    and exits with an error when the agent dies, so the recovery actions restart it. When the
    agent exits with status 3 (device revoked or enrollment expired: restarting cannot help),
    it logs that and stops the service cleanly instead, so the recovery actions leave it stopped.
    (Chosen over WinSW, e.g. the copy node-windows ships: no third-party executable and XML
    configuration to ship and keep patched, and the exit-status-3 rule needs code anyway.)
  - Registers the service "PosternAgent" with New-Service, delayed automatic start, and
    recovery actions restart after 5 s, 30 s, then every 2 min (failure counter reset daily).

  The service runs as LocalSystem because its probes need it: Get-BitLockerVolume and
  manage-bde (the MicrosoftVolumeEncryption WMI namespace is for administrators only),
  Confirm-SecureBootUEFI, and the Security Center / Defender status. The device key and
  state in "$env:ProgramData\Postern\agent" are readable by SYSTEM and Administrators only.

  The enrollment token is asked for at the console (hidden input) unless -TokenFile or
  POSTERN_ENROLL_TOKEN gives it: it never appears in a URL or on a command line, which any user
  can read in the process list.

.EXAMPLE
  A Postern server serves this script, defaulting to itself, as /install/windows.ps1:
  $f = "$env:TEMP\postern-install.ps1"; Invoke-WebRequest -UseBasicParsing https://postern.example.com/install/windows.ps1 -OutFile $f; powershell.exe -ExecutionPolicy Bypass -File $f -Server https://postern.example.com

.EXAMPLE
  powershell.exe -ExecutionPolicy Bypass -File install-service.ps1 -ExePath .\postern-agent-0.1.0-windows-x64.exe -Server https://postern.corp.internal -CaFile C:\corp-ca.pem

  With a private CA: the file is copied to "$env:ProgramData\Postern\agent\server-ca.pem" and
  enrollment saves that path in the agent's state, so the service trusts it too. (Node.js does
  not read the Windows certificate store: a CA installed there alone is not trusted.)

.EXAMPLE
  powershell.exe -ExecutionPolicy Bypass -File install-service.ps1 -Uninstall [-Purge]
#>
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
  # The Postern server to enroll with and to download the agent from.
  [Alias('EnrollServer')]
  [string]$Server,
  # A postern-agent-<version>-windows-x64.exe already downloaded (checked by you).
  [string]$ExePath,
  # Where the artefacts and SHA256SUMS are: a URL or a folder (default: $Server/install/artefacts).
  [string]$From,
  # A file holding the enrollment token (else POSTERN_ENROLL_TOKEN, else a prompt).
  [string]$TokenFile,
  # PEM file of the private CA that issued the server's certificate (may hold several).
  [string]$CaFile,
  [string]$InstallDir = (Join-Path $env:ProgramFiles 'Postern'),
  [switch]$ForceEnroll,
  [switch]$NoEnroll,
  [switch]$NoStart,
  [switch]$Uninstall,
  # With -Uninstall: also delete the agent's state and device key.
  [switch]$Purge
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Windows PowerShell 5.1 downloads many times slower while it draws a progress bar.
$ProgressPreference = 'SilentlyContinue'
# Filled in by the server that serves this script as /install/windows.ps1; empty as shipped.
$DefaultServer = ''
if (-not $Server) { $Server = $DefaultServer }
$Server = $Server.TrimEnd('/')

$ServiceName = 'PosternAgent'
$DataRoot = Join-Path $env:ProgramData 'Postern'
$StateDir = Join-Path $DataRoot 'agent'
$LogDir = Join-Path $DataRoot 'logs'
$BinDir = Join-Path $InstallDir 'bin'
$AgentExe = Join-Path $BinDir 'postern-agent.exe'
$Launcher = Join-Path $BinDir 'postern-agent-service.exe'

function Invoke-Checked([string]$What, [scriptblock]$Command) {
  & $Command
  if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

function Stop-PosternService {
  $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
  if ($service -and $service.Status -ne 'Stopped') {
    Write-Host "Stopping $ServiceName"
    Stop-Service -Name $ServiceName -Force
    $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds(30))
  }
  return $service
}

# --- Uninstall ------------------------------------------------------------------------
if ($Uninstall) {
  if (Stop-PosternService) {
    Invoke-Checked 'sc.exe delete' { sc.exe delete $ServiceName | Out-Null }
  }
  if (Test-Path $InstallDir) { Remove-Item -Recurse -Force $InstallDir }
  if ($Purge) {
    if (Test-Path $DataRoot) { Remove-Item -Recurse -Force $DataRoot }
    Write-Host 'Removed Postern, its state and the device key.'
  } else {
    Write-Host "Removed Postern. Agent state kept in $StateDir (use -Purge to delete it)."
  }
  return
}

# --- Checks -----------------------------------------------------------------------------
if ($PSVersionTable.PSEdition -ne 'Desktop') {
  throw "Run this script with Windows PowerShell 5.1 (powershell.exe -ExecutionPolicy Bypass -File `"$PSCommandPath`"): PowerShell 7's Add-Type cannot build the service launcher."
}
if ($Server -and $Server -notmatch '^https?://') { throw "-Server must be an http(s):// URL, got: $Server" }
if ($CaFile) {
  if (-not (Test-Path -PathType Leaf $CaFile)) { throw "Cannot read the CA file $CaFile." }
  if (-not (Select-String -Quiet -SimpleMatch -Pattern '-----BEGIN CERTIFICATE-----' -Path $CaFile)) {
    throw "$CaFile holds no PEM certificate (-----BEGIN CERTIFICATE-----): give -CaFile the CA's certificate in PEM (Base-64 encoded X.509), not DER."
  }
  $CaFile = (Resolve-Path $CaFile).Path
}
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12

# --- The program ----------------------------------------------------------------------------
$work = Join-Path ([IO.Path]::GetTempPath()) ("postern-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $work | Out-Null
try {
  if ($ExePath) {
    $downloaded = (Resolve-Path $ExePath).Path
  } else {
    if (-not $From) {
      if (-not $Server) { throw 'Give -Server URL (the Postern server) or -ExePath FILE.' }
      $From = "$Server/install/artefacts"
    }
    $From = $From.TrimEnd('/', '\')
    $fetch = {
      param([string]$Name, [string]$To)
      if ($From -match '^https?://') { Invoke-WebRequest -UseBasicParsing -Uri "$From/$Name" -OutFile $To }
      else { Copy-Item -Force (Join-Path $From $Name) $To }
    }
    $sums = Join-Path $work 'SHA256SUMS'
    & $fetch 'SHA256SUMS' $sums
    # The newest windows-x64 executable that SHA256SUMS lists.
    $entries = Get-Content $sums | ForEach-Object { if ($_ -match '^([0-9a-f]{64})  (postern-agent-([0-9][^ /\\]*)-windows-x64\.exe)$') { [pscustomobject]@{ Hash = $Matches[1]; Name = $Matches[2]; Version = $Matches[3] } } }
    $entry = $entries | Sort-Object { [version]($_.Version -replace '^(\d+\.\d+\.\d+).*$', '$1') }, Version | Select-Object -Last 1
    if (-not $entry) { throw "$From/SHA256SUMS lists no postern-agent-*-windows-x64.exe: the server has no Windows agent (its administrator runs pnpm package)." }
    Write-Host "Downloading $($entry.Name)"
    $downloaded = Join-Path $work $entry.Name
    & $fetch $entry.Name $downloaded
    # Nothing is installed before its checksum matches.
    $actual = (Get-FileHash -Algorithm SHA256 -Path $downloaded).Hash.ToLowerInvariant()
    if ($actual -ne $entry.Hash) { throw "$($entry.Name) does not match its SHA256SUMS entry (got $actual): not installing it." }
    Write-Host "Checksum of $($entry.Name) verified"
  }
  $version = & $downloaded --version
  if ($LASTEXITCODE -ne 0) { throw "$downloaded does not run on this machine." }

  # --- Service launcher source (C# 5: what Windows PowerShell 5.1's compiler accepts) -------
  $launcherSource = @'
using System;
using System.Diagnostics;
using System.IO;
using System.ServiceProcess;

public class PosternAgentService : ServiceBase
{
    const string AgentExe = @"__AGENT__";
    const string StateDir = @"__STATE__";
    const string LogPath = @"__LOG__";
    const long MaxLogBytes = 10L * 1024 * 1024;
    // postern-agent's exit status when the device is revoked or its enrollment expired.
    const int RevokedExitCode = 3;

    Process child;
    volatile bool stopping;
    readonly object logLock = new object();

    public PosternAgentService()
    {
        ServiceName = "PosternAgent";
        CanStop = true;
        CanShutdown = true;
        AutoLog = true;
    }

    protected override void OnStart(string[] args)
    {
        ProcessStartInfo info = new ProcessStartInfo(AgentExe, "run");
        info.UseShellExecute = false;
        info.CreateNoWindow = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = StateDir;
        info.EnvironmentVariables["POSTERN_AGENT_STATE"] = StateDir;
        info.EnvironmentVariables["NODE_ENV"] = "production";

        child = new Process();
        child.StartInfo = info;
        child.EnableRaisingEvents = true;
        child.OutputDataReceived += delegate(object s, DataReceivedEventArgs e) { Log(e.Data); };
        child.ErrorDataReceived += delegate(object s, DataReceivedEventArgs e) { Log(e.Data); };
        child.Exited += OnChildExited;
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        Log("service: started the agent, pid " + child.Id);
    }

    void OnChildExited(object sender, EventArgs e)
    {
        if (stopping) return;
        int code = child.ExitCode;
        if (code == RevokedExitCode)
        {
            Log("service: the agent exited with code 3: this device is revoked or its enrollment expired, " +
                "so restarting cannot help; stopping the service. Enroll again (postern-agent.cmd enroll --force), then start it.");
            // A clean stop (SERVICE_STOPPED, exit code 0) is not a failure, so the recovery
            // actions do not restart it.
            Stop();
            return;
        }
        Log("service: the agent exited with code " + code + "; the recovery actions restart it");
        // Ending without reporting SERVICE_STOPPED is a failure to the service control
        // manager, so the configured recovery actions (restart) apply.
        Environment.Exit(code == 0 ? 1 : code);
    }

    protected override void OnStop() { StopChild(); }
    protected override void OnShutdown() { StopChild(); }

    void StopChild()
    {
        stopping = true;
        try
        {
            if (child == null || child.HasExited) return;
            // The whole tree: the agent and any probe it started (powershell.exe, manage-bde.exe).
            ProcessStartInfo kill = new ProcessStartInfo(
                Path.Combine(Environment.SystemDirectory, "taskkill.exe"), "/T /F /PID " + child.Id);
            kill.UseShellExecute = false;
            kill.CreateNoWindow = true;
            using (Process killer = Process.Start(kill)) { killer.WaitForExit(10000); }
            child.WaitForExit(10000);
        }
        catch (Exception ex)
        {
            Log("service: stopping the agent failed: " + ex.Message);
        }
    }

    void Log(string line)
    {
        if (line == null) return;
        lock (logLock)
        {
            try
            {
                FileInfo file = new FileInfo(LogPath);
                if (file.Exists && file.Length > MaxLogBytes)
                {
                    string previous = LogPath + ".1";
                    if (File.Exists(previous)) File.Delete(previous);
                    File.Move(LogPath, previous);
                }
                File.AppendAllText(LogPath, DateTime.UtcNow.ToString("o") + " " + line + Environment.NewLine);
            }
            catch (IOException)
            {
                // Never let logging take the agent down.
            }
        }
    }

    public static void Main()
    {
        ServiceBase.Run(new PosternAgentService());
    }
}
'@

  $launcherSource = $launcherSource.
    Replace('__AGENT__', $AgentExe.Replace('"', '""')).
    Replace('__STATE__', $StateDir.Replace('"', '""')).
    Replace('__LOG__', (Join-Path $LogDir 'agent.log').Replace('"', '""'))

  # --- Files ------------------------------------------------------------------------------
  $service = Stop-PosternService
  New-Item -ItemType Directory -Force -Path $BinDir | Out-Null
  Write-Host "Installing $AgentExe ($version)"
  Copy-Item -Force $downloaded "$AgentExe.new"
  Move-Item -Force "$AgentExe.new" $AgentExe
  # A command for people: `& "$env:ProgramFiles\Postern\bin\postern-agent.cmd" status`.
  Set-Content -Encoding ASCII -Path (Join-Path $BinDir 'postern-agent.cmd') -Value @"
@echo off
rem Postern agent, written by install-service.ps1: the service's state directory by default.
if not defined POSTERN_AGENT_STATE set "POSTERN_AGENT_STATE=$StateDir"
"$AgentExe" %*
"@
  Write-Host "Building $Launcher"
  if (Test-Path $Launcher) { Remove-Item -Force $Launcher }
  Add-Type -TypeDefinition $launcherSource -Language CSharp -ReferencedAssemblies 'System.ServiceProcess' `
    -OutputAssembly $Launcher -OutputType ConsoleApplication
} finally {
  Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
# Program Files is writable by administrators only; the inherited ACL keeps it so.

# State and logs: SYSTEM and Administrators only, nothing inherited from ProgramData.
foreach ($dir in $DataRoot, $StateDir, $LogDir) {
  New-Item -ItemType Directory -Force -Path $dir | Out-Null
}
Invoke-Checked 'icacls' { icacls $DataRoot /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' /T /Q | Out-Null }

# --- Enrollment ---------------------------------------------------------------------------
# The CA is kept beside the state, readable by SYSTEM and Administrators (inherited), and its
# path is saved at enrollment; given again without enrolling, it replaces the copy (a rotation).
$StateCa = Join-Path $StateDir 'server-ca.pem'
if ($CaFile) {
  Write-Host "Installing the CA $CaFile as $StateCa"
  Copy-Item -Force $CaFile $StateCa
}
$enrolled = Test-Path (Join-Path $StateDir 'device.json')
if ($enrolled -and -not $ForceEnroll) {
  Write-Host "Already enrolled (state in $StateDir): keeping this device's enrollment and key; -ForceEnroll to enroll again."
} elseif (-not $NoEnroll) {
  if (-not $Server) { throw 'Installed, but not enrolled: give -Server URL (or -NoEnroll).' }
  if ($TokenFile) { $token = (Get-Content -Raw $TokenFile).Trim() }
  elseif ($env:POSTERN_ENROLL_TOKEN) { $token = $env:POSTERN_ENROLL_TOKEN }
  else {
    $secure = Read-Host -AsSecureString "Enrollment token for $Server (input hidden)"
    $token = [Runtime.InteropServices.Marshal]::PtrToStringBSTR([Runtime.InteropServices.Marshal]::SecureStringToBSTR($secure))
  }
  if (-not $token) { throw 'Installed, but not enrolled: no enrollment token.' }
  Write-Host "Enrolling with $Server"
  # With existing state the agent refuses (already_enrolled) unless given --force.
  $enrollArgs = @('enroll', '--server', $Server)
  if ($ForceEnroll) { $enrollArgs += '--force' }
  if ($CaFile) { $enrollArgs += @('--ca', $StateCa) }
  # The token goes in the environment of this one command, not on its command line (which
  # any user can read); the agent reads POSTERN_ENROLL_TOKEN when --token is absent.
  $env:POSTERN_AGENT_STATE = $StateDir
  $env:POSTERN_ENROLL_TOKEN = $token
  try {
    Invoke-Checked 'Enrollment' { & $AgentExe @enrollArgs }
  } finally {
    Remove-Item Env:\POSTERN_AGENT_STATE, Env:\POSTERN_ENROLL_TOKEN -ErrorAction SilentlyContinue
    $token = $null
  }
  $enrolled = $true
}

# --- Service ------------------------------------------------------------------------------
$binaryPath = '"' + $Launcher + '"'
if ($service) {
  Write-Host "Updating service $ServiceName"
  Invoke-Checked 'sc.exe config' { sc.exe config $ServiceName binPath= $binaryPath obj= LocalSystem | Out-Null }
} else {
  Write-Host "Registering service $ServiceName"
  # No -Credential: the service runs as LocalSystem (see the description above for why).
  New-Service -Name $ServiceName -BinaryPathName $binaryPath -DisplayName 'Postern Agent' `
    -Description 'Postern device-posture agent: proves the state of this device to the Postern backend.' `
    -StartupType Automatic | Out-Null
}
Invoke-Checked 'sc.exe config start' { sc.exe config $ServiceName start= delayed-auto | Out-Null }
# Restart after 5 s, then 30 s, then every 2 minutes; forget failures after a day.
Invoke-Checked 'sc.exe failure' { sc.exe failure $ServiceName reset= 86400 actions= restart/5000/restart/30000/restart/120000 | Out-Null }
# Also apply the recovery actions when the launcher stops with an error code.
Invoke-Checked 'sc.exe failureflag' { sc.exe failureflag $ServiceName 1 | Out-Null }
# A per-service SID (NT SERVICE\PosternAgent), so access can be granted to this service alone.
Invoke-Checked 'sc.exe sidtype' { sc.exe sidtype $ServiceName unrestricted | Out-Null }

if (-not $NoStart -and $enrolled) {
  Start-Service -Name $ServiceName
  Get-Service -Name $ServiceName | Format-Table -AutoSize Name, Status, StartType
}
Write-Host "Done. Check the agent with: & `"$BinDir\postern-agent.cmd`" status"
