#!/usr/bin/env bash
# make sanitize: the Swift unit tests (every test target, Swift Testing and XCTest) built
# and run under AddressSanitizer (with LeakSanitizer) and then ThreadSanitizer, each in its
# own scratch directory (.build-asan, .build-tsan; git-ignored). Fails on any report not
# suppressed in scripts/sanitizers/*.supp, where every suppression says why.
#
#   scripts/sanitize.sh [address] [thread] [-- swift test arguments, e.g. --filter Spool]
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sanitizers+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)

# The Swift runtime's crash reporter would hold a crashed test process; the sanitizers
# print their own reports.
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/tsan.supp:print_suppressions=0"

for sanitizer in "${sanitizers[@]}"; do
    case $sanitizer in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
        *) echo "sanitize: unknown sanitizer '$sanitizer' (address or thread)" >&2; exit 2 ;;
    esac
    start=$(date +%s)
    echo "sanitize: building the tests with -sanitize=$sanitizer in $scratch"
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
    built=$(date +%s)
    echo "sanitize: running the tests under $sanitizer"
    swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "$@"
    echo "sanitize: $sanitizer passed (build $((built - start)) s, tests $(($(date +%s) - built)) s)"
done
