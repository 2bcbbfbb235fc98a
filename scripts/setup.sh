#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for tng's sandbox and tests, then the npm dependencies.
# Used by `npm run demo` and .ci/run; safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(dbus dbus-bin gnome-keyring libsecret-tools bsdutils openssl awscli python3-fido2 fido2-tools libusb-1.0-0 tmux zsh fish strace)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages first: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
