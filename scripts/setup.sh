#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine (idempotent), restores the NuGet packages and makes
# TorchSharp's native library loadable on Debian 12 (see README, "TorchSharp on Debian 12"). When not root and
# something is missing, prints the exact command.
#   g++, patchelf          : the GLIBCXX_3.4.32 compatibility shim for libLibTorchSharp.so (scripts/torchsharp-native-fix.py)
#   python3-torch, numpy   : the PyTorch 1.13 reference for parity fixtures and benchmark ratios
#   libopenblas0-pthread   : PyTorch 1.13's BLAS (matmul is ~20x slower with the reference BLAS)
#   python3-pil            : the image-codec tests cross-check decoded pixels with PIL
#   nbformat, nbconvert    : notebook validation
#   mpich                  : data-parallel training (train --nproc N): libmpich.so.12 under MPI.NET, mpiexec.mpich
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(g++ patchelf python3 libopenblas0-pthread python3-torch python3-numpy python3-nbformat jupyter-nbconvert python3-pil mpich)
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
# Restore (TorchSharp-cpu brings LibTorch 2.10, about 600 MB, once), then fix the package cache's copy of TorchSharp's
# native library too: notebooks that load TorchSharp from the package cache use that copy. Build outputs are fixed
# after every build by Directory.Build.targets.
dotnet restore BoostFormer.Lib.sln -v q --nologo >/dev/null
nuget_root="$(dotnet nuget locals global-packages --list | sed -e 's/^global-packages: //' -e 's:/*$::')"
if [ -d "$nuget_root/torchsharp" ]; then
  python3 scripts/torchsharp-native-fix.py "$nuget_root/torchsharp"
fi
