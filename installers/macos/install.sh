#!/bin/sh
# Installs the Postern agent on macOS from a Postern server: downloads the .pkg for this Mac,
# checks it against the server's SHA256SUMS, installs it, enrolls, and starts the launchd
# daemon. A Postern server serves this script as GET /install/macos.sh with its own URL filled
# in below:
#
#   curl -fsSL https://postern.example.com/install/macos.sh | sudo sh
#
# The enrollment token is typed at the prompt (read from the terminal, not echoed): it never
# appears in a URL, a command line or the shell's history. Unattended: --token-file FILE
# (root-only) or POSTERN_ENROLL_TOKEN.
set -eu

# Filled in by the server that serves this script; empty as shipped.
DEFAULT_SERVER=''

BIN=/Library/Postern/bin/postern-agent
STATE=/var/db/postern-agent
PLIST=/Library/LaunchDaemons/com.postern.agent.plist

usage() {
  cat <<'USAGE'
Usage: install.sh [--server URL] [--token-file FILE] [--ca FILE] [--from DIR|URL] [--force-enroll]
       install.sh --uninstall [--purge]
USAGE
}
die() {
  echo "install.sh: $*" >&2
  exit 1
}
say() { printf '==> %s\n' "$*"; }

server=$DEFAULT_SERVER token_file='' ca_file='' from='' force_enroll=0 uninstall=0 purge=0
while [ $# -gt 0 ]; do
  case $1 in
    --server | --token-file | --ca | --from)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in --server) server=$2 ;; --token-file) token_file=$2 ;; --ca) ca_file=$2 ;; --from) from=$2 ;; esac
      shift 2
      ;;
    --force-enroll) force_enroll=1 && shift ;;
    --uninstall) uninstall=1 && shift ;;
    --purge) purge=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown option: $1" ;;
  esac
done
[ "$(uname -s)" = Darwin ] || die "this installer is for macOS; on Linux use /install/linux.sh"
[ "$(id -u)" -eq 0 ] || die "must run as root: run it again with sudo"
server=${server%/}

if [ "$uninstall" = 1 ]; then
  launchctl bootout system/com.postern.agent 2>/dev/null || true
  rm -f "$PLIST" /etc/newsyslog.d/com.postern.agent.conf
  rm -rf /Library/Postern
  pkgutil --forget com.postern.agent >/dev/null 2>&1 || true
  if [ "$purge" = 1 ]; then rm -rf "$STATE" /Library/Logs/Postern; fi
  say "Removed the agent$([ "$purge" = 1 ] && echo ', its state and the device key' || echo "; kept $STATE (--purge deletes it)")."
  exit 0
fi

case $(uname -m) in
  arm64) arch=arm64 ;;
  x86_64) arch=x64 ;;
  *) die "no Postern agent is built for $(uname -m)" ;;
esac
if [ -n "$ca_file" ]; then
  grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_file" 2>/dev/null || die "$ca_file holds no PEM certificate: give --ca the CA's certificate in PEM"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fetch() {
  case $1 in
    http://* | https://*) curl -fsSL --proto '=https,http' -o "$2" "$1" || die "could not download $1" ;;
    *) cp "$1" "$2" 2>/dev/null || die "cannot read $1" ;;
  esac
}
if [ -z "$from" ]; then
  [ -n "$server" ] || die "give --server URL (the Postern server) or --from DIR"
  from=$server/install/artefacts
fi
from=${from%/}
fetch "$from/SHA256SUMS" "$work/SHA256SUMS"
pkg=$(sed -n "s/^[0-9a-f]\{64\}  \(postern-agent-[0-9][^ /]*-darwin-$arch\.pkg\)\$/\1/p" "$work/SHA256SUMS" | sort -V | tail -n 1)
[ -n "$pkg" ] || die "$from/SHA256SUMS lists no postern-agent-*-darwin-$arch.pkg: the server has no macOS agent (it is built on macOS, e.g. by the packages workflow)"
say "Downloading $pkg"
fetch "$from/$pkg" "$work/$pkg"
(cd "$work" && grep "  $pkg\$" SHA256SUMS | shasum -a 256 -c -s -) ||
  die "$pkg does not match its SHA256SUMS entry: not installing it"
say "Checksum of $pkg verified; installing"
installer -pkg "$work/$pkg" -target / >/dev/null

if [ -n "$ca_file" ]; then install -m 0600 -o root -g wheel "$ca_file" "$STATE/server-ca.pem"; fi
if [ ! -e "$STATE/device.json" ] || [ "$force_enroll" = 1 ]; then
  [ -n "$server" ] || die "installed, but not enrolled: give --server URL"
  if [ -n "$token_file" ]; then
    token=$(tr -d '[:space:]' <"$token_file")
  elif [ -n "${POSTERN_ENROLL_TOKEN:-}" ]; then
    token=$POSTERN_ENROLL_TOKEN
  else
    stty -echo </dev/tty
    printf 'Enrollment token for %s (input hidden): ' "$server" >/dev/tty
    IFS= read -r token </dev/tty || token=''
    stty echo </dev/tty
    printf '\n' >/dev/tty
  fi
  [ -n "$token" ] || die "installed, but not enrolled: no enrollment token"
  set -- enroll --server "$server"
  if [ -n "$ca_file" ]; then set -- "$@" --ca "$STATE/server-ca.pem"; fi
  if [ "$force_enroll" = 1 ]; then set -- "$@" --force; fi
  POSTERN_AGENT_STATE=$STATE POSTERN_ENROLL_TOKEN=$token "$BIN" "$@" || die "enrollment failed (see above)"
  token=''
fi
launchctl bootout system/com.postern.agent 2>/dev/null || true
launchctl bootstrap system "$PLIST"
say "Done. Check the agent with: sudo POSTERN_AGENT_STATE=$STATE $BIN status"
