#!/usr/bin/python3
"""The fuzzing stage of make test: `make fuzz FUZZ_SECONDS=<n>` (default 8;
FUZZ_SECONDS in the environment changes it), then, per target, the
executions libFuzzer made (its final stat::number_of_executed_units; for
fuzz_fcgi the inputs it really ran) and whether it found anything.  A
target passes when it ran without a finding and made more than 1000
executions.  Then fuzz_worker, which replays fuzz_fcgi's corpus to the real
worker program: it passes when every input of that corpus was sent (or
skipped as the known libfcgi overflow) and the worker stopped cleanly.
Ends with "fuzz: N passed, M failed"; exits non-zero on any failure."""

import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build-fuzz")
MIN_EXECS = 1000


def targets():
    return sorted(re.sub(r"^fuzz_|\.c$", "", os.path.basename(p))
                  for p in glob.glob(os.path.join(ROOT, "tests", "fuzz", "fuzz_*.c"))
                  if not p.endswith("fuzz_worker.c"))


def tail(path, n=12):
    """What tells a finding apart: the invariant, the sanitizer's summary,
    the harness's own lines, the artifact; then the last lines."""
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    key = [l for l in lines if re.search(
        r"invariant violated|ERROR: |SUMMARY: |runtime error|^fuzz_(fcgi|worker): |Test unit written", l)]
    return key[-n:] + ["..."] + lines[-4:]


def check(t, seconds):
    """(passed, line) for target t, from what its run left behind."""
    d = os.path.join(BUILD, "run", t)
    log = os.path.join(d, "log")
    if not os.path.exists(log):
        return False, "fuzz_%s: FAIL: did not run (no %s)" % (t, os.path.relpath(log, ROOT))
    with open(log, errors="replace") as f:
        text = f.read()
    m = re.findall(r"^stat::number_of_executed_units:\s*(\d+)", text, re.M)
    execs = int(m[-1]) if m else 0
    sent = re.findall(r"^fuzz_fcgi: (\d+) inputs run", text, re.M)
    if sent:
        execs = int(sent[-1])
    found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(d, "*"))
                   if re.match(r"(crash|leak|timeout|oom|slow-unit)-", os.path.basename(p)))
    why = []
    if os.path.exists(os.path.join(d, "FAILED")):
        why.append("the run failed")
    if found:
        why.append("found " + ", ".join(os.path.join("build-fuzz", "run", t, f) for f in found))
    if not m:
        why.append("no final stats")
    elif execs <= MIN_EXECS:
        why.append("only %d executions" % execs)
    if why:
        return False, "fuzz_%s: FAIL: %s (%d executions; log: %s)" % (
            t, "; ".join(why), execs, os.path.relpath(log, ROOT))
    return True, "fuzz_%s: ok (%d executions in %d s)" % (t, execs, seconds)


def check_worker():
    """(passed, line) for the replay of fuzz_fcgi's corpus to the worker."""
    d = os.path.join(BUILD, "run", "worker")
    log = os.path.join(d, "log")
    corpus = os.path.join(BUILD, "run", "fcgi", "corpus")
    if not os.path.exists(log):
        return False, "fuzz_worker: FAIL: did not run (no %s)" % os.path.relpath(log, ROOT)
    with open(log, errors="replace") as f:
        text = f.read()
    n = len(os.listdir(corpus)) if os.path.isdir(corpus) else 0
    m = re.findall(r"^fuzz_worker: (\d+) inputs sent, (\d+) skipped .*the worker stopped cleanly",
                   text, re.M)
    sent, skipped = (int(m[-1][0]), int(m[-1][1])) if m else (0, 0)
    why = []
    if os.path.exists(os.path.join(d, "FAILED")):
        why.append("the run failed")
    if not m:
        why.append("the worker did not stop cleanly")
    if n == 0 or sent + skipped < n:
        why.append("%d of %d inputs replayed" % (sent + skipped, n))
    if why:
        return False, "fuzz_worker: FAIL: %s (log: %s)" % ("; ".join(why),
                                                           os.path.relpath(log, ROOT))
    return True, "fuzz_worker: ok (fuzz_fcgi's %d inputs sent to the worker, %d skipped " \
        "as the known libfcgi overflow)" % (sent, skipped)


def main():
    seconds = int(os.environ.get("FUZZ_SECONDS", "8"))
    jobs = max(1, min(os.cpu_count() or 1, 2))
    argv = ["make", "--no-print-directory", "-j%d" % jobs, "fuzz", "FUZZ_SECONDS=%d" % seconds]
    ts = targets()
    for t in ts + ["worker"]:    # no stale result may pass for this run's
        shutil.rmtree(os.path.join(BUILD, "run", t), ignore_errors=True)
    print("fuzz: %s" % " ".join(argv), flush=True)
    p = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    results = [check(t, seconds) for t in ts] + [check_worker()]
    if p.returncode != 0 and (all(ok for ok, _ in results) or
                              any("did not run" in line for _, line in results)):
        # The build failed, or make failed outside a target's run.
        for l in p.stdout.splitlines()[-30:]:
            print("    " + l)
        if all(ok for ok, _ in results):
            results.append((False, "fuzz: FAIL: make fuzz exited %d" % p.returncode))
    for ok, line in results:
        print(line)
        if not ok:
            t = line.split(":", 1)[0][len("fuzz_"):]
            for l in tail(os.path.join(BUILD, "run", t, "log")):
                print("    " + l)
    passed = sum(1 for ok, _ in results if ok)
    failed = len(results) - passed
    print("fuzz: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
