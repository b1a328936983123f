# Sourced by bench/*/run.sh: builds a C# harness and runs it and a python3-torch script alternately, same arguments,
# collecting their "key value" lines in $cs_out and $py_out (each side's best round is picked by bestof.py).
#   bench_alternate <harness.csproj> <harness.dll name> <python script> <rounds> [args...]
bench_alternate() {
  local csproj="$1" dll="$2" script="$3" rounds="$4"
  shift 4
  local dir
  dir="$(dirname "$csproj")"
  dotnet build "$csproj" -c Release -nologo -v q >/dev/null
  cs_out=""
  py_out=""
  for ((r = 0; r < rounds; r++)); do
    cs_out+="$(dotnet "$dir/bin/Release/net10.0/$dll" "$@")"$'\n'
    py_out+="$(/usr/bin/python3 "$script" "$@")"$'\n'
  done
}
