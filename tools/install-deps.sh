#!/usr/bin/env bash
# Installs the Debian packages rill builds against, when they are missing.
# As root it runs apt-get; otherwise it names the missing packages and fails.
set -u
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "rill: installing missing packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null >/dev/null && apt-get install -y -qq "${missing[@]}" </dev/null >/dev/null
    exit $?
fi
echo "rill: missing Debian packages: ${missing[*]}" >&2
echo "rill: install them with: sudo apt-get install ${missing[*]}" >&2
exit 1
