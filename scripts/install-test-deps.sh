#!/usr/bin/env bash
# Installs what the tests need, idempotently and without questions: Debian's packages (PostgreSQL
# server + pg_dump/pg_restore for the throwaway cluster and interop, the age CLI, sqlite3, setpriv,
# openssl, ip, ps, nft and iptables for the firewall checks, python3-securesystemslib and
# python3-cryptography as an independent DSSE verifier of the evidence chain, chromium for the
# report's HTML and PDF and the agent's status page, prometheus for promtool (the alert-rule tests),
# gdb for the native stacks of a test file that hangs), then the npm dependencies. apt-get update
# runs only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(postgresql age sqlite3 zsh util-linux openssl iproute2 procps nftables iptables python3-securesystemslib python3-cryptography chromium fonts-dejavu-core prometheus gdb)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "install-test-deps: not root and no sudo: install ${PKGS[*]} yourself" >&2
  fi
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: missing ${missing[*]} and no apt-get: install them yourself" >&2
    exit 1
  fi
  echo "install-test-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
else
  echo "install-test-deps: system packages present"
fi

# Reproducible install from the lockfile; better-sqlite3 builds from source here (~2 min). Skipped
# when node_modules already holds exactly what package-lock.json pins (the README's quick start ran
# `npm ci` just before): npm records what it installed in node_modules/.package-lock.json.
if node scripts/lockfile-installed.mjs; then
  echo "install-test-deps: node_modules matches package-lock.json; not reinstalling"
else
  npm ci --no-audit --no-fund
fi
