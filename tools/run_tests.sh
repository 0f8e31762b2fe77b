#!/usr/bin/env bash
# Run the trial suite and end with the line CI reads: "N passed, N failed, N skipped".
# trial's own summary ("FAILED (skips=1, failures=2, errors=1, successes=30)") is
# folded into it: errors and unexpected successes count as failed.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
.venv/bin/trial --temp-directory=_trial_temp "${@:-tests}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
.venv/bin/python - "$log" "$status" <<'PY'
import re
import sys

text = open(sys.argv[1], errors="replace").read()
summary = re.findall(r"^(PASSED|FAILED) \((.*)\)\s*$", text, re.M)
counts = dict.fromkeys(
    ("successes", "failures", "errors", "skips", "expectedFailures", "unexpectedSuccesses"), 0)
if summary:
    for key, value in re.findall(r"(\w+)=(\d+)", summary[-1][1]):
        counts[key] = int(value)
passed = counts["successes"] + counts["expectedFailures"]
failed = counts["failures"] + counts["errors"] + counts["unexpectedSuccesses"]
if not summary or (failed == 0 and sys.argv[2] != "0"):
    failed += 1  # trial died before summarising: that is a failure, not a pass
print("%d passed, %d failed, %d skipped" % (passed, failed, counts["skips"]))
PY
exit "$status"
