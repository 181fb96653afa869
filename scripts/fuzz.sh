#!/usr/bin/env bash
# Runs libFuzzer (with AddressSanitizer) on a parser of outside bytes.
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     (default: all, 20 s each)
# Each target is a small entry file Tests/Fuzz/<target>.swift compiled with the module sources it
# needs (swiftc -sanitize=fuzzer,address); its seed corpus is Tests/FuzzCorpus/<target>/ and new
# inputs go to a scratch copy, so the committed corpus only changes by hand. A crash leaves
# crash-* in .build/fuzz/<target>/ and a non-zero exit. Run one fuzzer at a time on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-20}

sources_for() {
  case "$1" in
    json) echo Sources/SiraData/JSONParser.swift Sources/SiraData/JSONValue.swift ;;
    cron) echo Sources/SiraPipeline/Cron/CronExpression.swift ;;
    gguf) echo Sources/SiraIO/GGUF/*.swift Sources/SiraIO/MappedFile.swift Sources/SiraIO/RegularFile.swift ;;
    csv) echo Sources/SiraData/CSVParser.swift Sources/SiraData/ChunkedFileReader.swift Sources/SiraData/RejectedRecord.swift \
           Sources/SiraData/JSONValue.swift Sources/SiraData/JSONWriter.swift ;;
    *) echo "unknown fuzz target '$1' (json, cron, gguf, csv)" >&2; return 1 ;;
  esac
}

run_target() {
  local t=$1 out=.build/fuzz/$1
  mkdir -p "$out/corpus"
  cp -n Tests/FuzzCorpus/"$t"/* "$out/corpus/" 2>/dev/null || true
  # shellcheck disable=SC2046
  swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name Fuzz"$t" \
    $(sources_for "$t") Tests/Fuzz/"$t".swift -o "$out/fuzz-$t" 2> "$out/build.log" || { cat "$out/build.log" >&2; return 1; }
  echo "== $t: $seconds s"
  (cd "$out" && ./fuzz-"$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 corpus) 2>&1 \
    | grep -E "^(#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY)|cov:" | tail -6
  return "${PIPESTATUS[0]}"
}

if [ "$target" = all ]; then
  for t in json cron gguf csv; do run_target "$t"; done
else
  run_target "$target"
fi
