#!/usr/bin/python3
"""make bench: wxauth's endpoints against the floor of its own stack.

Brings up what `make run` brings up (PostgreSQL, migrations, the fake WeChat
server, the worker pool under spawn-fcgi + multiwatch, a web server), in a
state directory of its own (.state/bench), and drives it with wrk from a
second process.  For each endpoint -- login, info, check_session,
update_base_info (encrypted), bind_wx_phone_number (code), healthz -- it
reports req/s, p50/p99, non-2xx responses and socket errors, the workers'
memory (RSS, PSS, private), the PostgreSQL connections in use, and per
request the statements sent (pg_stat_statements), the write transactions
(transaction ids used) and the WAL written.  In the same run, under the
same pool and web server settings, it measures the floor
(tests/bench/floor.c): a static file, a FastCGI hello, hello + SELECT 1,
the minimum login writes as one statement, and those plus one upstream
call; each endpoint is printed as a ratio to its floor.  The targets'
ratios are measured again in paired rounds, each endpoint seconds after
its floor (BENCH_PAIR_ROUNDS, 3; none with BENCH_QUICK), and judged on
their median, and so is nginx against lighttpd (info and login).  Then:
login and its floor against WeChat's latency (WX_LATENCY_MS, 50 by default, and a
sweep), info and login against concurrency, memory over 100,000 requests,
info and login at 1,000,000 users and sessions (with the EXPLAIN of every
statement, from auto_explain), and nginx with fastcgi_keep_conn against
lighttpd.

Writes docs/PERFORMANCE.md (tables, the machine, the command), the plots
docs/bench-concurrency.png and docs/bench-latency.png (gnuplot), and the raw
figures in .state/bench/results.json.  BENCH_QUICK=1: shorter runs, fewer
points, 100,000 rows instead of 1,000,000 (under 2 minutes).  Speed is
reported, never asserted; the run fails only when the stack fails (a
non-2xx or a socket error at the default settings is reported as such).
Standard library only.
"""

import base64
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import ssl
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "deploy", "dev"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import devstack  # noqa: E402
import harness   # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
DUR = 2 if QUICK else 6                 # seconds per wrk run
CONC = 64                               # connections (wrk -c), the default cell
LATENCY = int(os.environ.get("WX_LATENCY_MS", "50"))
SWEEP_CONC = [16, 128] if QUICK else [8, 32, 64, 128, 256]
SWEEP_LAT = [0, LATENCY] if QUICK else sorted({0, 10, LATENCY, 100})
SCALE_ROWS = 100_000 if QUICK else 1_000_000
# Users and sessions in the database before the first cell, analyzed: the
# plans are then those of a real table, not of a near-empty one (where a
# sequential scan of users and a hash join are the cheaper plan).
BASE_ROWS = 20_000
MEM_REQUESTS = 20_000 if QUICK else 100_000
REST_S = 2.5          # after a run, before memory is read at rest
TOKENS = 64                             # sessions the authenticated cells use
# The targets' ratios, measured again in rounds that run each endpoint next
# to its floor (the floor pools kept up beside wxauth's, idle in between):
# the machine's speed drifts by more than the targets' margins over the
# minutes between the floor section and the endpoint section, and a median
# of ratios taken seconds apart is steadier than one ratio taken minutes
# apart.  BENCH_QUICK: none (the targets then use the single cells).
PAIR_ROUNDS = int(os.environ.get("BENCH_PAIR_ROUNDS", "0" if QUICK else "3"))
PAIR_DUR = 3
# key, wrk kind, path, WeChat's latency (ms), connections
PAIRS = (("F2", "get", "/floor", 0, CONC), ("info", "get", "/api/user/info", 0, CONC),
         ("check_session", "get", "/api/user/check_session", 0, CONC),
         ("F3b", "login", "/floor", 0, CONC), ("F4", "login", "/floor", 0, CONC),
         ("login", "login", "/api/user/auth_login", 0, CONC),
         ("login_c256", "login", "/api/user/auth_login", 0, 256),
         ("login_%dms_c256" % LATENCY, "login", "/api/user/auth_login", LATENCY, 256))
# ... and nginx against lighttpd, the same way (wxauth behind each).
WEB_PAIRS = (("info", "get", "/api/user/info"), ("login", "login", "/api/user/auth_login"))
WARM = 1                                # seconds of the same load before a cell
BUILD = os.path.join(ROOT, os.environ.get("WXAUTH_BUILD", "build"))
FLOOR = os.path.join(BUILD, "tests", "bench", "floor")
WXBENCH = os.path.join(BUILD, "tests", "bench", "wxbench")
LUA = os.path.join(ROOT, "tests", "bench", "wrk.lua")
DOC = os.path.join(ROOT, "docs", "PERFORMANCE.md")
# Limits stay on (their counters are part of a login's cost) but high
# enough that a benchmark from one address never meets them.
NO_LIMITS = {"WXAUTH_LIMIT_LOGIN_IP": "100000000", "WXAUTH_LIMIT_LOGIN_USER": "100000000",
             "WXAUTH_LIMIT_PHONE_USER": "100000000"}

T0 = time.monotonic()
problems = []       # non-2xx or socket errors at the default settings


# Whose CPU time a cell counts, by the process's name (/proc/<pid>/comm).
CPU_OF = {"wxauth": "worker", "floor": "worker", "postgres": "pg", "lighttpd": "web",
          "nginx": "web", "apache2": "web", "wxbench": "wx"}
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def cpu_snap():
    """CPU time (user + system, clock ticks) of each process CPU_OF names."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        who = CPU_OF.get(st[st.index("(") + 1:st.rindex(")")])
        if who:
            f = st[st.rindex(")") + 2:].split()
            out[d] = (who, int(f[11]) + int(f[12]))
    return out


def cpu_per_request(a, b, n):
    """Microseconds of CPU per request by component, between two cpu_snap()s
    (processes that came or went in between count from or until then)."""
    us = {}
    for pid, (who, t) in b.items():
        us[who] = us.get(who, 0) + (t - a.get(pid, (who, 0))[1]) * TICK_US / n
    return us


def say(msg):
    print("[%5.0fs] %s" % (time.monotonic() - T0, msg), flush=True)


class Bench:
    def __init__(self):
        self.state = os.path.join(ROOT, ".state", "bench")
        shutil.rmtree(self.state, ignore_errors=True)
        os.makedirs(self.state)
        self.S = devstack.Stack(state=self.state,
                                log_to=os.path.join(self.state, "workers.log"))
        self.S.database_url = None      # always a cluster of our own
        self.S.pg = devstack.Postgres(self.state)
        self.S.pg.settings = {"shared_preload_libraries": "pg_stat_statements,auto_explain",
                              "pg_stat_statements.max": "1000",
                              "pg_stat_statements.track_utility": "on"}
        self.results = {"cells": {}, "sweeps": {}, "memory": [], "scale": {},
                        "explain": {}, "meta": {}}
        self.run_id = 0
        self.static_p = None
        self.wxbench = None
        self.tokens_file = os.path.join(self.state, "tokens.txt")
        self.bodies_file = os.path.join(self.state, "bodies.txt")

    def stop(self):
        devstack.stop_proc(self.static_p)
        devstack.stop_proc(self.wxbench)
        self.S.stop_all()

    # -- PostgreSQL ------------------------------------------------------
    def psql(self, sql, db="postgres"):
        pg = self.S.pg
        return subprocess.run([os.path.join(pg.bindir, "psql"), "-h", pg.sock, "-U", "wxauth",
                               "-d", db, "-tAqc", sql], capture_output=True, text=True,
                              check=True).stdout.strip()

    def db_snap(self):
        """(statements, transaction ids, WAL bytes) of the wxauth database so
        far; read from the postgres database, so the reading is not counted."""
        out = self.psql("SELECT (SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s"
                        " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'wxauth'),"
                        " txid_current(), pg_current_wal_lsn() - '0/0'")
        a, b, c = out.split("|")
        return int(a), int(b) - 1, int(float(c))   # txid_current() takes one itself

    def connections(self, app):
        """Client connections to the wxauth database with application_name
        app: those of the pool of that name (pool()), when several are up
        at the same time (the paired rounds)."""
        return int(self.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'wxauth'"
                             " AND backend_type = 'client backend'"
                             " AND application_name = '%s'" % app))

    # -- pools -------------------------------------------------------------
    def pool(self, name, web="lighttpd", floor=None, env=None):
        """Start a pool (wxauth, or the floor in mode floor) behind web."""
        e = dict(NO_LIMITS)
        e.update(env or {})
        # Its PostgreSQL connections carry the pool's name, so that a cell
        # counts its own pool's while others are up (the paired rounds).
        e["DATABASE_URL"] = "%s application_name=%s" % (
            self.S.pool_database_url or self.S.database_url, name)
        if floor:
            rundir = self.S._rundir(name)
            dst = os.path.join(rundir, "floor")
            shutil.copy2(FLOOR, dst + ".new")
            os.replace(dst + ".new", dst)
            e.update(WXAUTH_BIN=dst, FLOOR_MODE=floor)
        base = self.S.start_pool(name=name, web=web, env=e)
        return base

    def workers(self, name):
        """PIDs of the pool's worker processes (the program multiwatch runs)."""
        binary = os.path.basename(self.S.pools[name]["env"]["WXAUTH_BIN"])
        rundir = self.S.pools[name]["rundir"]
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                exe = os.readlink("/proc/%s/exe" % d)
            except OSError:
                continue
            if exe.startswith(rundir) and os.path.basename(exe) == binary:
                pids.append(int(d))
        return sorted(pids)

    def memory(self, name):
        """Per worker process: RSS, PSS and private KiB (smaps_rollup)."""
        out = []
        for pid in self.workers(name):
            m = {}
            try:
                with open("/proc/%d/smaps_rollup" % pid) as f:
                    for line in f:
                        k, _, v = line.partition(":")
                        if v.strip().endswith("kB"):
                            m[k] = int(v.split()[0])
            except OSError:
                continue
            out.append({"pid": pid, "rss": m.get("Rss", 0), "pss": m.get("Pss", 0),
                        "private": m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)})
        return out

    # -- wrk ---------------------------------------------------------------
    def wrk(self, base, kind, path, conc=CONC, dur=DUR, users=1000):
        self.run_id += 1
        # The authenticated cells send a session cookie; so do the GET
        # floors (F1, F2: the floor of info and check_session), a cookie of
        # the same length that they ignore, so that a floor's request is
        # the same bytes through the web server and libfcgi as the
        # endpoint's and the difference is the endpoint's own work.
        if kind in ("get", "update", "phone") and path.startswith("/api/"):
            tokens = self.tokens_file
        elif kind == "get" and path == "/floor":
            tokens = self.floor_tokens()
        else:
            tokens = ""
        env = dict(os.environ, BENCH_KIND=kind, BENCH_PATH=path, BENCH_RUN="%d%d" % (
            os.getpid(), self.run_id), BENCH_USERS=str(users),
            BENCH_TOKENS=tokens, BENCH_BODY=self.bodies_file)
        threads = 2 if conc >= 2 else 1
        p = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conc, "-d%ds" % dur,
                            "--timeout", "10s", "-s", LUA, base], env=env,
                           capture_output=True, text=True)
        line = [l for l in p.stdout.splitlines() if l.startswith("{")]
        if p.returncode != 0 or not line:
            raise RuntimeError("wrk failed: %s %s" % (p.stdout[-500:], p.stderr[-500:]))
        r = json.loads(line[-1])
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
        return r

    def floor_tokens(self):
        """A file of TOKENS random tokens shaped as wxauth's (43 base64url
        characters), for the cookies of the GET floors."""
        f = os.path.join(self.state, "floor-tokens.txt")
        if not os.path.exists(f):
            with open(f, "w") as out:
                for _ in range(TOKENS):
                    out.write(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
                              + "\n")
        return f

    def cell(self, key, pool, base, kind, path, conc=CONC, dur=DUR, default=True, **kw):
        """One measured run, with the database and memory figures around it,
        after WARM seconds of the same load (new connections, WeChat clients
        and their TLS handshakes, caches: not what a cell measures)."""
        self.wrk(base, kind, path, conc=conc, dur=WARM, **kw)
        s0 = self.db_snap()
        app = pool or "-"
        peak = [self.connections(app)]
        stop = threading.Event()

        def sample():
            while not stop.wait(0.25):
                try:
                    peak.append(self.connections(app))
                except subprocess.CalledProcessError:
                    pass
        t = threading.Thread(target=sample, daemon=True)
        t.start()
        c0 = cpu_snap()
        try:
            r = self.wrk(base, kind, path, conc=conc, dur=dur, **kw)
        finally:
            c1 = cpu_snap()
            stop.set()
            t.join()
        s1 = self.db_snap()
        n = max(1, r["requests"])
        r.update(cpu=cpu_per_request(c0, c1, n))
        r.update(stmts=(s1[0] - s0[0]) / n, xacts=(s1[1] - s0[1]) / n,
                 wal=(s1[2] - s0[2]) / n, pg_conns=max(peak), conc=conc, pool=pool,
                 mem=self.memory(pool) if pool else [])
        self.results["cells"][key] = r
        if default and (r["non2xx"] or r["socket_errors"]):
            problems.append("%s: %d non-2xx, %d socket errors of %d requests" % (
                key, r["non2xx"], r["socket_errors"], r["requests"]))
        say("%-28s %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  non-2xx %d  sock %d  "
            "stmts %.2f  xacts %.2f  pg %d  cpu us %s" % (
                key, r["rps"], r["p50_us"] / 1e3, r["p99_us"] / 1e3, r["non2xx"],
                r["socket_errors"], r["stmts"], r["xacts"], r["pg_conns"], cpu_str(r)))
        return r

    # -- sessions for the authenticated cells -----------------------------
    @staticmethod
    def wx_user(user):
        """openid and session_key wxbench gives the login code naming user."""
        openid = "o" + hashlib.sha256(user.encode()).hexdigest()[:26]
        sk = base64.b64encode(hashlib.sha256(("wxbench " + openid).encode())
                              .digest()[:16]).decode()
        return openid, sk

    @staticmethod
    def encrypt(session_key, obj):
        """WeChat's encryptedData: AES-128-CBC/PKCS#7 under the session_key
        (the openssl command), and its iv, both base64."""
        iv = os.urandom(16)
        p = subprocess.run(["openssl", "enc", "-aes-128-cbc", "-K",
                            base64.b64decode(session_key).hex(), "-iv", iv.hex(), "-base64",
                            "-A"], input=json.dumps(obj).encode(), capture_output=True,
                           check=True)
        return p.stdout.decode().strip(), base64.b64encode(iv).decode()

    def make_sessions(self, base):
        """TOKENS logged-in users; for each, a form body with encrypted user
        info for its session_key (update_base_info)."""
        toks, bodies = [], []
        for i in range(TOKENS):
            user = "s%d" % i
            r = harness.request(base, "GET", "/api/user/auth_login?code=bench-setup-%d-%d-%s"
                                % (os.getpid(), self.run_id, user))
            self.run_id += 1
            if r.status != 200:
                raise RuntimeError("login for the benchmark failed: %d %r" % (r.status, r.raw))
            toks.append(r.res["token"])
            openid, sk = self.wx_user(user)
            enc, iv = self.encrypt(sk, {
                "openId": openid, "nickName": "bench %d" % i, "gender": 1,
                "language": "zh_CN", "city": "Shenzhen", "province": "Guangdong",
                "country": "China", "avatarUrl": "https://thirdwx.qlogo.cn/bench/%d/132" % i,
                "watermark": {"appid": devstack.DEV_APPID, "timestamp": int(time.time())}})
            bodies.append(urllib.parse.urlencode({"encrypted_data": enc, "encrypt_iv": iv}))
        with open(self.tokens_file, "w") as f:
            f.write("\n".join(toks) + "\n")
        with open(self.bodies_file, "w") as f:
            f.write("\n".join(bodies) + "\n")

    # -- the static floor (F0): lighttpd serving a small file ------------
    def static(self):
        d = "/tmp/wxauth-bench-static"
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        os.chmod(d, 0o755)
        body = '{"code":0,"msg":"ok","res":{"static":true,"n":1}}\n'
        with open(os.path.join(d, "hello.json"), "w") as f:
            f.write(body)
        port = devstack.free_port()
        conf = os.path.join(d, "lighttpd.conf")
        user = 'server.username = "%s"' % devstack.WEB_USER if os.geteuid() == 0 else ""
        with open(conf, "w") as f:
            f.write('server.document-root = "%s"\nserver.bind = "127.0.0.1"\n'
                    'server.port = %d\nserver.use-ipv6 = "disable"\n%s\n'
                    'server.pid-file = "%s/pid"\nserver.errorlog = "%s/error.log"\n'
                    'server.max-keep-alive-requests = 100\nserver.max-connections = 1024\n'
                    'mimetype.assign = (".json" => "application/json")\n'
                    % (d, port, user, d, d))
        if os.geteuid() == 0:
            shutil.chown(d, devstack.WEB_USER)
        p = subprocess.Popen(["lighttpd", "-D", "-f", conf], start_new_session=True)
        base = "http://127.0.0.1:%d" % port
        devstack.wait_for(lambda: subprocess.run(["curl", "-sf", base + "/hello.json"],
                                                 stdout=subprocess.DEVNULL).returncode == 0,
                          10, "lighttpd (static)")
        return p, base

    # -- the runs ----------------------------------------------------------
    ENDPOINTS = (("login", "login", "/api/user/auth_login"),
                 ("info", "get", "/api/user/info"),
                 ("check_session", "get", "/api/user/check_session"),
                 ("update_base_info", "update", "/api/user/update_base_info"),
                 ("bind_phone", "phone", "/api/user/bind_wx_phone_number"),
                 ("healthz", "get", "/healthz"))
    FLOORS = (("hello", "F1"), ("select1", "F2"), ("login", "F3b"), ("login_wx", "F4"))

    def endpoints(self, web, suffix="", only=None):
        """The endpoints (all six, or those named in only) on a wxauth pool
        behind web."""
        name = "wx-" + web
        base = self.pool(name, web=web)
        self.make_sessions(base)
        self.results["meta"]["workers_%s" % web] = len(self.workers(name))
        for key, kind, path in self.ENDPOINTS:
            if only is None or key in only:
                self.cell(key + suffix, name, base, kind, path)
        return name, base

    def floors(self, web, suffix="", only=None):
        for mode, key in self.FLOORS:
            if only is not None and key not in only:
                continue
            name = "floor-%s-%s" % (mode, web)
            base = self.pool(name, web=web, floor=mode)
            kind = "login" if mode.startswith("login") else "get"
            self.cell(key + suffix, name, base, kind, "/floor")
            self.S.stop_pool(name)

    def paired(self, name, base):
        """PAIR_ROUNDS rounds of PAIRS: each endpoint seconds after its floor,
        on floor pools started beside wxauth's (pool name) at base."""
        if not PAIR_ROUNDS:
            return
        pools = {"F2": "select1", "F3b": "login", "F4": "login_wx"}
        bases = {}
        for key, mode in pools.items():
            bases[key] = self.pool("floor-pair-" + mode, floor=mode)
        lat = 0
        for r in range(PAIR_ROUNDS):
            # Every other round in reverse, so that a drift within a round
            # (tables growing, a checkpoint) does not favour one side.
            for key, kind, path, want, conc in PAIRS if r % 2 == 0 else PAIRS[::-1]:
                if want != lat:
                    self.latency(want)
                    lat = want
                if key in pools:
                    self.cell("pair%d_%s" % (r, key), "floor-pair-" + pools[key], bases[key],
                              kind, path, conc=conc, dur=PAIR_DUR)
                else:
                    self.cell("pair%d_%s" % (r, key), name, base, kind, path, conc=conc,
                              dur=PAIR_DUR)
        self.latency(0)
        for mode in pools.values():
            self.S.stop_pool("floor-pair-" + mode)

    def web_paired(self, nname, nbase):
        """PAIR_ROUNDS rounds of WEB_PAIRS behind lighttpd and, seconds
        later, behind nginx (pool nname at nbase): which web server is the
        faster, on figures taken side by side."""
        if not PAIR_ROUNDS:
            return
        lname = "wx-lighttpd-pair"
        lbase = self.pool(lname, web="lighttpd")
        for r in range(PAIR_ROUNDS):
            for key, kind, path in WEB_PAIRS:
                sides = [("", lname, lbase), ("_nginx", nname, nbase)]
                for sfx, pool, base in sides if r % 2 == 0 else sides[::-1]:
                    self.cell("wpair%d_%s%s" % (r, key, sfx), pool, base, kind, path,
                              dur=PAIR_DUR)
        self.S.stop_pool(lname)

    def start_wxbench(self):
        """The fake WeChat of the benchmark (tests/bench/wxbench.c), as
        devstack starts fakewx.py: same certificates, same variables."""
        S = self.S
        d = S.certs()
        pf = os.path.join(self.state, "wxbench.port")
        out = open(os.path.join(self.state, "wxbench.log"), "ab")
        self.wxbench = subprocess.Popen([WXBENCH, pf, os.path.join(d, "server.pem"),
                                         os.path.join(d, "server.key"), devstack.DEV_APPID,
                                         devstack.DEV_SECRET], stdout=out, stderr=out,
                                        start_new_session=True)
        out.close()
        devstack.wait_for(lambda: os.path.exists(pf) and open(pf).read().strip(), 10,
                          "wxbench")
        S.fakewx_url = "https://127.0.0.1:%s" % open(pf).read().strip()
        S.env.update(WX_APPID=devstack.DEV_APPID, WX_SECRET=devstack.DEV_SECRET,
                     WX_API_BASE=S.fakewx_url, WX_CA_FILE=os.path.join(d, "ca.pem"))
        S.dev_key()
        self.ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))

    def latency(self, lat):
        urllib.request.urlopen(self.S.fakewx_url + "/_fake/config?latency_ms=%d" % lat,
                               context=self.ctx, timeout=10).read()

    def main(self):
        say("bench: %s run; wrk %d s per cell, -c%d" % ("quick" if QUICK else "full", DUR, CONC))
        S = self.S
        S.start_pg()
        S.migrate()
        self.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        self.load(BASE_ROWS, "obase")
        self.start_wxbench()
        self.latency(0)
        self.meta()

        # F0 and the floors, then the endpoints, all at 0 ms upstream.
        self.static_p, base = self.static()
        self.cell("F0", None, base, "get", "/hello.json")
        devstack.stop_proc(self.static_p)
        self.floors("lighttpd")
        name, base = self.endpoints("lighttpd")
        self.paired(name, base)

        # WeChat's latency: the login and its floor.  At -c64 the client
        # caps it (64 connections / (latency + service)); at -c256 only the
        # server's threads do, as under a crowd of users: both.
        self.cell("login_c256", name, base, "login", "/api/user/auth_login", conc=256)
        self.latency(LATENCY)
        self.cell("login_%dms" % LATENCY, name, base, "login", "/api/user/auth_login")
        self.cell("login_%dms_c256" % LATENCY, name, base, "login", "/api/user/auth_login",
                  conc=256)
        self.cell("bind_phone_%dms" % LATENCY, name, base, "phone",
                  "/api/user/bind_wx_phone_number")
        self.latency(0)

        # Concurrency sweep: info and login.
        for c in SWEEP_CONC:
            for ep, kind, path in (("info", "get", "/api/user/info"),
                                   ("login", "login", "/api/user/auth_login")):
                r = self.cell("sweep_%s_c%d" % (ep, c), name, base, kind, path, conc=c,
                              dur=max(2, DUR // 2), default=False)
                self.results["sweeps"].setdefault("conc_" + ep, []).append((c, r["rps"]))

        # Memory over MEM_REQUESTS requests (info, then check_session).
        self.memory_run(name, base)

        # Latency sweep: login against WeChat's latency, wxauth and the floor.
        for lat in SWEEP_LAT:
            self.latency(lat)
            r = self.cell("sweep_login_%dms" % lat, name, base, "login",
                          "/api/user/auth_login", dur=max(2, DUR // 2), default=False)
            self.results["sweeps"].setdefault("lat_login", []).append((lat, r["rps"]))
        S.stop_pool(name)
        fl = self.pool("floor-wx-lat", floor="login_wx")
        for lat in SWEEP_LAT:
            self.latency(lat)
            r = self.cell("sweep_F4_%dms" % lat, "floor-wx-lat", fl, "login", "/floor",
                          dur=max(2, DUR // 2), default=False)
            self.results["sweeps"].setdefault("lat_F4", []).append((lat, r["rps"]))
        S.stop_pool("floor-wx-lat")
        self.latency(0)

        # Scale: info and login at SCALE_ROWS users and sessions.
        self.scale()

        # nginx with fastcgi_keep_conn, the same endpoints and floors (quick:
        # the reads and the login).
        self.floors("nginx", suffix="_nginx", only=("F1",) if QUICK else None)
        name, base = self.endpoints("nginx", suffix="_nginx",
                                    only=("info", "login") if QUICK else None)
        self.web_paired(name, base)
        S.stop_pool(name)

        self.results["meta"]["seconds"] = time.monotonic() - T0
        with open(os.path.join(self.state, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1)
        report = Report(self.results)
        report.write()
        self.stop()
        say("bench: done in %.0f s; %s" % (time.monotonic() - T0, os.path.relpath(DOC, ROOT)))
        for p in problems:
            say("bench: NOT CLEAN: " + p)
        return 0

    def memory_run(self, name, base):
        """The workers' memory at the start and after each quarter of
        MEM_REQUESTS authenticated reads (info, check_session): at once, and
        at rest (REST_S later: the worker gives its heap's free pages back
        once it falls idle)."""
        points = [(0, self.memory(name))]
        busy = [(0, points[0][1])]
        rate = max(500.0, self.results["cells"]["info"]["rps"])
        served = i = 0
        while served < MEM_REQUESTS and i < 12:
            dur = max(1, int(round(MEM_REQUESTS / 4 / rate)))
            r = self.wrk(base, "get", "/api/user/info" if i % 2 == 0 else
                         "/api/user/check_session", conc=CONC, dur=dur)
            served += r["requests"]
            busy.append((served, self.memory(name)))
            time.sleep(REST_S)
            points.append((served, self.memory(name)))
            i += 1
        self.results["memory"] = points
        self.results["memory_busy"] = busy

    def scale(self):
        name = "wx-scale"
        base = self.pool(name)
        self.make_sessions(base)
        # Both sizes measured just after a checkpoint: the load's dirty
        # pages otherwise make one (its writes, and full-page images in
        # the first logins' WAL after it) during the big size's cells.
        self.psql("CHECKPOINT", db="wxauth")
        small = {}
        for ep, kind, path in (("info", "get", "/api/user/info"),
                               ("login", "login", "/api/user/auth_login")):
            small[ep] = self.cell("scale_%s_small" % ep, name, base, kind, path, default=False)
        users0 = int(self.psql("SELECT count(*) FROM users", db="wxauth"))
        sess0 = int(self.psql("SELECT count(*) FROM sessions", db="wxauth"))
        say("scale: adding %d users and %d live sessions (have %d and %d)" % (
            SCALE_ROWS, SCALE_ROWS, users0, sess0))
        t0 = time.monotonic()
        self.load(SCALE_ROWS, "obench")
        self.results["scale"]["load_seconds"] = time.monotonic() - t0
        users1 = int(self.psql("SELECT count(*) FROM users", db="wxauth"))
        sess1 = int(self.psql("SELECT count(*) FROM sessions", db="wxauth"))
        self.psql("CHECKPOINT", db="wxauth")
        big = {}
        for ep, kind, path in (("info", "get", "/api/user/info"),
                               ("login", "login", "/api/user/auth_login")):
            big[ep] = self.cell("scale_%s_big" % ep, name, base, kind, path, default=False)
        self.results["scale"].update(users_small=users0, sessions_small=sess0,
                                     users_big=users1, sessions_big=sess1)
        self.explain(base)
        self.S.stop_pool(name)

    def load(self, rows, prefix):
        """rows users with a live session each, openids prefix1..., then
        VACUUM ANALYZE of both tables."""
        self.psql("INSERT INTO users (openid, session_key_enc, session_key_kid, nick_name)"
                  " SELECT '%s' || g, sha256(g::text::bytea), 'bench', 'user ' || g"
                  " FROM generate_series(1, %d) g" % (prefix, rows), db="wxauth")
        self.psql("INSERT INTO sessions (token_hash, user_id, expires_at)"
                  " SELECT sha256(('%s' || id)::bytea), id, now() + interval '30 days'"
                  " FROM users WHERE openid LIKE '%s%%'" % (prefix, prefix), db="wxauth")
        self.psql("VACUUM ANALYZE users", db="wxauth")
        self.psql("VACUUM ANALYZE sessions", db="wxauth")

    def explain(self, base):
        """The plan of every statement the endpoints send, at the big size,
        from auto_explain (the real statements with their real values)."""
        log = self.S.pg.logfile
        mark = os.path.getsize(log)
        self.psql("ALTER SYSTEM SET auto_explain.log_min_duration = 0")
        # The statements inside the PL/pgSQL functions (migrations 0004, 0006, 0007).
        self.psql("ALTER SYSTEM SET auto_explain.log_nested_statements = on")
        self.psql("SELECT pg_reload_conf()")
        time.sleep(0.5)
        toks = open(self.tokens_file).read().split()
        bodies = open(self.bodies_file).read().split()
        hdr = {"Cookie": "sid=" + toks[0]}
        harness.request(base, "GET", "/api/user/auth_login?code=bench-explain-%d-u1" %
                        os.getpid())
        harness.request(base, "GET", "/api/user/info", headers=hdr)
        harness.request(base, "GET", "/api/user/check_session", headers=hdr)
        harness.request(base, "POST", "/api/user/update_base_info", body=bodies[0],
                        headers=hdr, ctype="application/x-www-form-urlencoded")
        harness.request(base, "POST", "/api/user/bind_wx_phone_number",
                        body="code=bench-explain-p%d" % os.getpid(), headers=hdr,
                        ctype="application/x-www-form-urlencoded")
        harness.request(base, "GET", "/healthz")
        self.psql("ALTER SYSTEM RESET auto_explain.log_min_duration")
        self.psql("ALTER SYSTEM RESET auto_explain.log_nested_statements")
        self.psql("SELECT pg_reload_conf()")
        with open(log, errors="replace") as f:
            f.seek(mark)
            text = f.read()
        plans = {}
        for m in re.finditer(r"LOG:  duration: [0-9.]+ ms  plan:\n((?:\t.*\n?)+)", text):
            block = m.group(1)
            q = re.search(r"Query Text: (.*)", block)
            if not q:
                continue
            query = q.group(1).strip()
            if "pg_reload_conf" in query or "ALTER SYSTEM" in query:
                continue
            plan = "\n".join(l[1:] for l in block.splitlines()
                             if not l.startswith("\tQuery Text:"))
            plans.setdefault(query, plan)
        self.results["explain"] = plans

    def meta(self):
        def out(argv):
            try:
                return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
            except OSError:
                return "?"
        cpu = "?"
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        mem = "?"
        try:
            mem = "%.0f GiB" % (int(open("/proc/meminfo").readline().split()[1]) / 2**20)
        except (OSError, ValueError, IndexError):
            pass
        self.results["meta"].update(
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            cpus=os.cpu_count(), cpu=cpu, mem=mem, kernel=platform.release(),
            quick=QUICK, dur=DUR, conc=CONC, latency=LATENCY,
            lighttpd=out(["lighttpd", "-v"]).splitlines()[0] if out(["lighttpd", "-v"]) else "?",
            nginx=subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
            postgres=out([os.path.join(self.S.pg.bindir, "postgres"), "--version"]),
            wrk=out(["wrk", "-v"]).splitlines()[0] if out(["wrk", "-v"]) else "?",
            commit=out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]))


def cpu_str(r):
    """A cell's CPU per request: worker / PostgreSQL / web server (+ fake WeChat)."""
    u = r.get("cpu") or {}
    if not u:
        return "–"
    t = "%.0f / %.0f / %.0f" % (u.get("worker", 0), u.get("pg", 0), u.get("web", 0))
    if u.get("wx", 0) >= 1:
        t += " + %.0f" % u["wx"]
    return t


class Report:
    """docs/PERFORMANCE.md and the plots, from the results."""

    FLOOR_OF = {"info": "F2", "check_session": "F2", "healthz": "F2", "login": "F3b",
                "update_base_info": "F3b", "bind_phone": "F4"}

    def __init__(self, res):
        self.r = res
        self.c = res["cells"]

    def rps(self, k):
        return self.c[k]["rps"] if k in self.c else float("nan")

    def ratio(self, a, b):
        if a not in self.c or b not in self.c or not self.c[b]["rps"]:
            return "–"
        return "%.2f×" % (self.c[a]["rps"] / self.c[b]["rps"])

    def mem(self, k):
        m = self.c.get(k, {}).get("mem") or []
        if not m:
            return "–"
        return "%d / %d / %d" % (max(x["rss"] for x in m), max(x["pss"] for x in m),
                                 max(x["private"] for x in m))

    def row(self, k, floor=None):
        c = self.c.get(k)
        if c is None:
            return None
        return "| %s | %.0f | %.2f | %.2f | %d | %d | %s | %s | %d | %.2f | %.2f | %.0f | %s |" % (
            k, c["rps"], c["p50_us"] / 1e3, c["p99_us"] / 1e3, c["non2xx"], c["socket_errors"],
            cpu_str(c), self.mem(k), c["pg_conns"], c["stmts"], c["xacts"], c["wal"],
            ("%s %s" % (self.ratio(k, floor), floor)) if floor else "")

    def table(self, keys, floors=None):
        out = ["| cell | req/s | p50 ms | p99 ms | non-2xx | socket errors | CPU µs / req: "
               "worker / PG / web (+ WeChat) | worker KiB "
               "RSS / PSS / private (max) | PG conns | statements / req | write xacts / req "
               "| WAL bytes / req | ratio to floor |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for k in keys:
            r = self.row(k, (floors or {}).get(k))
            if r:
                out.append(r)
        return "\n".join(out)

    def q(self, a, b):
        if a not in self.c or b not in self.c or not self.c[b]["rps"]:
            return None
        return self.c[a]["rps"] / self.c[b]["rps"]

    def rounds(self, prefix="pair"):
        """How many paired rounds (cells prefix<round>_<key>) the results hold."""
        n = 0
        while any(k.startswith("%s%d_" % (prefix, n)) for k in self.c):
            n += 1
        return n

    def round_q(self, r, a, b, prefix="pair"):
        """a / b (req/s) in paired round r, or None."""
        ca, cb = (self.c.get("%s%d_%s" % (prefix, r, k)) for k in (a, b))
        return ca["rps"] / cb["rps"] if ca and cb and cb["rps"] else None

    def paired_q(self, a, b, prefix="pair"):
        """a / b in each paired round (req/s), or [] when there were none."""
        qs = (self.round_q(r, a, b, prefix) for r in range(self.rounds(prefix)))
        return [q for q in qs if q is not None]

    @staticmethod
    def median(xs):
        xs = sorted(xs)
        n = len(xs)
        return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

    def target_q(self, a, b, sfx=""):
        """The figure a target is judged on, and its text: the median of the
        paired rounds' ratios when there are any (behind lighttpd), else the
        ratio of the single cells."""
        qs = self.paired_q(a, b) if not sfx else []
        one = self.q(a + sfx, b + sfx)
        if not qs:
            return one, "%.2f×" % one if one else "–"
        med = self.median(qs)
        return med, "%.2f× (median of %d paired rounds: %s; single cells %s)" % (
            med, len(qs), ", ".join("%.2f" % x for x in sorted(qs)),
            "%.2f×" % one if one else "–")

    def paired_table(self):
        """Each paired round: req/s and CPU of every cell, and the ratios."""
        n = self.rounds()
        if not n:
            return ""
        out = ["## Paired rounds (the targets' ratios)\n",
               "Each endpoint measured seconds after its floor, %d rounds of %d s cells "
               "(after %d s of warm-up each), behind lighttpd; the floor pools run beside "
               "wxauth's, idle while it is measured.\n" % (n, PAIR_DUR, WARM),
               "| round | " + " | ".join(p[0] for p in PAIRS) +
               " | info / F2 | check_session / F2 | login / F3b | login / F4 | "
               "login %d ms / 0 ms (256 conns) |" % LATENCY,
               "|---|" + "---|" * (len(PAIRS) + 5)]
        for r in range(n):
            cells = []
            for k in (p[0] for p in PAIRS):
                c = self.c.get("pair%d_%s" % (r, k))
                cells.append("%.0f req/s (%s µs)" % (c["rps"], cpu_str(c)) if c else "–")

            def rq(a, b):
                q = self.round_q(r, a, b)
                return "%.2f×" % q if q else "–"
            out.append("| %d | %s | %s | %s | %s | %s | %s |" % (
                r + 1, " | ".join(cells), rq("info", "F2"), rq("check_session", "F2"),
                rq("login", "F3b"), rq("login", "F4"),
                rq("login_%dms_c256" % LATENCY, "login_c256")))
        return "\n".join(out) + "\n"

    def targets(self):
        """The issue's targets against this run's figures."""
        lat = self.r["meta"]["latency"]
        mem = self.r["memory"]
        rows = []

        def row(what, target, got, ok):
            rows.append("| %s | %s | %s | %s |" % (what, target, got,
                                                  "–" if ok is None else ("met" if ok else "**not met**")))

        for web, sfx in (("lighttpd", ""), ("nginx, make run's", "_nginx")):
            for k in ("info", "check_session"):
                v, txt = self.target_q(k, "F2", sfx)
                row("%s against F2 (FastCGI + one round trip), behind %s" % (k, web), "≥ 0.85×",
                    txt, v >= 0.85 if v else None)
            v, txt = self.target_q("login", "F3b", sfx)
            v4, txt4 = self.target_q("login", "F4", sfx)
            row("login (0 ms) against F3b (the login writes as one statement), behind %s" % web,
                "≥ 0.85×", "%s; against F4, which adds the WeChat call: %s" % (txt, txt4)
                if v else "–", v >= 0.85 if v else None)
        v, txt = self.target_q("login_%dms_c256" % lat, "login_c256")
        row("login at %d ms against login at 0 ms, 256 connections (the server's threads "
            "the only cap)" % lat, "≥ 0.8×", txt, v >= 0.8 if v else None)
        v = self.q("login_%dms" % lat, "login")
        row("the same at 64 connections (64 / (latency + service) caps the client)" , "–",
            "%.2f×" % v if v else "–", None)
        # The cells of wxauth's pools (not the floor's).
        conns = max([c.get("pg_conns", 0) for c in self.c.values()
                     if (c.get("pool") or "").startswith("wx-")] or [0])
        cores = self.r["meta"]["cpus"] or 1
        row("PostgreSQL connections, any concurrency (wxauth)", "≤ %d (4 per core)" % (4 * cores),
            "%d" % conns, conns <= 4 * cores)
        if mem:
            last = max(w["private"] for w in mem[-1][1]) if mem[-1][1] else 0
            first = max(w["private"] for w in mem[1][1]) if len(mem) > 1 and mem[1][1] else 0
            row("private memory per worker after %d requests, at rest" % mem[-1][0],
                "≤ 4096 KiB, flat",
                "%d KiB (%+d KiB since the first quarter)" % (last, last - first),
                last <= 4096 and last - first <= 256)
        for k in ("info", "login"):
            v = self.q("scale_%s_big" % k, "scale_%s_small" % k)
            sc = self.r.get("scale") or {}
            row("%s at %s users/sessions against %s" % (
                k, "{:,}".format(sc.get("users_big", 0)), "{:,}".format(sc.get("users_small", 0))),
                "within 10 %", "%.2f×" % v if v else "–", v >= 0.9 if v else None)
        v = [self.q(k + "_nginx", k) for k in ("F1", "F2", "info", "login")]
        row("nginx (keep_conn) against lighttpd: F1, F2, info, login", "the faster is the default",
            ", ".join("%.2f×" % x for x in v if x), None)
        got = [(k, self.paired_q(k + "_nginx", k, "wpair")) for k, _, _ in WEB_PAIRS]
        got = [(k, qs) for k, qs in got if qs]
        if got:
            row("the same, paired rounds (median, range): " + ", ".join(k for k, _ in got),
                "the faster is the default",
                ", ".join("%.2f× (%.2f-%.2f)" % (self.median(qs), min(qs), max(qs))
                          for _, qs in got), None)
        bad = [(k, c["non2xx"], c["socket_errors"]) for k, c in self.c.items()
               if not k.startswith("sweep") and not k.startswith("scale")
               and (c["non2xx"] or c["socket_errors"])]
        row("non-2xx and socket errors at the default settings", "0",
            "0" if not bad else "; ".join("%s: %d / %d" % b for b in bad), not bad)
        return ("## Targets\n\n| target | wanted | this run | |\n|---|---|---|---|\n" +
                "\n".join(rows) + "\n")

    def plots(self):
        sw = self.r["sweeps"]
        d = os.path.join(ROOT, "docs")
        ok = shutil.which("gnuplot") is not None
        files = {}
        for key, fname, xlabel, series in (
                ("conc", "bench-concurrency.png", "wrk connections",
                 (("conc_info", "info"), ("conc_login", "login (0 ms upstream)"))),
                ("lat", "bench-latency.png", "WeChat latency (ms)",
                 (("lat_login", "wxauth login"), ("lat_F4", "floor F4 (login + upstream)")))):
            datafiles = []
            for s, title in series:
                path = os.path.join(ROOT, ".state", "bench", s + ".dat")
                with open(path, "w") as f:
                    for x, y in sw.get(s, []):
                        f.write("%s %s\n" % (x, y))
                datafiles.append((path, title))
            files[key] = fname
            if not ok:
                continue
            script = ("set terminal pngcairo size 800,480\nset output '%s'\n"
                      "set xlabel '%s'\nset ylabel 'requests/s'\nset grid\nset key bottom left box opaque\n"
                      "set yrange [0:*]\n%s\nplot %s\n") % (
                os.path.join(d, fname), xlabel, "set logscale x 2" if key == "conc" else "",
                ", ".join("'%s' using 1:2 with linespoints title '%s'" % (p, t)
                          for p, t in datafiles))
            p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
            if p.returncode != 0:
                # pngcairo may be missing in gnuplot-nox: the plain png terminal then.
                script = script.replace("pngcairo size 800,480", "png size 800,480")
                subprocess.run(["gnuplot"], input=script, text=True, check=False)
        return files

    def write(self):
        m = self.r["meta"]
        c = self.c
        lat = m["latency"]
        ep = ["login", "info", "check_session", "update_base_info", "bind_phone", "healthz"]
        floors = ["F0", "F1", "F2", "F3b", "F4"]
        files = self.plots()
        mem = self.r["memory"]
        L = []
        L.append("# Performance\n")
        L.append("Written by `make bench` (tests/bench/bench.py)%s on %s, commit %s. "
                 "Do not edit by hand: run it again.\n" % (
                     " with BENCH_QUICK=1" if m["quick"] else "", m["date"], m["commit"]))
        L.append("Machine: %s CPUs (%s), %s RAM, Linux %s; %s; %s; %s; %s. "
                 "wrk `-t2 -c%d -d%ds` from a second process on the same cores, after %d s of "
                 "the same load to warm up. "
                 "Absolute figures move ±25 %% from run to run on this kind of machine: "
                 "compare the ratios, measured in the same run.\n" % (
                     m["cpus"], m["cpu"], m["mem"], m["kernel"], m["lighttpd"], m["nginx"],
                     m["postgres"], m["wrk"], m["conc"], m["dur"], WARM))
        L.append("Pool: the defaults (`WXAUTH_WORKERS` = cores = %s processes, "
                 "`WXAUTH_THREADS`, `WXAUTH_DB_POOL`); rate limits on, set high enough never "
                 "to refuse. The database holds %d users with a live session each (and "
                 "analyzed) before the first cell. "
                 "Columns: CPU is the user + system time of the worker processes, of "
                 "PostgreSQL and of the web server (and the fake WeChat's, when it "
                 "is 1 µs or more), per request; PG conns is the most connections to the wxauth database "
                 "seen during the run; statements, write transactions (transaction ids "
                 "used) and WAL bytes are per request, from pg_stat_statements and the "
                 "server's counters.\n" % (m.get("workers_lighttpd", "?"), BASE_ROWS))
        L.append("## The floor (same pool and web server settings)\n")
        L.append("| cell | what |\n|---|---|\n"
                 "| F0 | lighttpd serving a 50-byte JSON file |\n"
                 "| F1 | FastCGI hello (tests/bench/floor.c) behind lighttpd; sent the "
                 "session cookie an authenticated read sends, which it ignores |\n"
                 "| F2 | F1 + one `SELECT 1` round trip (the floor of info and "
                 "check_session: the same request, without their work) |\n"
                 "| F3b | F1 + the minimum login writes (upsert user, insert session) as one "
                 "statement |\n"
                 "| F4 | F3b after one jscode2session call with wxauth's own WeChat client |\n")
        fl = {e: self.FLOOR_OF[e] for e in ep}
        L.append(self.targets() + "\n")
        L.append(self.paired_table())
        L.append(self.table(floors) + "\n")
        L.append("## Endpoints behind lighttpd (WeChat at 0 ms)\n")
        L.append(self.table(ep, fl) + "\n")
        L.append("Ratios: info, check_session and healthz against F2 (one round trip), "
                 "login and update_base_info against F3b (one write statement), bind_phone "
                 "against F4 (a write and an upstream call).\n")
        L.append("## WeChat latency %d ms\n" % lat)
        L.append(self.table(["login", "login_%dms" % lat, "login_c256", "login_%dms_c256" % lat,
                             "bind_phone_%dms" % lat]) + "\n")
        L.append("login at %d ms is **%s** the same login at 0 ms with 256 connections "
                 "(single cells; the target's figure, from the paired rounds: %s), "
                 "%s with 64 (where wrk's 64 connections, each waiting out the latency, "
                 "cap it).\n" % (lat, self.ratio("login_%dms_c256" % lat, "login_c256"),
                                 self.target_q("login_%dms_c256" % lat, "login_c256")[1],
                                 self.ratio("login_%dms" % lat, "login")))
        L.append("![throughput against upstream latency](%s)\n" % files["lat"])
        L.append("| upstream ms | wxauth login req/s | floor F4 req/s |\n|---|---|---|")
        f4 = dict(self.r["sweeps"].get("lat_F4", []))
        for x, y in self.r["sweeps"].get("lat_login", []):
            L.append("| %s | %.0f | %s |" % (x, y, "%.0f" % f4[x] if x in f4 else "–"))
        L.append("")
        L.append("## Concurrency\n")
        L.append("![throughput against concurrency](%s)\n" % files["conc"])
        L.append("| connections | info req/s | login req/s | PG conns (login) |\n|---|---|---|---|")
        ci = dict(self.r["sweeps"].get("conc_info", []))
        for x, y in self.r["sweeps"].get("conc_login", []):
            L.append("| %s | %s | %.0f | %d |" % (
                x, "%.0f" % ci[x] if x in ci else "–", y,
                c.get("sweep_login_c%d" % x, {}).get("pg_conns", 0)))
        L.append("")
        L.append("## Memory over %d requests\n" % (mem[-1][0] if mem else 0))
        L.append("At rest: %.1f s after each quarter's last request (a worker gives its heap's "
                 "free pages back once it falls idle, and every 10 s); just after: as the "
                 "quarter ends.\n" % REST_S)
        L.append("| requests served | per worker at rest: RSS / PSS / private KiB | pool private "
                 "KiB at rest | per worker just after: private KiB |\n|---|---|---|---|")
        busy = dict(self.r.get("memory_busy", []))
        for n, ws in mem:
            L.append("| %d | %s | %d | %s |" % (n, ", ".join("%d / %d / %d" % (
                w["rss"], w["pss"], w["private"]) for w in ws), sum(w["private"] for w in ws),
                ", ".join("%d" % w["private"] for w in busy.get(n, []))))
        L.append("")
        sc = self.r["scale"]
        if sc:
            L.append("## Scale with data\n")
            L.append("%d users and %d sessions against %d and %d (loaded in %.0f s).\n" % (
                sc["users_big"], sc["sessions_big"], sc["users_small"], sc["sessions_small"],
                sc["load_seconds"]))
            L.append(self.table(["scale_info_small", "scale_info_big", "scale_login_small",
                                 "scale_login_big"]) + "\n")
            L.append("info at the big size: %s the small; login: %s.\n" % (
                self.ratio("scale_info_big", "scale_info_small"),
                self.ratio("scale_login_big", "scale_login_small")))
            L.append("### EXPLAIN of every statement (auto_explain, at the big size)\n")
            for q, plan in sorted(self.r["explain"].items()):
                L.append("```\n%s\n%s\n```\n" % (q, plan))
        L.append("## nginx (fastcgi_keep_conn, upstream keepalive) against lighttpd\n")
        L.append("| cell | lighttpd req/s | nginx req/s | nginx / lighttpd |\n|---|---|---|---|")
        for k in floors[1:] + ep:
            if k + "_nginx" in c and k in c:
                L.append("| %s | %.0f | %.0f | %s |" % (k, c[k]["rps"], c[k + "_nginx"]["rps"],
                                                       self.ratio(k + "_nginx", k)))
        L.append("")
        n = self.rounds("wpair")
        if n:
            L.append("Paired rounds: each endpoint behind lighttpd, then seconds later behind "
                     "nginx, %d rounds of %d s cells (wxauth pools behind both up at once).\n"
                     % (n, PAIR_DUR))
            L.append("| round | " + " | ".join("%s lighttpd / nginx req/s" % k
                                              for k, _, _ in WEB_PAIRS) + " |")
            L.append("|---|" + "---|" * len(WEB_PAIRS))
            for r in range(n):
                cells = []
                for k, _, _ in WEB_PAIRS:
                    q = self.round_q(r, k + "_nginx", k, "wpair")
                    cells.append("%.0f / %.0f (%.2f×)" % (
                        c["wpair%d_%s" % (r, k)]["rps"], c["wpair%d_%s_nginx" % (r, k)]["rps"],
                        q) if q else "–")
                L.append("| %d | %s |" % (r + 1, " | ".join(cells)))
            L.append("")
        L.append(self.table([k + "_nginx" for k in floors[1:] + ep],
                            {k + "_nginx": v + "_nginx" for k, v in fl.items()}) + "\n")
        L.append("Run in %.0f s.\n" % m["seconds"])
        with open(DOC, "w") as f:
            f.write("\n".join(L))


if __name__ == "__main__":
    b = Bench()
    try:
        sys.exit(b.main())
    except BaseException:
        b.stop()
        raise
