#!/usr/bin/env bash
# Installs the Debian packages rill builds against, when they are missing.
# As root it runs apt-get; otherwise it names the missing packages and fails.
#   install-deps.sh [--optional] PACKAGE...
#   --optional: a package that cannot be installed is reported, and the build goes on.
set -u
optional=0
if [ "${1:-}" = "--optional" ]; then
    optional=1
    shift
fi
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    echo "rill: installing missing packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq </dev/null >/dev/null &&
        apt-get install -y -qq "${missing[@]}" </dev/null >/dev/null; then
        exit 0
    fi
    echo "rill: could not install: ${missing[*]}" >&2
    [ $optional = 1 ] && exit 0
    exit 1
fi
echo "rill: missing Debian packages: ${missing[*]}" >&2
echo "rill: install them with: sudo apt-get install ${missing[*]}" >&2
[ $optional = 1 ] && exit 0
exit 1
