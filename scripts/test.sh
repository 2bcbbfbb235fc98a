#!/usr/bin/env bash
# Runs every test file under test/ (Node 20's test runner does not expand globs itself).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-1}" "${files[@]}"
