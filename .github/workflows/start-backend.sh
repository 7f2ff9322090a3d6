#!/bin/sh
# Starts postern-server from the checkout in the background on $SERVER's port, with its data in
# $RUNNER_TEMP/postern (serving POSTERN_PACKAGES_DIR when set), waits until it answers, and writes
# an enrollment token for group ci to $RUNNER_TEMP/token. Used by packages.yml on Linux and macOS.
set -eu
data=$RUNNER_TEMP/postern
nohup node backend/bin/postern-server.js serve --port "${SERVER##*:}" --data "$data" >"$RUNNER_TEMP/server.log" 2>&1 &
i=0
until curl -fsS "$SERVER/healthz" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -lt 60 ] || { cat "$RUNNER_TEMP/server.log"; exit 1; }
  sleep 1
done
node backend/bin/postern-server.js token create --group ci --data "$data" >"$RUNNER_TEMP/token"
