#!/usr/bin/env bash
# The README's main command: set-up, build, then the main job — execute every notebook (default scale: demo) and write
# results. Pass --scale ci|demo|full to change the scale.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BOOSTFORMER_DATA="${BOOSTFORMER_DATA:-$(cd .. && pwd)/shared/data}"
dotnet build BoostFormer.Lib.sln -c Release -nologo -v q
dotnet run --project src/BoostFormer.Cli -c Release --no-build -- info
# Every notebook, headlessly; executed copies go to out/notebooks/ (git-ignored). Extra arguments (--scale ci|demo|full,
# --param key=value, --in-place, ...) are passed through.
dotnet run --project src/BoostFormer.Cli -c Release --no-build -- notebooks run notebooks "$@"
