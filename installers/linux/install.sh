#!/bin/sh
# Installs the Postern agent, one self-contained program, on any Linux distribution: from the
# tarball it sits in, or downloaded from a Postern server, whose SHA256SUMS it checks first.
# A Postern server serves this script as GET /install/linux.sh with its own URL filled in below,
# so a contractor's whole install is:
#
#   curl -fsSL https://postern.example.com/install/linux.sh | sudo sh
#
# and the enrollment token is typed at the prompt (read from the terminal, not echoed): it never
# appears in a URL, a command line (the process list) or the shell's history. Unattended, give
# it in a root-only file (--token-file) or in POSTERN_ENROLL_TOKEN.
#
# What it writes (under --root DIR when given, for images and tests):
#   /usr/bin/postern-agent                    the agent (Node.js runtime included)
#   /etc/systemd/system/postern-agent.service the hardened unit (where systemd is installed)
#   /var/lib/postern-agent/                   state and device key (0700)
# On Debian and Ubuntu prefer the .deb (postern-agent_<version>_<arch>.deb), which apt upgrades.
# Running it again upgrades the program and keeps the enrollment.
set -eu

# Filled in by the server that serves this script; empty in the tarball.
DEFAULT_SERVER=''

usage() {
  cat <<'EOF'
Usage: install.sh [options]            (as root, e.g. curl -fsSL URL/install/linux.sh | sudo sh)

  --server URL        the Postern server to enroll with and to download the agent from
                      (default: the server this script came from)
  --token-file FILE   read the enrollment token from FILE (else POSTERN_ENROLL_TOKEN, else a prompt)
  --ca FILE           PEM file of the private CA that issued the server's certificate; copied to
                      /var/lib/postern-agent/server-ca.pem and saved in the agent's state
  --from DIR|URL      where the artefacts and SHA256SUMS are (default: the tarball this script
                      is in, else SERVER/install/artefacts)
  --root DIR          install under DIR instead of / (no service is started)
  --force-enroll      enroll again even if this device is enrolled
  --no-enroll         install or upgrade only
  --no-start          do not (re)start the service
  --uninstall         stop and remove the agent; keeps its state unless --purge
  --purge             with --uninstall: also delete /var/lib/postern-agent (the device key)
  -h, --help          this help
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}
say() { printf '==> %s\n' "$*"; }

server=$DEFAULT_SERVER
token_file=''
ca_file=''
from=''
root=''
force_enroll=0
enroll=1
start=1
uninstall=0
purge=0
while [ $# -gt 0 ]; do
  case $1 in
    --server | --token-file | --ca | --from | --root)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --server) server=$2 ;;
        --token-file) token_file=$2 ;;
        --ca) ca_file=$2 ;;
        --from) from=$2 ;;
        --root) root=$2 ;;
      esac
      shift 2
      ;;
    --server=* | --token-file=* | --ca=* | --from=* | --root=*)
      value=${1#*=}
      case $1 in
        --server=*) server=$value ;;
        --token-file=*) token_file=$value ;;
        --ca=*) ca_file=$value ;;
        --from=*) from=$value ;;
        --root=*) root=$value ;;
      esac
      shift
      ;;
    --force-enroll) force_enroll=1 && shift ;;
    --no-enroll) enroll=0 && shift ;;
    --no-start) start=0 && shift ;;
    --uninstall) uninstall=1 && shift ;;
    --purge) purge=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *)
      usage >&2
      die "unknown option: $1"
      ;;
  esac
done

[ "$(uname -s)" = Linux ] || die "this installer is for Linux; on macOS use /install/macos.sh, on Windows /install/windows.ps1"
if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
elif [ "$(id -u)" -ne 0 ]; then
  die "must run as root (it writes /usr/bin and a systemd unit): run it again with sudo"
fi
server=${server%/}

BIN=$root/usr/bin/postern-agent
UNIT=$root/etc/systemd/system/postern-agent.service
STATE=$root/var/lib/postern-agent
CA=$STATE/server-ca.pem

have_systemd() { [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------
if [ "$uninstall" = 1 ]; then
  if have_systemd; then
    systemctl disable --now postern-agent.service 2>/dev/null || true
  fi
  rm -f "$UNIT" "$BIN"
  if have_systemd; then systemctl daemon-reload; fi
  if [ "$purge" = 1 ]; then
    rm -rf "$STATE"
    say "Removed the agent, its state and the device key."
  else
    say "Removed the agent. Kept its state in $STATE (--uninstall --purge deletes it)."
  fi
  exit 0
fi

if [ -z "$root" ] && command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f '${Status}' postern-agent 2>/dev/null | grep -q 'ok installed'; then
  die "the postern-agent .deb is installed: upgrade it with apt or dpkg instead (or remove it first)"
fi
if [ -n "$ca_file" ]; then
  [ -r "$ca_file" ] || die "cannot read CA file $ca_file"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_file" || die "$ca_file holds no PEM certificate (-----BEGIN CERTIFICATE-----): give --ca the CA's certificate in PEM"
fi

case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Postern agent is built for $(uname -m) (x86_64 and aarch64 are)" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# Downloads $1 to $2 over HTTPS (or from a directory); curl or wget, whichever is there.
fetch() {
  case $1 in
    http://* | https://*)
      if command -v curl >/dev/null 2>&1; then
        curl -fsSL --proto '=https,http' -o "$2" "$1" || die "could not download $1"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1" || die "could not download $1"
      else
        die "neither curl nor wget is installed: install one of them, or give --from a directory"
      fi
      ;;
    *) cp "$1" "$2" 2>/dev/null || die "cannot read $1" ;;
  esac
}

# ---------------------------------------------------------------------------------------
# Run as a file (from an unpacked tarball), not read from standard input (curl | sh), whose $0
# is the shell and says nothing about where a binary is.
here=''
case $0 in
  install.sh | */install.sh) [ -f "$0" ] && here=$(cd "$(dirname "$0")" && pwd) ;;
esac
if [ -z "$from" ] && [ -n "$here" ] && [ -x "$here/postern-agent" ] && [ -f "$here/postern-agent.service" ]; then
  say "Installing the agent from $here"
  cp "$here/postern-agent" "$work/postern-agent"
  cp "$here/postern-agent.service" "$work/postern-agent.service"
else
  if [ -z "$from" ]; then
    [ -n "$server" ] || die "give --server URL (the Postern server) or --from DIR (where the artefacts are)"
    from=$server/install/artefacts
  fi
  from=${from%/}
  fetch "$from/SHA256SUMS" "$work/SHA256SUMS"
  # The newest tarball for this architecture that SHA256SUMS lists.
  tarball=$(sed -n "s/^[0-9a-f]\{64\}  \(postern-agent-[0-9][^ /]*-linux-$arch\.tar\.gz\)\$/\1/p" "$work/SHA256SUMS" | sort -V | tail -n 1)
  [ -n "$tarball" ] || die "$from/SHA256SUMS lists no postern-agent-*-linux-$arch.tar.gz: the server has no agent for this architecture (its administrator runs pnpm package)"
  say "Downloading $tarball"
  fetch "$from/$tarball" "$work/$tarball"
  # Nothing is unpacked before its checksum matches.
  (cd "$work" && grep "  $tarball\$" SHA256SUMS | sha256sum -c --status -) ||
    die "$tarball does not match its SHA256SUMS entry: not installing it (download again; if it persists, tell the server's administrator)"
  say "Checksum of $tarball verified"
  tar -xzf "$work/$tarball" -C "$work"
  dir=$work/${tarball%.tar.gz}
  mv "$dir/postern-agent" "$dir/postern-agent.service" "$work/"
fi
"$work/postern-agent" --version >/dev/null 2>&1 || die "the downloaded agent does not run on this machine ($(uname -m))"

say "Installing $BIN ($("$work/postern-agent" --version))"
mkdir -p "$(dirname "$BIN")"
install -m 0755 "$work/postern-agent" "$BIN.new"
mv -f "$BIN.new" "$BIN"
if [ -n "$root" ] || command -v systemctl >/dev/null 2>&1; then
  mkdir -p "$(dirname "$UNIT")"
  install -m 0644 "$work/postern-agent.service" "$UNIT"
fi
install -d -m 0700 "$STATE"
if [ -n "$ca_file" ]; then
  say "Installing the CA $ca_file as $CA"
  install -m 0600 "$ca_file" "$CA"
fi

# ---------------------------------------------------------------------------------------
enrolled() { [ -e "$STATE/device.json" ]; }

# The token: a root-only file, the environment, or typed at the terminal without echo.
read_token() {
  if [ -n "$token_file" ]; then
    [ -r "$token_file" ] || die "cannot read token file $token_file"
    tr -d '[:space:]' <"$token_file"
  elif [ -n "${POSTERN_ENROLL_TOKEN:-}" ]; then
    printf '%s' "$POSTERN_ENROLL_TOKEN"
  elif (: </dev/tty) 2>/dev/null; then
    # Echo off before the prompt shows, so a token pasted at once is not echoed either.
    stty -echo </dev/tty 2>/dev/null || true
    printf 'Enrollment token for %s (input hidden): ' "$server" >/dev/tty
    IFS= read -r typed </dev/tty || typed=''
    stty echo </dev/tty 2>/dev/null || true
    printf '\n' >/dev/tty
    printf '%s' "$typed" | tr -d '[:space:]'
  fi
}

if [ "$enroll" = 1 ] && { ! enrolled || [ "$force_enroll" = 1 ]; }; then
  [ -n "$server" ] || die "installed, but not enrolled: give --server URL to enroll (or --no-enroll)"
  token=$(read_token)
  [ -n "$token" ] || die "installed, but not enrolled: no enrollment token (give it at the prompt, with --token-file FILE or POSTERN_ENROLL_TOKEN)"
  say "Enrolling with $server"
  set -- enroll --server "$server"
  if [ -n "$ca_file" ]; then set -- "$@" --ca "$CA"; fi
  if [ "$force_enroll" = 1 ]; then set -- "$@" --force; fi
  # In the environment of this one command, which only root can read; never in its argv.
  POSTERN_AGENT_STATE=$STATE POSTERN_ENROLL_TOKEN=$token "$BIN" "$@" ||
    die "enrollment failed (see above); the agent is installed. Fix it, then run this installer again"
  token=''
elif enrolled; then
  say "Already enrolled (state in $STATE): keeping this device's enrollment and key"
fi

# ---------------------------------------------------------------------------------------
if have_systemd; then
  systemctl daemon-reload
  systemctl enable postern-agent.service
  if [ "$start" = 1 ] && enrolled; then
    systemctl restart postern-agent.service
    say "Started postern-agent.service"
  fi
else
  say "systemd is not running here: start the agent with"
  echo "    POSTERN_AGENT_STATE=$STATE $BIN run"
  echo "  (as root, e.g. as the container's main process; it reconnects by itself)"
fi
say "Done. Check the agent with: POSTERN_AGENT_STATE=$STATE $BIN status"
