#!/usr/bin/env bash
# The system programs the template's tests start for real: a Java runtime (the Spark bake) and PostgreSQL (the team
# tracking server). Installed from Debian's packages when missing, and said so; nothing is done when both are present.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "system-packages: installing ${missing[*]} from Debian's packages (not found on this machine)"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    echo "system-packages: error: ${missing[*]} missing and this user cannot install packages." >&2
    echo "  Fix: sudo apt-get install -y ${missing[*]}   (then run make test again)" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-packages: installed ${missing[*]}"
