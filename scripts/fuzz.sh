#!/usr/bin/env bash
# make fuzz SECONDS=N: builds the libFuzzer targets of Fuzz/ (AddressSanitizer on) and runs
# each for N seconds (default 60), one after the other. Fails when any target finds a
# crash, a broken invariant, a timeout (a hang) or a leak of memory past the limit.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Scratch space is .build-fuzz/ (git-ignored):
#   corpus/<target>/   inputs that found new coverage, kept between runs
#   crashes/<target>/  crash-*, timeout-*, oom-* inputs (re-run one with
#                      .build-fuzz/<config>/<target> <file>)
#   logs/<target>.log  libFuzzer's output
# Committed seeds are Fuzz/seeds/<target>/; FuzzMessageRewrite also starts from the corpus
# messages in Tests/Fixtures/corpus/messages and FuzzHTMLRewrite from their HTML parts.
# Both use a dictionary of the tokens their parsers react to (Fuzz/dictionaries/).
# FUZZ_CONFIG=debug|release picks the build (default release: optimized code runs several
# times more inputs per second; assertions and bounds checks stay on).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzMessageRewrite FuzzHTMLRewrite FuzzQuotedPrintable FuzzBase64 FuzzTokenDecode FuzzEnrichmentLists FuzzRequestHead)
config=${FUZZ_CONFIG:-release}
scratch=.build-fuzz
messages=Tests/Fixtures/corpus/messages

# -enable-testing lets FuzzRequestHead reach the tracker's internal HTTP head reader.
build=(swift build --package-path Fuzz --scratch-path "$scratch" -c "$config" -Xswiftc -sanitize=fuzzer,address
       -Xswiftc -enable-testing)
mkdir -p "$scratch/logs"
echo "fuzz: building: ${build[*]}"
if ! "${build[@]}" >"$scratch/logs/build.log" 2>&1; then
    # gold warns once per ASan check symbol it cannot export: noise.
    grep -v "Cannot export local symbol" "$scratch/logs/build.log" | tail -40 >&2
    echo "fuzz: build failed" >&2
    exit 1
fi
bin=$("${build[@]}" --show-bin-path)

# The Swift runtime's own crash reporter would wait on a process libFuzzer already ended;
# libFuzzer and ASan print the stack themselves.
export SWIFT_BACKTRACE=enable=no

failed=()
summary=()
for t in "${targets[@]}"; do
    corpus=$scratch/corpus/$t
    crashes=$scratch/crashes/$t
    mkdir -p "$corpus" "$crashes"
    seeds=("Fuzz/seeds/$t")
    options=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    case $t in
        FuzzMessageRewrite)
            seeds+=("$messages")
            options+=(-max_len=65536 -dict=Fuzz/dictionaries/message.dict) ;;
        FuzzHTMLRewrite)
            Fuzz/extract-html-seeds.py "$scratch/seeds/$t" "$messages"/*.eml
            seeds+=("$scratch/seeds/$t")
            options+=(-max_len=32768 -dict=Fuzz/dictionaries/html.dict) ;;
        FuzzRequestHead)
            options+=(-max_len=4096 -dict=Fuzz/dictionaries/http.dict) ;;
        *)
            options+=(-max_len=8192) ;;
    esac
    log=$scratch/logs/$t.log
    echo "fuzz: $t for ${seconds}s"
    status=0
    "$bin/$t" "${options[@]}" -max_total_time="$seconds" -artifact_prefix="$crashes/" \
        "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | tr -dc 0-9 || true)
    size=$(find "$corpus" -type f | wc -l)
    if [ "$status" -ne 0 ]; then
        failed+=("$t")
        echo "fuzz: $t FAILED (exit $status); input saved as:"
        grep -E "^(artifact_prefix|Test unit written to)" "$log" | sed 's/^/    /' || true
        grep -E -m 3 "invariant broken|ERROR: (AddressSanitizer|libFuzzer)|Fatal error" "$log" | sed 's/^/    /' || true
        echo "    full log: $log"
    fi
    summary+=("$(printf '%-22s %10s runs %7s/s  cov %6s  corpus %5s  %s' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$size" \
        "$([ "$status" -eq 0 ] && echo ok || echo FAILED)")")
done

echo
echo "fuzz: ${seconds}s per target ($config build)"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failures in: ${failed[*]}" >&2
    exit 1
fi
