#!/usr/bin/env bash
# Loader throughput vs the model's demand, measured back to back on the same machine:
#   1. `boostformer data bench`: images/s of CamVid 512x512 training crops (mmseg pipeline, batch 8) and Tiny-ImageNet
#      64x64 batches (RandomResizedCrop/flip/jitter/erasing + mixup/cutmix, batch 128), plus a per-stage profile.
#   2. SegFormer-B0 forward at 512x512 (batch 1, PyTorch on the same libtorch, bench/segformer-latency/segformer_ref.py
#      when present) -> images/s the model can consume in inference; a training step (forward+backward) is ~3x slower,
#      so the loader keeps up when loader images/s > forward images/s.
#   3. loader_ref.py: the same CamVid pipeline in Python (PIL + torch interpolate + numpy), 1 thread -> C#/Python ratio.
# Usage: bench/data-loader/run.sh [--root DATA] [--batches N] [--workers W]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root="${BOOSTFORMER_DATA:-$(cd "$repo/.." && pwd)/shared/data}"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
dll="$repo/src/BoostFormer.Cli/bin/Release/net10.0/boostformer.dll"
[ -f "$dll" ] || dotnet build "$repo/src/BoostFormer.Cli" -c Release -nologo -v q >/dev/null
out="$(dotnet "$dll" data bench --root "$root" "${args[@]+"${args[@]}"}")"
echo "$out"
py="$(/usr/bin/python3 "$here/loader_ref.py" "$root" --samples 16 2>/dev/null)"
echo "$py"
ours="$(sed -n 's/.*; total \([0-9.]*\)$/\1/p' <<<"$out")"
pyms="$(sed -n 's/^python ms\/sample \([0-9.]*\).*/\1/p' <<<"$py")"
if [ -n "$ours" ] && [ -n "$pyms" ]; then
  awk -v o="$ours" -v p="$pyms" 'BEGIN { printf "camvid per-sample pipeline, 1 thread: C# %.1f ms vs Python %.1f ms: ratio C#/Python = %.2f\n", o, p, o / p }'
fi
ref="$repo/bench/segformer-latency/segformer_ref.py"
if [ -f "$ref" ]; then
  fwd="$(/usr/bin/python3 "$ref" --model segformer-b0 --input 512x512 --classes 11 --threads "$(nproc)" --warmup 1 --runs 3)"
  echo "$fwd"
  med="$(sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' <<<"$fwd")"
  ips="$(sed -n 's/^camvid 512x512 train crops: \([0-9.]*\) images\/s.*/\1/p' <<<"$out")"
  if [ -n "$med" ] && [ -n "$ips" ]; then
    awk -v ips="$ips" -v med="$med" 'BEGIN { f = 1000 / med; printf "camvid loader %.2f images/s vs segformer-b0 forward %.3f images/s: loader/forward = %.1fx (training step ~3x forward: %.1fx)\n", ips, f, ips / f, 3 * ips / f }'
  fi
else
  echo "(bench/segformer-latency/segformer_ref.py not in this checkout: no forward-time comparison)"
fi
