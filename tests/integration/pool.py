#!/usr/bin/python3
"""The worker pool as it is deployed (deploy/pool/wxauth-pool: spawn-fcgi +
multiwatch behind a web server), under load from a second process
(tests/integration/load.py): privileges, a worker SIGKILLed and replaced, a
rolling reload, recycling, a bad configuration refused, PostgreSQL down
when the pool starts, and a worker's threads following its load.

Runs behind WEB (lighttpd by default).  Ends with "pool: N passed, M failed".
Standard library only."""

import json
import os
import pwd
import grp
import stat
import subprocess
import sys
import time

import harness as H
from harness import ROOT, Fake, bearer, check, devstack, login, request

STATE = os.path.join(ROOT, ".state", "test-pool-" + (os.environ.get("WEB") or "lighttpd"))
LOG = os.path.join(STATE, "workers.log")
LOAD = os.path.join(ROOT, "tests", "integration", "load.py")


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def workers(S, name):
    return children(S.stack.pools[name]["pool"].pid)


def start_load(base, path, conc, secs, headers=None):
    args = ["/usr/bin/python3", LOAD, base, path, str(conc), str(secs)]
    args += ["%s:%s" % kv for kv in (headers or {}).items()]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def load_result(p):
    out, _ = p.communicate(timeout=60)
    return json.loads(out)


def wait_workers(S, name, n, exclude=(), timeout=5.0):
    """Seconds until the pool has n workers, none of them in exclude; None if never."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        w = workers(S, name)
        if len(w) >= n and not set(w) & set(exclude):
            return time.monotonic() - t0
        time.sleep(0.01)
    return None


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


# ---------------------------------------------------------------------------
def t_privileges(S):
    p = S.stack.pools["main"]
    ws = workers(S, "main")
    check(len(ws) == 2, "two workers: %r" % ws)
    st = os.stat(p["sock"])
    check(stat.S_ISSOCK(st.st_mode), "the pool listens on a unix socket")
    if os.geteuid() == 0:
        check(all(uid_of(w) == pwd.getpwnam(devstack.WORKER_USER).pw_uid for w in ws),
              "workers run as %s, not root: %r" % (devstack.WORKER_USER, [uid_of(w) for w in ws]))
        check(st.st_uid == pwd.getpwnam(devstack.WEB_USER).pw_uid and
              st.st_gid == grp.getgrnam(devstack.WEB_USER).gr_gid and
              stat.S_IMODE(st.st_mode) == 0o660,
              "socket owned by the web server's user, mode 0660: %o" % stat.S_IMODE(st.st_mode))
    else:
        check(stat.S_IMODE(st.st_mode) == 0o600, "socket mode 0600")
    # No TCP listener of the workers' own.
    for w in ws:
        fds = os.listdir("/proc/%d/fd" % w)
        inodes = {os.readlink("/proc/%d/fd/%s" % (w, fd)) for fd in fds
                  if os.path.exists("/proc/%d/fd/%s" % (w, fd))}
        tcp = open("/proc/net/tcp").read().split("\n")[1:]
        listening = {"socket:[%s]" % l.split()[9] for l in tcp if l.split() and l.split()[3] == "0A"}
        check(not (inodes & listening), "worker %d has no TCP listening socket" % w)
    r = S.stack.pool_ctl("main", "status")
    check(r.returncode == 0 and "workers: 2 of 2" in r.stdout, "status: %r" % r.stdout)


def t_sigkill_under_load(S):
    _, r = login(S.main, S.fake)
    tok = r.res["token"]
    lost_total = 0
    for round_ in range(3):
        before = workers(S, "main")
        p = start_load(S.main, "/api/user/info", 8, 3.0, bearer(tok))
        time.sleep(1.0)
        victim = before[round_ % len(before)]
        t_kill = time.monotonic()
        os.kill(victim, 9)
        dt = wait_workers(S, "main", len(before), exclude=[victim])
        res = load_result(p)
        lost = res["total"] - res["statuses"].get("200", 0)
        lost_total += lost
        check(dt is not None and dt < 1.0, "killed worker replaced within a second (%s s)" %
              (None if dt is None else round(dt, 3)))
        # At most the requests the victim had in flight: WXAUTH_THREADS of them.
        check(lost <= S.threads, "round %d: %d of %d requests failed (in flight on the victim "
              "at most %d): %r" % (round_, lost, res["total"], S.threads, res["statuses"]))
        check(res["total"] > 100, "load ran (%d requests)" % res["total"])
        print("    SIGKILL round %d: replaced in %.3f s, %d of %d requests failed" %
              (round_, dt or -1, lost, res["total"]), flush=True)
        del t_kill
    check(len(workers(S, "main")) == 2, "the pool did not shrink after three kills")
    S.figures["lost_per_kill"] = lost_total / 3.0


def t_reload_under_load(S):
    _, r = login(S.main, S.fake)
    tok = r.res["token"]
    before = workers(S, "main")
    p = start_load(S.main, "/api/user/info", 8, 4.0, bearer(tok))
    time.sleep(0.8)
    t0 = time.monotonic()
    rr = S.stack.pool_ctl("main", "reload")
    took = time.monotonic() - t0
    res = load_result(p)
    after = workers(S, "main")
    check(rr.returncode == 0, "reload succeeded: %r" % rr.stderr)
    check(len(after) == 2 and not set(after) & set(before), "every worker replaced: %r -> %r" %
          (before, after))
    lost = res["total"] - res["statuses"].get("200", 0)
    check(lost == 0, "a reload under load fails no request: %d of %d failed %r" %
          (lost, res["total"], res["statuses"]))
    print("    reload: %.2f s, %d of %d requests failed" % (took, lost, res["total"]), flush=True)
    S.figures["lost_per_reload"] = lost
    # In flight during a reload: a slow login completes.
    c = S.fake.code(delay_ms=800)
    p = start_load(S.main, "/healthz", 4, 2.0)
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(request, S.main, "GET", "/api/user/auth_login?code=" + c["code"])
        time.sleep(0.2)
        S.stack.pool_ctl("main", "reload")
        r = fut.result(10)
    check(r.status == 200, "a login in flight through the reload completed (%d)" % r.status)
    if r.status == 200:
        H.secrets_seen.add(r.res["token"])
    res = load_result(p)
    check(res["total"] == res["statuses"].get("200", 0), "healthz load through that reload: %r" %
          res["statuses"])


def t_stop_graceful(S):
    """Stopping the whole pool (systemctl stop, Ctrl-C) lets requests finish."""
    import concurrent.futures
    base = S.stack.start_pool("stopper", workers=2)
    try:
        c = S.fake.code(delay_ms=800)
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            fut = ex.submit(request, base, "GET", "/api/user/auth_login?code=" + c["code"])
            time.sleep(0.3)
            ws = workers(S, "stopper")
            os.kill(S.stack.pools["stopper"]["pool"].pid, 15)
            r = fut.result(10)
        check(r.status == 200, "a login in flight when the pool is told to stop completes (%d)" %
              r.status)
        if r.status == 200:
            H.secrets_seen.add(r.res["token"])
        S.stack.pools["stopper"]["pool"].wait(10)
        text = open(LOG, encoding="utf-8", errors="replace").read()
        check(all("wxauth[%d] worker stopped" % w in text for w in ws),
              "every worker stopped gracefully, none killed")
    finally:
        S.stack.stop_pool("stopper")


def t_recycling(S):
    base = S.stack.start_pool("recycle", workers=1, env={"WXAUTH_MAX_REQUESTS": "20"})
    try:
        seen = set()
        statuses = []
        for _ in range(70):
            statuses.append(request(base, "GET", "/healthz").status)
            seen.update(workers(S, "recycle"))
        check(all(s == 200 for s in statuses), "recycling loses no request: %r" %
              sorted(set(statuses)))
        check(len(seen) >= 3, "the worker recycled after 20-22 requests (%d pids seen)" % len(seen))
        check(len(workers(S, "recycle")) == 1, "one worker still")
    finally:
        S.stack.stop_pool("recycle")


def t_bad_config_refused(S):
    env = dict(S.stack.pools["main"]["env"])
    env.update(WXAUTH_SESSION_TTL="12abc",
               WXAUTH_SOCKET=os.path.join(STATE, "bad.sock"), WXAUTH_PIDFILE=os.path.join(STATE, "bad.pid"))
    t0 = time.monotonic()
    p = subprocess.run(["sh", os.path.join(ROOT, "deploy/pool/wxauth-pool"), "run"], env=env,
                       capture_output=True, text=True, timeout=20)
    check(p.returncode == 2 and "WXAUTH_SESSION_TTL" in p.stderr and "refusing" in p.stderr,
          "a bad configuration: the pool refuses to start (%d %r)" % (p.returncode, p.stderr[-200:]))
    check(time.monotonic() - t0 < 5, "at once")
    check(not os.path.exists(env["WXAUTH_SOCKET"]), "no socket made")


def t_pg_down_at_start(S):
    S.stack.stop_pg()
    try:
        base = S.stack.start_pool("nopg", workers=2)
        ws = workers(S, "nopg")
        sts = []
        for _ in range(10):
            sts.append(request(base, "GET", "/healthz").status)
            time.sleep(0.2)
        check(set(sts) == {503}, "PostgreSQL down: 503 (%r)" % sorted(set(sts)))
        check(workers(S, "nopg") == ws and len(ws) == 2, "the pool never shrinks: %r -> %r" %
              (ws, workers(S, "nopg")))
    finally:
        S.stack.start_pg()
    try:
        ok = False
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            if request(base, "GET", "/healthz").status == 200:
                ok = True
                break
            time.sleep(0.1)
        check(ok, "healthz 200 once PostgreSQL is up (%.1f s)" % (time.monotonic() - t0))
        _, r = login(base, S.fake)
        check(r.status == 200, "then a login works (%d)" % r.status)
        check(workers(S, "nopg") == ws, "the same workers: nothing was restarted")
    finally:
        S.stack.stop_pool("nopg")


def tasks(pid):
    """Threads of process pid (-1: gone)."""
    try:
        return len(os.listdir("/proc/%d/task" % pid))
    except OSError:
        return -1


THREADS_MIN = 16        # fcgi/main.c: threads a worker keeps at rest


def t_threads_follow_load(S):
    """A worker keeps THREADS_MIN threads at rest (and its main and maintenance
    threads), makes more while logins wait on a slow WeChat, never more than
    WXAUTH_THREADS, and ends them once it is idle again."""
    import concurrent.futures
    import threading
    cap, n = 40, 60
    base = S.stack.start_pool("grow", workers=1, env={"WXAUTH_THREADS": str(cap)})
    try:
        w = workers(S, "grow")[0]
        check(tasks(w) == THREADS_MIN + 2, "at rest: %d threads and the main and maintenance "
              "ones (%d)" % (THREADS_MIN, tasks(w)))
        codes = [S.fake.code(delay_ms=1500)["code"] for _ in range(n)]
        peak, done = [0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], tasks(w))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with concurrent.futures.ThreadPoolExecutor(n) as ex:
                rs = list(ex.map(lambda c: request(base, "GET", "/api/user/auth_login?code=" + c),
                                 codes))
        finally:
            done.set()
            sampler.join()
        for r in rs:
            if r.status == 200:
                H.secrets_seen.add(r.res["token"])
        check(all(r.status == 200 for r in rs), "%d logins at once on a 1.5 s WeChat all served: %r"
              % (n, sorted(set(r.status for r in rs))))
        check(peak[0] == cap + 2, "the worker grew to WXAUTH_THREADS=%d threads, and no more, "
              "while %d logins waited (peak %d, with the main and maintenance ones)"
              % (cap, n, peak[0]))
        t0 = time.monotonic()
        while tasks(w) > THREADS_MIN + 2 and time.monotonic() - t0 < 20:
            time.sleep(0.2)
        check(tasks(w) == THREADS_MIN + 2, "idle again, it ends the threads beyond %d (%d left, "
              "%.1f s after the last login)" % (THREADS_MIN, tasks(w), time.monotonic() - t0))
        check(workers(S, "grow") == [w], "the same worker throughout")
        r = request(base, "GET", "/healthz")
        check(r.status == 200, "and it still serves (%d)" % r.status)
    finally:
        S.stack.stop_pool("grow")


def main():
    S = H.setup(STATE, LOG)
    stack = S.stack
    S.threads = 4
    S.figures = {}
    tests = [t_privileges, t_sigkill_under_load, t_reload_under_load, t_stop_graceful, t_recycling,
             t_bad_config_refused, t_pg_down_at_start, t_threads_follow_load]
    try:
        stack.start_pg()
        stack.migrate()
        stack.start_fakewx()
        S.fake = Fake(stack.fakewx_url, stack.env["WX_CA_FILE"])
        S.main = stack.start_pool("main", workers=2, env={"WXAUTH_THREADS": str(S.threads)})
        H.run_tests(S, tests)
    finally:
        stack.stop_all()
    print("  figures (%s): %r" % (stack.web, S.figures))
    print("pool: %d passed, %d failed" % (H.passed, H.failed))
    return 0 if H.failed == 0 and H.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
