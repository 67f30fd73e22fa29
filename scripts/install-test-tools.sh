#!/usr/bin/env bash
# Installs the Debian packages the test suite drives besides Meridian itself, when missing:
# `prometheus` (the server and `promtool`, for the metrics tests). Runs as root (CI) or
# through sudo; does nothing when everything is present.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "installing Debian packages for the tests: $packages"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
# The package's service must not hold port 9090 or scrape anything during the tests.
if command -v service >/dev/null 2>&1; then
  $sudo service prometheus stop >/dev/null 2>&1 || true
fi
