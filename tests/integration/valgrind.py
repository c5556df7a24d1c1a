#!/usr/bin/python3
"""One worker under valgrind memcheck for 1,000 mixed requests (logins,
reads, profile updates in every mode, phone binds, remote check_session,
logouts, bad input, unknown paths), then a graceful stop: no error, nothing
definitely (or indirectly) lost.  Ends with "valgrind: N passed, M failed".
Standard library only."""

import os
import re
import shutil
import sys
import time

import harness as H
from harness import ROOT, Fake, bearer, check, devstack, request

STATE = os.path.join(ROOT, ".state", "test-valgrind")
LOG = os.path.join(STATE, "workers.log")
REQUESTS = 1000


def main():
    stack = H.setup(STATE, LOG).stack
    vdir = "/tmp/wxauth-valgrind-%d" % os.getpid()
    os.makedirs(vdir, exist_ok=True)
    os.chmod(vdir, 0o1777)
    vlog = os.path.join(vdir, "memcheck.%p.log")
    wrapper = os.path.join(vdir, "wxauth-under-valgrind")
    n = 0
    try:
        stack.start_pg()
        stack.migrate()
        stack.start_fakewx()
        fake = Fake(stack.fakewx_url, stack.env["WX_CA_FILE"])
        # The pool execs WXAUTH_BIN: a wrapper that runs the staged program
        # under memcheck (check-config too, which is a run of its own).
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec valgrind --tool=memcheck --leak-check=full "
                    "--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect "
                    "--error-exitcode=99 --log-file=%s \"$WXAUTH_REAL_BIN\" \"$@\"\n" % vlog)
        os.chmod(wrapper, 0o755)
        rundir = stack._rundir("vg")
        real = os.path.join(rundir, "wxauth") if os.geteuid() == 0 else stack.binary
        env = {"WXAUTH_BIN": wrapper, "WXAUTH_REAL_BIN": real, "WXAUTH_THREADS": "4",
               "WX_TIMEOUT_MS": "20000", "WXAUTH_DB_TIMEOUT_MS": "20000",
               "WXAUTH_LIMIT_LOGIN_IP": "0", "WXAUTH_LIMIT_LOGIN_USER": "0",
               "WXAUTH_LIMIT_PHONE_USER": "0", "WXAUTH_LIMIT_DECRYPT_FAIL": "0"}
        base = stack.start_pool("vg", workers=1, env=env)
        appid = stack.env["WX_APPID"]
        tok = None
        c = None
        t0 = time.monotonic()
        while n < REQUESTS:
            k = n % 20
            if k == 0 or tok is None:
                c, r = H.login(base, fake)
                tok = r.res.get("token")
                check(r.status == 200, "login under valgrind (%d)" % r.status)
            elif k in (1, 2, 3):
                r = request(base, "GET", "/api/user/info", headers=bearer(tok))
            elif k == 4:
                r = request(base, "GET", "/api/user/check_session", headers=bearer(tok))
            elif k == 5:
                r = request(base, "POST", "/api/user/update_base_info",
                            {"nick_name": "名%d" % n, "gender": n % 3}, headers=bearer(tok))
            elif k == 6:
                e = fake.encrypt(c["session_key"], {"nickName": "E%d" % n, "gender": 1,
                                                   "watermark": {"appid": appid}})
                r = request(base, "POST", "/api/user/update_base_info",
                            {"encrypted_data": e["encrypted_data"], "encrypt_iv": e["iv"]},
                            headers=bearer(tok))
            elif k == 7:
                r = request(base, "POST", "/api/user/update_base_info",
                            {"encrypted_data": "AAAA", "encrypt_iv": "AAAAAAAAAAAAAAAAAAAAAA=="},
                            headers=bearer(tok))
            elif k == 8:
                r = request(base, "POST", "/api/user/bind_wx_phone_number",
                            {"code": fake.phone_code()["code"]}, headers=bearer(tok))
            elif k == 9:
                r = request(base, "GET", "/api/user/check_session?remote=1", headers=bearer(tok))
            elif k == 10:
                r = request(base, "POST", "/api/user/update_base_info",
                            {"raw_data": "{\"nickName\":\"R\"}", "signature": "0" * 40},
                            headers=bearer(tok))
            elif k == 11:
                r = request(base, "GET", "/api/user/auth_login?code=%FF%00")
            elif k == 12:
                r = request(base, "POST", "/api/user/auth_login", "{\"code\": [1,2", ctype="application/json")
            elif k == 13:
                r = request(base, "GET", "/nope/%d" % n)
            elif k == 14:
                r = request(base, "PUT", "/api/user/info", body="")
            elif k == 15:
                r = request(base, "GET", "/api/user/auth_login?code=unknown%d" % n)
            elif k == 16:
                r = request(base, "GET", "/healthz")
            elif k == 17:
                r = request(base, "GET", "/api/user/info", headers={"Cookie": "a=b; sid=" + "x" * 43})
            elif k == 18:
                r = request(base, "POST", "/api/user/logout", headers=bearer(tok))
                tok = None
            else:
                r = request(base, "GET", "/api/user/info", headers=bearer("A" * 43))
            n += 1
        elapsed = time.monotonic() - t0
        print("    %d requests in %.1f s under memcheck" % (n, elapsed), flush=True)
        stack.stop_pool("vg")
    finally:
        stack.stop_all()
    logs = [os.path.join(vdir, f) for f in os.listdir(vdir) if f.startswith("memcheck.")]
    check(len(logs) >= 2, "memcheck logs of the worker and of check-config: %d" % len(logs))
    worker_seen = False
    for path in logs:
        text = open(path, encoding="utf-8", errors="replace").read()
        errs = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        check(errs is not None and errs.group(1) == "0",
              "%s: no memcheck error (%s)" % (os.path.basename(path), errs and errs.group(0)))
        lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
        ind = re.search(r"indirectly lost: ([\d,]+) bytes", text)
        check((lost is None or lost.group(1) == "0") and (ind is None or ind.group(1) == "0"),
              "%s: nothing definitely or indirectly lost (%s, %s)" %
              (os.path.basename(path), lost and lost.group(0), ind and ind.group(0)))
        # The worker's own run: the program without a subcommand (not
        # check-config), having allocated for every request it served.
        cmd = re.search(r"Command: (\S+)(.*)", text)
        m = re.search(r"total heap usage: ([\d,]+) allocs", text)
        if cmd and cmd.group(2).strip() == "" and m and \
                int(m.group(1).replace(",", "")) > 10 * n:
            worker_seen = True
    check(worker_seen, "the worker's own log is among them (its run, %d requests)" % n)
    text = open(LOG, encoding="utf-8", errors="replace").read()
    # Requests with a NUL in the URL are refused by the web server itself
    # (1 in 20 of them); the worker served all the others.
    served = len(re.findall(r" access ", text))
    check(served >= REQUESTS * 19 // 20, "the worker served the requests: %d" % served)
    check("worker stopped" in text, "and stopped gracefully, so memcheck saw its exit")
    shutil.rmtree(vdir, ignore_errors=True)
    print("valgrind: %d passed, %d failed" % (H.passed, H.failed))
    return 0 if H.failed == 0 and H.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
