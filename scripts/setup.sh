#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine (idempotent): libtorch (CPU, oneDNN), OpenBLAS (pthread
# build: matmul is ~20x slower with the reference BLAS), the C++ compiler, image codecs, and the Python tools used for
# reference benchmarks and notebook validation. When not root and something is missing, prints the exact command.
set -euo pipefail
PKGS=(libtorch-dev libopenblas0-pthread g++ make libpng-dev libjpeg-dev python3-torch python3-numpy python3-nbformat jupyter-nbconvert python3-pil)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "run as root:  $cmd" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  bash -c "$cmd" >/tmp/boostformer-apt.log 2>&1 || { tail -20 /tmp/boostformer-apt.log >&2; echo "error: apt-get failed (log: /tmp/boostformer-apt.log)" >&2; exit 1; }
fi
command -v dotnet >/dev/null || { echo "error: the .NET SDK 10 (dotnet) is not on PATH" >&2; exit 1; }
