#!/usr/bin/env bash
# Runs CMD inside a private D-Bus session with a throwaway gnome-keyring-daemon (Secret Service only) whose
# "login" keyring lives in a temp dir and is unlocked (--locked: left locked); cleans up, exits with CMD's status.
#
# Usage: with-keyring.sh [--locked] CMD [ARG...]
# CMD keeps the caller's environment (HOME, XDG_*); it additionally gets DBUS_SESSION_BUS_ADDRESS (the private
# bus) and TNG_TEST_KEYRING=unlocked|locked. Only the daemon sees the temp HOME/XDG_DATA_HOME/XDG_RUNTIME_DIR,
# and the private bus activates no services, so the user's real keyrings are never touched. Needs dbus-run-session,
# dbus-send and gnome-keyring-daemon (Debian: apt-get install -y gnome-keyring dbus dbus-x11). Works without a TTY,
# without X and as root.
set -euo pipefail

die() { echo "with-keyring.sh: $*" >&2; exit 125; }

if [[ "${1:-}" == --inner ]]; then
  # Second stage: runs inside dbus-run-session. Args: --inner TMPDIR MODE CMD [ARG...]
  tmp=$2 mode=$3
  shift 3
  bus_call() { dbus-send --session --print-reply --reply-timeout=2000 "$@"; }
  secrets=(--dest=org.freedesktop.secrets)
  login=/org/freedesktop/secrets/collection/login

  # The password goes in on stdin; --unlock creates the login keyring on first use, which is then the default.
  printf 'tng-sandbox' | env HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run" \
    XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache" \
    gnome-keyring-daemon --foreground --unlock --components=secrets >"$tmp/daemon.log" 2>&1 &
  daemon=$!
  stop_daemon() { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
  trap stop_daemon EXIT

  # Wait (up to 5 s) until the daemon owns org.freedesktop.secrets and the default alias names "login".
  ready=
  for _ in $(seq 250); do
    if reply=$(bus_call "${secrets[@]}" /org/freedesktop/secrets org.freedesktop.Secret.Service.ReadAlias \
      string:default 2>/dev/null) && [[ $reply == *"$login"* ]]; then
      ready=1
      break
    fi
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.02
  done
  [[ -n $ready ]] || { cat "$tmp/daemon.log" >&2; die "gnome-keyring-daemon did not come up with a login keyring"; }

  if [[ $mode == locked ]]; then
    bus_call "${secrets[@]}" /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock \
      "array:objpath:$login" >/dev/null || die "could not lock the login keyring"
  fi
  want=false
  [[ $mode == locked ]] && want=true
  state=$(bus_call "${secrets[@]}" "$login" org.freedesktop.DBus.Properties.Get \
    string:org.freedesktop.Secret.Collection string:Locked) || die "could not read the login keyring's state"
  [[ $state == *"boolean $want"* ]] || die "login keyring: Locked is not $want"

  status=0
  TNG_TEST_KEYRING=$mode "$@" || status=$?
  exit "$status"
fi

mode=unlocked
if [[ "${1:-}" == --locked ]]; then
  mode=locked
  shift
fi
[[ $# -gt 0 ]] || die "usage: with-keyring.sh [--locked] CMD [ARG...]"
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install -y gnome-keyring dbus dbus-x11)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tng-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -m 700 "$tmp/home" "$tmp/data" "$tmp/run" "$tmp/config" "$tmp/cache"

# A session bus like the standard one, but with no service directories: nothing is auto-started, so neither
# the real gnome-keyring (with the real HOME) nor an interactive prompter can appear on this bus.
cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir=$tmp/run</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF

# dbus-daemon's own chatter (e.g. "Failed to set fd limit" as root) goes to a log, not into CMD's stderr.
printf '#!/bin/sh\nexec dbus-daemon "$@" 2>>"%s/bus.log"\n' "$tmp" >"$tmp/dbus-daemon"
chmod +x "$tmp/dbus-daemon"

status=0
dbus-run-session --config-file="$tmp/bus.conf" --dbus-daemon="$tmp/dbus-daemon" -- bash "${BASH_SOURCE[0]}" --inner "$tmp" "$mode" "$@" || status=$?
exit "$status"
