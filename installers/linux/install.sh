#!/usr/bin/env bash
# Installs the Postern agent (and, with --server, the backend) from this repository checkout
# onto a Linux host with systemd. Safe to run again: it replaces the installed copy, rewrites
# the launchers and units, and restarts the services.
#
#   sudo installers/linux/install.sh [--enroll-server URL --token TOKEN [--ca FILE]] [--server] [--no-start]
#   sudo installers/linux/install.sh --uninstall [--purge]   (--purge also deletes state and /etc/postern)
#
# Build the checkout first (`npx --yes pnpm@10.34.8 install` builds it). What it writes:
#   /opt/postern/                       the built workspace, root-owned, read-only to others
#   /usr/bin/postern-agent              launcher (also for `postern-agent status` by hand)
#   /etc/systemd/system/postern-agent.service
#   /var/lib/postern-agent/             agent state and device key (0700, made by systemd)
#   /var/lib/postern-agent/server-ca.pem  with --ca: the private CA the service verifies the server with
#   with --server: /usr/bin/postern-server, /etc/systemd/system/postern-server.service
set -euo pipefail

PREFIX=/opt/postern
BIN_DIR=/usr/bin
UNIT_DIR=/etc/systemd/system
AGENT_STATE=/var/lib/postern-agent
AGENT_CA=$AGENT_STATE/server-ca.pem
SERVER_STATE=/var/lib/postern
CONFIG_DIR=/etc/postern
BUILD_HINT='npx --yes pnpm@10.34.8 install'

usage() {
  cat <<'EOF'
Usage: sudo installers/linux/install.sh [options]

  --enroll-server URL   enroll this device with the Postern backend at URL before starting
  --token TOKEN         the one-time enrollment token (with --enroll-server)
  --token-file FILE     read the token from FILE instead (keeps it out of the process list)
  --ca FILE             PEM file of the private CA that issued the server's certificate (may hold
                        several); copied to /var/lib/postern-agent/server-ca.pem, which enrollment
                        saves in the agent's state so the service trusts it too. Given again
                        without enrolling, it replaces that copy (a CA rotation)
  --force-enroll        enroll again even if the agent already has state in /var/lib/postern-agent
                        (runs `postern-agent enroll --force`: replaces the old enrollment and key once the server accepts the new one)
  --server              also install the backend (postern-server) as a service
  --no-start            install and enable, but do not (re)start the services
  --uninstall           stop and remove the services, launchers and /opt/postern
  --purge               with --uninstall: also delete /var/lib/postern-agent, /var/lib/postern
                        and /etc/postern (the backend's settings and secrets, e.g. DATABASE_URL)
  -h, --help            this help
EOF
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}
say() { printf '==> %s\n' "$*"; }

# The agent checks the CA again at enrollment; this catches a wrong file before anything is installed.
use_ca() {
  [[ -r $1 ]] || die "cannot read CA file $1"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$1" || die "$1 holds no PEM certificate (-----BEGIN CERTIFICATE-----): give --ca the CA's certificate in PEM"
  ca_file=$1
}

enroll_server=""
token=""
ca_file=""
force_enroll=0
with_server=0
start=1
uninstall=0
purge=0
while (($#)); do
  case $1 in
    --enroll-server | --token | --token-file | --ca)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --enroll-server) enroll_server=$2 ;;
        --token) token=$2 ;;
        --token-file)
          [[ -r $2 ]] || die "cannot read token file $2"
          token=$(tr -d '[:space:]' <"$2")
          ;;
        --ca) use_ca "$2" ;;
      esac
      shift 2
      ;;
    --enroll-server=*) enroll_server=${1#*=} && shift ;;
    --token=*) token=${1#*=} && shift ;;
    --ca=*) use_ca "${1#*=}" && shift ;;
    --force-enroll) force_enroll=1 && shift ;;
    --server) with_server=1 && shift ;;
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

[[ $(uname -s) == Linux ]] || die "this installer is for Linux; see installers/README.md for macOS and Windows"
if [[ $(id -u) -ne 0 ]]; then
  die "must run as root: it writes $PREFIX, $BIN_DIR and systemd units. Run it again with sudo."
fi

have_systemd() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------
if ((uninstall)); then
  for unit in postern-agent postern-server; do
    if have_systemd && systemctl list-unit-files "$unit.service" >/dev/null 2>&1; then
      systemctl disable --now "$unit.service" 2>/dev/null || true
    fi
    rm -f "$UNIT_DIR/$unit.service" "$BIN_DIR/$unit"
  done
  have_systemd && systemctl daemon-reload
  rm -rf "$PREFIX"
  if ((purge)); then
    rm -rf "$AGENT_STATE" "$SERVER_STATE" "/var/lib/private/postern" "$CONFIG_DIR"
    say "Removed Postern, its state, the device key and $CONFIG_DIR."
  else
    say "Removed Postern. Kept the agent state in $AGENT_STATE and any backend settings in $CONFIG_DIR (use --purge to delete them)."
  fi
  exit 0
fi

if [[ -n $enroll_server || -n $token ]]; then
  [[ -n $enroll_server ]] || die "--token needs --enroll-server URL"
  [[ -n $token ]] || die "--enroll-server needs --token TOKEN or --token-file FILE"
  [[ $enroll_server =~ ^https?:// ]] || die "--enroll-server must be an http(s):// URL, got: $enroll_server"
fi

# ---------------------------------------------------------------------------------------
say "Checking the checkout"
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for built in shared/dist agent/dist/cli/main.js agent/bin/postern-agent.js node_modules/.pnpm; do
  [[ -e $repo/$built ]] || die "$repo/$built is missing: build the checkout first ($BUILD_HINT)"
done
if ((with_server)); then
  [[ -e $repo/backend/dist/cli/main.js ]] || die "$repo/backend/dist is missing: build the checkout first ($BUILD_HINT)"
fi

say "Checking Node.js"
node=${NODE:-$(command -v node || true)}
[[ -n $node && -x $node ]] || die "Node.js >= 20.10 not found on root's PATH: install it, or pass NODE=/path/to/node"
# shellcheck disable=SC2016 # JavaScript, not shell
"$node" -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 20 || (major === 20 && minor < 10)) {
    console.error(`Node.js >= 20.10 is required, ${process.execPath} is ${process.versions.node}`);
    process.exit(1);
  }' || die "unsupported Node.js"
# The agent runs as root: whoever can replace the node binary could run code as root.
node_real=$(readlink -f "$node")
read -r node_owner node_mode < <(stat -c '%u %a' "$node_real")
if [[ $node_owner != 0 ]] || (((8#$node_mode & 8#022) != 0)); then
  die "$node_real is owned by uid $node_owner with mode $node_mode; the root service needs a Node.js that only root can modify (e.g. from your distribution or nodejs.org installed as root)"
fi
echo "$node ($("$node" --version))"

# ---------------------------------------------------------------------------------------
say "Installing the workspace to $PREFIX"
parent=$(dirname "$PREFIX")
install -d -m 0755 "$parent"
staging=$(mktemp -d "$PREFIX.new.XXXXXX")
cleanup() { rm -rf "$staging"; }
trap cleanup EXIT
entries=(package.json pnpm-workspace.yaml node_modules shared agent backend installers)
[[ -e $repo/pnpm-lock.yaml ]] && entries+=(pnpm-lock.yaml)
for entry in "${entries[@]}"; do
  cp -a "$repo/$entry" "$staging/"
done
# pnpm links packages with relative symlinks, so the copy works from its new place.
rm -rf "$staging/node_modules/.vite" "$staging/node_modules/.vite-temp" "$staging/node_modules/.cache"
chown -R root:root "$staging"
chmod -R u+rwX,go+rX,go-w "$staging"
if [[ -e $PREFIX ]]; then
  old="$PREFIX.old.$$"
  mv -T "$PREFIX" "$old"
  mv -T "$staging" "$PREFIX"
  rm -rf "$old"
else
  mv -T "$staging" "$PREFIX"
fi
trap - EXIT

# Writes stdin to $2 with mode $1, atomically.
write_file() {
  local tmp
  tmp=$(mktemp "$2.XXXXXX")
  cat >"$tmp"
  chmod "$1" "$tmp"
  mv -f "$tmp" "$2"
}

# Writes the launcher $BIN_DIR/$1, which runs $PREFIX/$2 with the pinned Node.js and defaults
# the environment variable $3 (where it keeps its state) to $4.
write_launcher() {
  say "Writing $BIN_DIR/$1"
  write_file 0755 "$BIN_DIR/$1" <<EOF
#!/bin/sh
# Postern launcher, written by installers/linux/install.sh (re-run it to change this).
: "\${$3:=$4}"
export $3
exec $(printf '%q' "$node") $PREFIX/$2 "\$@"
EOF
}

write_launcher postern-agent agent/bin/postern-agent.js POSTERN_AGENT_STATE "$AGENT_STATE"
install -m 0644 -o root -g root "$repo/installers/linux/postern-agent.service" "$UNIT_DIR/postern-agent.service"

if ((with_server)); then
  write_launcher postern-server backend/bin/postern-server.js POSTERN_DATA_DIR "$SERVER_STATE"
  install -m 0644 -o root -g root "$repo/installers/linux/postern-server.service" "$UNIT_DIR/postern-server.service"
  install -d -m 0755 "$CONFIG_DIR"
  if [[ ! -e $CONFIG_DIR/server.env ]]; then
    write_file 0600 "$CONFIG_DIR/server.env" <<'EOF'
# Environment for postern-server.service (read by systemd as root; keep it 0600).
# DATABASE_URL=postgres://postern@db.example/postern
EOF
  fi
fi

# ---------------------------------------------------------------------------------------
if [[ -n $enroll_server || -n $ca_file ]]; then
  install -d -m 0700 -o root -g root "$AGENT_STATE"
fi
# A copy in the state directory: the sandboxed service may not read the original's place
# (ProtectHome), and the state keeps its path.
if [[ -n $ca_file ]]; then
  say "Installing the CA $ca_file as $AGENT_CA"
  install -m 0600 -o root -g root "$ca_file" "$AGENT_CA"
fi
if [[ -n $enroll_server ]]; then
  if [[ -e $AGENT_STATE/device.json ]] && ((!force_enroll)); then
    say "Already enrolled (state in $AGENT_STATE): skipping enrollment; --force-enroll to enroll again"
  else
    say "Enrolling with $enroll_server"
    enroll_args=(enroll --server "$enroll_server")
    if [[ -n $ca_file ]]; then enroll_args+=(--ca "$AGENT_CA"); fi
    # With existing state the agent refuses (already_enrolled) unless given --force.
    if ((force_enroll)); then enroll_args+=(--force); fi
    # The token goes in the environment of this one command, not in its argv (which every
    # user can read in the process list); the agent reads POSTERN_ENROLL_TOKEN when --token is absent.
    POSTERN_AGENT_STATE=$AGENT_STATE POSTERN_ENROLL_TOKEN=$token "$BIN_DIR/postern-agent" "${enroll_args[@]}" ||
      die "enrollment failed (see above); the agent is installed but not started. Fix it, then run this installer again"
  fi
fi

# ---------------------------------------------------------------------------------------
units=(postern-agent.service)
((with_server)) && units+=(postern-server.service)
if have_systemd; then
  say "Enabling ${units[*]}"
  systemctl daemon-reload
  systemctl enable "${units[@]}"
  if ((start)); then
    systemctl restart "${units[@]}"
    systemctl --no-pager --lines=0 status "${units[@]}" || true
  fi
else
  say "systemd is not running here: files are installed; on a systemd host run: systemctl enable --now ${units[*]}"
fi
say "Done. Check the agent with: postern-agent status"
