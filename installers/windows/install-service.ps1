<#
.SYNOPSIS
  Installs the Postern agent from a built repository checkout and registers it as a Windows
  service. Run from an elevated Windows PowerShell 5.1 (powershell.exe). Safe to run again.

.DESCRIPTION
  - Copies the built workspace (without node_modules) to "$env:ProgramFiles\Postern" and
    installs its production dependencies there with pnpm (package-import-method=copy, so no
    installed file is a hard link into a user's pnpm store). The previous install is kept in
    "$env:ProgramFiles\Postern.old" meanwhile and put back if copying, installing or building fails.
  - Compiles a small service launcher (bin\postern-agent-service.exe) with Add-Type. Node is
    not a Windows service program (it does not answer the service control manager), so the
    launcher is the service: it starts "node agent\bin\postern-agent.js run", writes its output
    to "$env:ProgramData\Postern\logs\agent.log", stops the whole process tree on service stop,
    and exits with an error when Node dies, so the recovery actions restart it. When the agent
    exits with status 3 (device revoked or enrollment expired: restarting cannot help), it logs
    that and stops the service cleanly instead, so the recovery actions leave it stopped.
  - Registers the service "PosternAgent" with New-Service, delayed automatic start, and
    recovery actions restart after 5 s, 30 s, then every 2 min (failure counter reset daily).

  The service runs as LocalSystem because its probes need it: Get-BitLockerVolume and
  manage-bde (the MicrosoftVolumeEncryption WMI namespace is for administrators only),
  Confirm-SecureBootUEFI, and the Security Center / Defender status. The device key and
  state in "$env:ProgramData\Postern\agent" are readable by SYSTEM and Administrators only.

.EXAMPLE
  powershell.exe -ExecutionPolicy Bypass -File installers\windows\install-service.ps1 -EnrollServer https://postern.example.com -Token <one-time token>

.EXAMPLE
  powershell.exe -ExecutionPolicy Bypass -File installers\windows\install-service.ps1 -EnrollServer https://postern.corp.internal -CaFile C:\corp-ca.pem -Token <one-time token>

  With a private CA: the file is copied to "$env:ProgramData\Postern\agent\server-ca.pem" and
  enrollment saves that path in the agent's state, so the service trusts it too. (Node.js does
  not read the Windows certificate store: a CA installed there alone is not trusted.)

.EXAMPLE
  powershell.exe -ExecutionPolicy Bypass -File installers\windows\install-service.ps1 -Uninstall
#>
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
  # Built repository checkout (run `npx --yes pnpm@10.34.8 install` in it first).
  [string]$Source = (Join-Path $PSScriptRoot '..\..'),
  [string]$InstallDir = (Join-Path $env:ProgramFiles 'Postern'),
  # node.exe to run the agent with; defaults to the one on PATH.
  [string]$NodePath,
  [string]$EnrollServer,
  [string]$Token,
  # PEM file of the private CA that issued the server's certificate (may hold several).
  [string]$CaFile,
  [switch]$ForceEnroll,
  [switch]$NoStart,
  [switch]$Uninstall,
  # With -Uninstall: also delete the agent's state and device key.
  [switch]$Purge
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Filled in by the server that serves this script as /install/windows.ps1; empty as shipped.
$DefaultServer = ''

$ServiceName = 'PosternAgent'
$DataRoot = Join-Path $env:ProgramData 'Postern'
$StateDir = Join-Path $DataRoot 'agent'
$LogDir = Join-Path $DataRoot 'logs'
$Pnpm = 'pnpm@10.34.8'

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
if ([bool]$EnrollServer -ne [bool]$Token) { throw '-EnrollServer and -Token go together.' }
if ($EnrollServer -and $EnrollServer -notmatch '^https?://') { throw "-EnrollServer must be an http(s):// URL, got: $EnrollServer" }
if ($CaFile) {
  if (-not (Test-Path -PathType Leaf $CaFile)) { throw "Cannot read the CA file $CaFile." }
  if (-not (Select-String -Quiet -SimpleMatch -Pattern '-----BEGIN CERTIFICATE-----' -Path $CaFile)) {
    throw "$CaFile holds no PEM certificate (-----BEGIN CERTIFICATE-----): give -CaFile the CA's certificate in PEM (Base-64 encoded X.509), not DER."
  }
  $CaFile = (Resolve-Path $CaFile).Path
}

$Source = (Resolve-Path $Source).Path
foreach ($built in 'shared\dist', 'agent\dist\cli\main.js', 'agent\bin\postern-agent.js', 'pnpm-lock.yaml') {
  if (-not (Test-Path (Join-Path $Source $built))) {
    throw "$Source\$built is missing: build the checkout first (npx --yes $Pnpm install)."
  }
}

if (-not $NodePath) {
  $node = Get-Command node.exe -ErrorAction SilentlyContinue
  if (-not $node) { throw 'Node.js >= 20.10 not found on PATH: install it (nodejs.org MSI), or pass -NodePath.' }
  $NodePath = $node.Source
}
$NodePath = (Resolve-Path $NodePath).Path
Invoke-Checked 'Node.js version check' {
  & $NodePath -e "const [a,b]=process.versions.node.split('.').map(Number);if(a<20||(a===20&&b<10)){console.error('Node.js >= 20.10 is required, found '+process.versions.node);process.exit(1)}"
}
# The service runs as LocalSystem: whoever can replace node.exe could run code as SYSTEM.
$trusted = @($env:ProgramFiles, ${env:ProgramFiles(x86)}, $env:SystemRoot) | Where-Object { $_ } | ForEach-Object { $_.TrimEnd('\') + '\' }
if (-not ($trusted | Where-Object { $NodePath.StartsWith($_, [StringComparison]::OrdinalIgnoreCase) })) {
  throw "$NodePath is outside Program Files: the SYSTEM service needs a Node.js only administrators can modify (the nodejs.org MSI installs to $env:ProgramFiles\nodejs)."
}
$Npx = Join-Path (Split-Path $NodePath) 'npx.cmd'
if (-not (Test-Path $Npx)) { throw "npx.cmd not found beside $NodePath." }
Write-Host "Node.js: $NodePath ($(& $NodePath --version))"

$AgentScript = Join-Path $InstallDir 'agent\bin\postern-agent.js'
$BinDir = Join-Path $InstallDir 'bin'

# --- Service launcher source ----------------------------------------------------------------
$Launcher = Join-Path $BinDir 'postern-agent-service.exe'
# C# 5: what Windows PowerShell 5.1's compiler accepts.
$launcherSource = @'
using System;
using System.Diagnostics;
using System.IO;
using System.ServiceProcess;

public class PosternAgentService : ServiceBase
{
    const string NodePath = @"__NODE__";
    const string ScriptPath = @"__SCRIPT__";
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
        ProcessStartInfo info = new ProcessStartInfo(NodePath, "\"" + ScriptPath + "\" run");
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
        Log("service: started node, pid " + child.Id);
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
            // The whole tree: node and any probe it started (powershell.exe, manage-bde.exe).
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
  Replace('__NODE__', $NodePath.Replace('"', '""')).
  Replace('__SCRIPT__', $AgentScript.Replace('"', '""')).
  Replace('__STATE__', $StateDir.Replace('"', '""')).
  Replace('__LOG__', (Join-Path $LogDir 'agent.log').Replace('"', '""'))

# --- Files ------------------------------------------------------------------------------
# pnpm links node_modules with junctions, which hold absolute paths: the dependencies are
# installed in $InstallDir itself (a copied or renamed folder would keep links to the old
# place). So the previous install is moved aside, the new one is built in place, and the
# previous one comes back if any step fails.
$service = Stop-PosternService
# Left on failure by earlier versions of this script, which staged the install there.
if (Test-Path "$InstallDir.new") { Remove-Item -Recurse -Force "$InstallDir.new" }
$backup = "$InstallDir.old"
if (Test-Path $backup) {
  # Left by an earlier run that could not finish: if it is the only copy, it is the install.
  if (Test-Path $InstallDir) { Remove-Item -Recurse -Force $backup } else { Rename-Item $backup $InstallDir }
}
if (Test-Path $InstallDir) { Rename-Item $InstallDir $backup }
try {
  Write-Host "Copying $Source to $InstallDir"
  # /MIR: mirror; skip dependencies (installed below), git data, the e2e tests and build info.
  robocopy $Source $InstallDir /MIR /XD node_modules .git .postern coverage (Join-Path $Source 'test') /XF *.tsbuildinfo /NFL /NDL /NJH /NJS /NP | Out-Null
  if ($LASTEXITCODE -ge 8) { throw "robocopy failed (exit code $LASTEXITCODE)" }

  Write-Host 'Installing production dependencies'
  Push-Location $InstallDir
  try {
    Invoke-Checked 'pnpm install' { & $Npx --yes $Pnpm install --prod --frozen-lockfile --ignore-scripts --package-import-method=copy }
  } finally {
    Pop-Location
  }

  New-Item -ItemType Directory -Force -Path $BinDir | Out-Null
  # A command for people: `& "$env:ProgramFiles\Postern\bin\postern-agent.cmd" status`.
  Set-Content -Encoding ASCII -Path (Join-Path $BinDir 'postern-agent.cmd') -Value @"
@echo off
rem Postern agent launcher, written by installers\windows\install-service.ps1.
if not defined POSTERN_AGENT_STATE set "POSTERN_AGENT_STATE=$StateDir"
"$NodePath" "$AgentScript" %*
"@

  Write-Host "Building $Launcher"
  Add-Type -TypeDefinition $launcherSource -Language CSharp -ReferencedAssemblies 'System.ServiceProcess' `
    -OutputAssembly $Launcher -OutputType ConsoleApplication
} catch {
  # Take out the half-made install, and put the previous one (if any) back.
  if (Test-Path $InstallDir) { Remove-Item -Recurse -Force $InstallDir }
  if (Test-Path $backup) {
    Write-Warning "Installing failed; restored the previous install from $backup"
    Rename-Item $backup $InstallDir
  }
  throw
}
if (Test-Path $backup) { Remove-Item -Recurse -Force $backup }

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
if ($EnrollServer) {
  if ((Test-Path (Join-Path $StateDir 'device.json')) -and -not $ForceEnroll) {
    Write-Host "Already enrolled (state in $StateDir): skipping enrollment; -ForceEnroll to enroll again."
  } else {
    Write-Host "Enrolling with $EnrollServer"
    # With existing state the agent refuses (already_enrolled) unless given --force.
    $enrollArgs = @('enroll', '--server', $EnrollServer)
    if ($ForceEnroll) { $enrollArgs += '--force' }
    if ($CaFile) { $enrollArgs += @('--ca', $StateCa) }
    # The token goes in the environment of this one command, not on its command line (which
    # any user can read); the agent reads POSTERN_ENROLL_TOKEN when --token is absent.
    $env:POSTERN_AGENT_STATE = $StateDir
    $env:POSTERN_ENROLL_TOKEN = $Token
    try {
      Invoke-Checked 'Enrollment' { & $NodePath $AgentScript @enrollArgs }
    } finally {
      Remove-Item Env:\POSTERN_AGENT_STATE, Env:\POSTERN_ENROLL_TOKEN -ErrorAction SilentlyContinue
    }
  }
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

if (-not $NoStart) {
  Start-Service -Name $ServiceName
  Get-Service -Name $ServiceName | Format-Table -AutoSize Name, Status, StartType
}
Write-Host "Done. Check the agent with: & `"$BinDir\postern-agent.cmd`" status"
