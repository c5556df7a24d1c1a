#!/usr/bin/python3
"""make test: unit tests, the unit tests again under ASan+UBSan, the
integration suite through the real stack behind lighttpd, again behind
Apache and nginx, again through PgBouncer in transaction pooling mode, again
with the worker under ASan+UBSan, one worker under valgrind, the pool under
load behind lighttpd, Apache and nginx, the fault tests, the mini program client
module under Node against the running stack, the fuzzers for a bounded
time, the deployment files' static checks, the fake WeChat server's own
checks, and make bench's own parts.
Prints each stage's tally and a last line "N passed, M failed"; exits
non-zero on any failure."""

import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
ST = os.path.join(ROOT, ".state")
STAGES = [
    ("unit", ["make", "--no-print-directory", "unit"], {}),
    ("unit under ASan+UBSan", ["make", "--no-print-directory", "asan-unit"], {}),
    ("integration behind lighttpd", [PY, "tests/integration/run.py"],
     {"WEB": "lighttpd", "WXAUTH_TEST_STATE": os.path.join(ST, "test-lighttpd")}),
    ("integration behind Apache", [PY, "tests/integration/run.py"],
     {"WEB": "apache", "WXAUTH_TEST_STATE": os.path.join(ST, "test-apache")}),
    ("integration behind nginx", [PY, "tests/integration/run.py"],
     {"WEB": "nginx", "WXAUTH_TEST_STATE": os.path.join(ST, "test-nginx")}),
    ("integration through PgBouncer (transaction pooling)", [PY, "tests/integration/run.py"],
     {"WEB": "lighttpd", "WXAUTH_TEST_PGBOUNCER": "1",
      "WXAUTH_TEST_STATE": os.path.join(ST, "test-pgbouncer")}),
    ("integration under ASan+UBSan (the worker itself)",
     ["sh", "-c", "make --no-print-directory asan >/dev/null && exec %s tests/integration/run.py" % PY],
     {"WEB": "lighttpd", "WXAUTH_BUILD": "build-asan",
      "WXAUTH_TEST_STATE": os.path.join(ST, "test-asan")}),
    ("one worker under valgrind memcheck", [PY, "tests/integration/valgrind.py"], {}),
    ("pool under load behind lighttpd", [PY, "tests/integration/pool.py"], {"WEB": "lighttpd"}),
    ("pool under load behind Apache", [PY, "tests/integration/pool.py"], {"WEB": "apache"}),
    ("pool under load behind nginx (kept connections)", [PY, "tests/integration/pool.py"],
     {"WEB": "nginx"}),
    ("faults: PostgreSQL restarts, WeChat misbehaving, kills, slow clients, oracles",
     [PY, "tests/integration/faults.py"], {}),
    ("the mini program client under Node (miniprogram/wxauth.js)",
     [PY, "tests/miniprogram/run.py"],
     {"WEB": "lighttpd", "WXAUTH_TEST_STATE": os.path.join(ST, "test-miniprogram")}),
    ("fuzzing (bounded, ASan+UBSan)", [PY, "tests/fuzz/run.py"], {}),
    ("deployment files", [PY, "tests/deploy/check.py"], {}),
    ("the fake WeChat server's own checks", [PY, "tests/fakewx/selftest.py"], {}),
    ("make bench's parts: the fast fake WeChat, the floor responder",
     ["sh", "-c", "make --no-print-directory build/tests/bench/floor build/tests/bench/wxbench"
      " >/dev/null && exec %s tests/bench/selftest.py" % PY], {}),
]


def main():
    total_p = total_f = 0
    t_all = time.monotonic()
    for name, argv, env in STAGES:
        print("== %s" % name, flush=True)
        t0 = time.monotonic()
        p = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=dict(os.environ, **env))
        out = p.stdout
        sys.stdout.write(out if p.returncode != 0 else
                         "".join(l + "\n" for l in out.splitlines()
                                 if re.search(r"passed|FAIL|ok \(|error:|^    ", l)))
        m = re.findall(r"^(\w[\w ]*): (\d+) passed, (\d+) failed$", out, re.M)
        if m:
            p_, f_ = int(m[-1][1]), int(m[-1][2])
        else:
            p_, f_ = 0, 1
        if p.returncode != 0 and f_ == 0:
            f_ = 1
        total_p += p_
        total_f += f_
        print("== %s: %d passed, %d failed (%.0fs)" % (name, p_, f_, time.monotonic() - t0),
              flush=True)
    print("make test took %.0fs" % (time.monotonic() - t_all))
    print("%d passed, %d failed" % (total_p, total_f))
    return 0 if total_f == 0 and total_p > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
