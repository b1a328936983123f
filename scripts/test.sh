#!/usr/bin/env bash
# The README's test command: set-up, build, then every xunit project. Data-dependent tests read BOOSTFORMER_DATA
# (default: ../shared/data beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BOOSTFORMER_DATA="${BOOSTFORMER_DATA:-$(cd .. && pwd)/shared/data}"
export BOOSTFORMER_FIXTURES="${BOOSTFORMER_FIXTURES:-$(cd .. && pwd)/shared/fixtures}"
dotnet build BoostFormer.Lib.sln -c Release -nologo -v q
dotnet test BoostFormer.Lib.sln -c Release --no-build -nologo -v q "$@"
