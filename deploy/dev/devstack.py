#!/usr/bin/python3
"""devstack: run the whole wxauth stack on one machine, for `make run` and the tests.

    devstack.py run [--port 8080]      start everything, serve in the foreground
                                       until SIGINT/SIGTERM, then stop it all

The stack: a PostgreSQL cluster of our own (unless DATABASE_URL is given),
migrations, the fake WeChat server (dev mode: when WX_APPID is not set), the
worker pool (spawn-fcgi + multiwatch running build/wxauth on a unix socket),
and lighttpd on 127.0.0.1:PORT.  State lives in .state/ of the checkout
(WXAUTH_STATE overrides), so data survives from one run to the next.

The tests import this module and use the Stack class to start extra pools
with other settings, and to stop and start PostgreSQL under a running pool.
Standard library only.
"""

import argparse
import base64
import glob
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV_APPID = "wxd0d0d0d0d0d0d0d0"
DEV_SECRET = "devsecret0000000000000000000000"
WEB_SERVERS = ("lighttpd", "apache", "nginx")
WEB_USER = "www-data"          # as root: the web servers run as this user...
WORKER_USER = "nobody"         # ...and the workers as this one
WORKER_GROUP = "nogroup"


def log(msg):
    print("devstack: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return dirs[-1]


class Postgres:
    """A cluster of our own, run as an unprivileged user, on a unix socket only."""

    def __init__(self, state):
        self.bindir = pg_bindir()
        self.root = os.geteuid() == 0
        self.user = "postgres" if self.root else pwd.getpwuid(os.geteuid()).pw_name
        base = os.path.join(state, "pg")
        # The data must be reachable by that user, and the socket path short.
        if len(base) > 80 or (self.root and not self._reachable(state)):
            h = hashlib.sha256(state.encode()).hexdigest()[:12]
            base = "/tmp/wxauth-pg-" + h
        self.base = base
        self.data = os.path.join(base, "data")
        self.sock = os.path.join(base, "run")
        self.proc = None
        self.logfile = os.path.join(state, "postgres.log")
        self.settings = {}              # more -c name=value (make bench: statistics)

    def _reachable(self, path):
        os.makedirs(path, exist_ok=True)
        return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", path],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def _as_user(self, argv):
        return (["runuser", "-u", self.user, "--"] + argv) if self.root else argv

    def url(self):
        return "host=%s port=5432 dbname=wxauth user=wxauth" % self.sock

    def init(self):
        os.makedirs(self.sock, exist_ok=True)
        if self.root:
            shutil.chown(self.base, self.user)
            shutil.chown(self.sock, self.user)
            os.chmod(self.base, 0o755)
        if os.path.exists(os.path.join(self.data, "PG_VERSION")):
            return
        log("creating PostgreSQL cluster in " + self.data)
        subprocess.run(self._as_user([os.path.join(self.bindir, "initdb"), "-D", self.data,
                                      "-U", "wxauth", "--auth=trust", "-E", "UTF8",
                                      "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL)

    def start(self):
        self.init()
        lf = open(self.logfile, "ab")
        if self.root:
            shutil.chown(self.logfile, self.user)
        self.proc = subprocess.Popen(
            self._as_user([os.path.join(self.bindir, "postgres"), "-D", self.data,
                           "-k", self.sock, "-p", "5432", "-c", "listen_addresses=",
                           "-c", "fsync=on", "-c", "max_connections=200"] +
                          [a for k, v in self.settings.items() for a in ("-c", "%s=%s" % (k, v))]),
            stdout=lf, stderr=lf, start_new_session=True)
        lf.close()
        isready = os.path.join(self.bindir, "pg_isready")
        wait_for(lambda: subprocess.run([isready, "-q", "-h", self.sock, "-p", "5432"]).returncode == 0,
                 30, "PostgreSQL")
        psql = os.path.join(self.bindir, "psql")
        q = subprocess.run([psql, "-h", self.sock, "-U", "wxauth", "-d", "postgres", "-tAc",
                            "SELECT 1 FROM pg_database WHERE datname = 'wxauth'"],
                           capture_output=True, text=True, check=True)
        if q.stdout.strip() != "1":
            subprocess.run([psql, "-h", self.sock, "-U", "wxauth", "-d", "postgres", "-qc",
                            "CREATE DATABASE wxauth"], check=True)

    def stop(self):
        if self.proc is None:
            return
        # Fast shutdown: sessions are disconnected, data is kept.
        subprocess.run(self._as_user([os.path.join(self.bindir, "pg_ctl"), "stop", "-D",
                                      self.data, "-m", "fast", "-w", "-t", "20"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None


class Stack:
    """The processes of one stack; each start_* has a matching stop."""

    def __init__(self, state=None, log_to=None):
        self.state = os.path.abspath(state or os.environ.get("WXAUTH_STATE") or
                                     os.path.join(ROOT, ".state"))
        os.makedirs(self.state, exist_ok=True)
        self.binary = os.path.join(ROOT, os.environ.get("WXAUTH_BUILD", "build"), "wxauth")
        self.errdir = os.path.join(ROOT, os.environ.get("WXAUTH_BUILD", "build"), "errors")
        self.log_to = log_to          # a path for worker logs, or None: inherit stderr
        self.pg = None
        self.database_url = os.environ.get("DATABASE_URL")
        self.fakewx = None
        self.fakewx_url = None
        self.pools = {}
        self.env = {}
        self.web = os.environ.get("WEB") or "lighttpd"
        self.pgbouncer = None
        self.pool_database_url = None   # the pools' DATABASE_URL when it differs (PgBouncer)

    # -- PostgreSQL -------------------------------------------------------
    def start_pg(self):
        if self.database_url and self.pg is None:
            return
        if self.pg is None:
            self.pg = Postgres(self.state)
        self.pg.start()
        self.database_url = self.pg.url()

    def stop_pg(self):
        if self.pg is not None:
            self.pg.stop()

    def start_pgbouncer(self):
        """PgBouncer in transaction pooling mode in front of our PostgreSQL; the
        pools then connect through it (migrations still go straight to the
        server).  Run as the PostgreSQL user, on a unix socket only."""
        d = os.path.join(self.pg.base, "pgbouncer")
        os.makedirs(d, exist_ok=True)
        if self.pg.root:
            shutil.chown(d, self.pg.user)
        ini = os.path.join(d, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write("""[databases]
wxauth = host=%(pgsock)s port=5432 dbname=wxauth user=wxauth

[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = %(dir)s
auth_type = any
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
server_login_retry = 1
server_connect_timeout = 2
query_wait_timeout = 1
logfile = %(dir)s/pgbouncer.log
pidfile = %(dir)s/pgbouncer.pid
""" % {"pgsock": self.pg.sock, "dir": d})
        self.pgbouncer = subprocess.Popen(self.pg._as_user(["pgbouncer", ini]),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)
        wait_for(lambda: os.path.exists(os.path.join(d, ".s.PGSQL.6432")), 10, "PgBouncer")
        self.pool_database_url = "host=%s port=6432 dbname=wxauth user=wxauth" % d

    def stop_pgbouncer(self):
        stop_proc(self.pgbouncer)
        self.pgbouncer = None
        self.pool_database_url = None

    def migrate(self):
        env = dict(os.environ, DATABASE_URL=self.database_url)
        subprocess.run([self.binary, "migrate", os.path.join(ROOT, "migrations")],
                       env=env, check=True)

    # -- fake WeChat ------------------------------------------------------
    def certs(self):
        d = os.path.join(self.state, "certs")
        subprocess.run(["sh", os.path.join(ROOT, "tests/fakewx/mkcerts.sh"), d], check=True)
        return d

    def start_fakewx(self):
        d = self.certs()
        pf = os.path.join(self.state, "fakewx.port")
        if os.path.exists(pf):
            os.unlink(pf)
        out = open(os.path.join(self.state, "fakewx.log"), "ab")
        self.fakewx = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests/fakewx/fakewx.py"),
             "--host", "127.0.0.1", "--port", "0", "--port-file", pf,
             "--tls-cert", os.path.join(d, "server.pem"), "--tls-key", os.path.join(d, "server.key"),
             "--appid", DEV_APPID, "--secret", DEV_SECRET],
            stdout=out, stderr=out, start_new_session=True)
        out.close()
        wait_for(lambda: os.path.exists(pf), 15, "the fake WeChat server")
        port = int(open(pf).read().strip())
        self.fakewx_url = "https://127.0.0.1:%d" % port
        self.env.update(WX_APPID=DEV_APPID, WX_SECRET=DEV_SECRET, WX_API_BASE=self.fakewx_url,
                        WX_CA_FILE=os.path.join(d, "ca.pem"))
        self.dev_key()

    def dev_key(self):
        """Dev mode: the key that seals session keys at rest, made once and kept
        in the state directory (so sessions survive restarts of make run)."""
        path = os.path.join(self.state, "data.key")
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
            log("generated a development data key in " + path)
        self.env["WXAUTH_DATA_KEY_FILE"] = path

    def stop_fakewx(self):
        stop_proc(self.fakewx)
        self.fakewx = None

    # -- worker pool + web server -----------------------------------------
    def _rundir(self, name):
        """Where a pool's socket lives.  As root the workers and the web server
        run as unprivileged users, who may not reach the checkout (it can sit
        under /root): then the socket, the error bodies, the worker binary and
        the files it reads are placed in a directory of their own under /tmp."""
        d = os.path.join(self.state, "pool-" + name)
        os.makedirs(d, exist_ok=True)
        if os.geteuid() == 0 or len(d) > 90:
            d = "/tmp/wxauth-" + hashlib.sha256(d.encode()).hexdigest()[:12]
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        return d

    def _stage(self, rundir, penv):
        """As root: copy what the workers read into rundir, readable by them."""
        if os.geteuid() != 0:
            return self.binary, self.errdir
        binary = os.path.join(rundir, "wxauth")
        shutil.copy2(self.binary, binary + ".new")
        os.replace(binary + ".new", binary)
        errdir = os.path.join(rundir, "errors")
        shutil.rmtree(errdir, ignore_errors=True)
        shutil.copytree(self.errdir, errdir)
        for var in ("WX_CA_FILE", "WX_SECRET_FILE", "WXAUTH_DATA_KEY_FILE"):
            src = penv.get(var)
            if src and os.path.exists(src):
                dst = os.path.join(rundir, var.lower())
                shutil.copyfile(src, dst)
                shutil.chown(dst, WORKER_USER, WORKER_GROUP)
                os.chmod(dst, 0o400)
                penv[var] = dst
        return binary, errdir

    def start_pool(self, name="main", port=None, workers=None, env=None, web=None):
        """The pool (deploy/pool/wxauth-pool: spawn-fcgi + multiwatch) of
        build/wxauth on a unix socket, and a web server in front of it."""
        web = web or self.web
        if web not in WEB_SERVERS:
            raise RuntimeError("unknown web server %r (lighttpd, apache, nginx)" % web)
        port = port or free_port()
        workers = workers or max(2, os.cpu_count() or 2)
        rundir = self._rundir(name)
        sock = os.path.join(rundir, "wxauth.sock")
        penv = dict(os.environ)
        penv.update(self.env)
        penv["DATABASE_URL"] = self.pool_database_url or self.database_url
        penv.update(env or {})
        binary, errdir = self._stage(rundir, penv)
        root = os.geteuid() == 0
        penv.update(WXAUTH_SOCKET=sock, WXAUTH_WORKERS=str(workers),
                    WXAUTH_PIDFILE=os.path.join(rundir, "pool.pid"))
        # A test may wrap the program (valgrind): WXAUTH_BIN in env.
        penv["WXAUTH_BIN"] = (env or {}).get("WXAUTH_BIN") or binary
        if root:
            penv.update(WXAUTH_USER=WORKER_USER, WXAUTH_GROUP=WORKER_GROUP,
                        WXAUTH_SOCKET_USER=WEB_USER, WXAUTH_SOCKET_GROUP=WEB_USER,
                        WXAUTH_SOCKET_MODE="0660")
        else:
            penv["WXAUTH_SOCKET_MODE"] = "0600"
        out = open(self.log_to, "ab") if self.log_to else None
        if os.path.exists(sock):
            os.unlink(sock)
        pool = subprocess.Popen(["sh", os.path.join(ROOT, "deploy/pool/wxauth-pool"), "run"],
                                env=penv, stdout=out, stderr=out, start_new_session=True)
        wait_for(lambda: os.path.exists(sock) or pool.poll() is not None, 10,
                 "the worker pool socket")
        if pool.poll() is not None:
            raise RuntimeError("the worker pool exited (%d): see its log" % pool.returncode)
        webdir = os.path.join(rundir, web)
        os.makedirs(webdir, exist_ok=True)
        if root:
            shutil.chown(webdir, WEB_USER)
        conf = os.path.join(webdir, web + ".conf")
        tpl = open(os.path.join(ROOT, "deploy", web, "wxauth.conf.in")).read()
        userline = 'server.username = "%s"' % WEB_USER if root else ""
        for k, v in (("@BIND@", "127.0.0.1"), ("@PORT@", str(port)), ("@SOCKET@", sock), ("@STATE@", webdir),
                     ("@ERRDIR@", errdir), ("@USERLINE@", userline),
                     ("@USER@", WEB_USER if root else pwd.getpwuid(os.geteuid()).pw_name)):
            tpl = tpl.replace(k, v)
        open(conf, "w").write(tpl)
        argv = {"lighttpd": ["lighttpd", "-D", "-f", conf],
                "apache": ["apache2", "-DFOREGROUND", "-f", conf],
                "nginx": ["nginx", "-c", conf, "-p", webdir]}[web]
        web_p = subprocess.Popen(argv, stdout=out, stderr=out, start_new_session=True,
                                 env=dict(os.environ, APACHE_RUN_DIR=webdir,
                                          APACHE_LOCK_DIR=webdir, APACHE_LOG_DIR=webdir))
        if out:
            out.close()
        base = "http://127.0.0.1:%d" % port
        self.pools[name] = {"pool": pool, "web": web_p, "port": port, "url": base,
                            "sock": sock, "rundir": rundir, "env": penv, "webname": web}

        def up():
            if web_p.poll() is not None:
                raise RuntimeError("%s exited (%d): see %s" % (web, web_p.returncode, webdir))
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                return True
            except urllib.error.HTTPError:
                return True       # the web server answers (maybe 503 while PG is down)
        wait_for(up, 20, "%s on port %d" % (web, port))
        return base

    def pool_ctl(self, name, cmd):
        """deploy/pool/wxauth-pool reload|status for a running pool."""
        return subprocess.run(["sh", os.path.join(ROOT, "deploy/pool/wxauth-pool"), cmd],
                              env=self.pools[name]["env"], capture_output=True, text=True)

    def stop_pool(self, name):
        p = self.pools.pop(name, None)
        if p:
            stop_proc(p["web"])
            stop_proc(p["pool"])

    def stop_all(self):
        for name in list(self.pools):
            self.stop_pool(name)
        self.stop_fakewx()
        self.stop_pgbouncer()
        self.stop_pg()


def stop_proc(p, timeout=15):
    if p is None or p.poll() is not None:
        return
    try:
        os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    except ProcessLookupError:
        pass


def cmd_run(args):
    if os.environ.get("WX_APPID") and not (os.environ.get("WXAUTH_DATA_KEY") or
                                           os.environ.get("WXAUTH_DATA_KEY_FILE")):
        log("WX_APPID is set (not dev mode), so WXAUTH_DATA_KEY (or WXAUTH_DATA_KEY_FILE) "
            "must be too: the key that encrypts session keys at rest, e.g. "
            "`openssl rand -base64 32`")
        return 2
    st = Stack()
    stopping = []

    def on_signal(sig, frame):
        stopping.append(sig)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        st.start_pg()
        st.migrate()
        dev = not os.environ.get("WX_APPID")
        if dev:
            st.start_fakewx()
        url = st.start_pool("main", port=args.port, workers=args.workers, web=args.web)
        if dev:
            log("=" * 68)
            log("DEV MODE: WX_APPID is not set, so wxauth talks to the FAKE WeChat")
            log("server at %s (appid %s)." % (st.fakewx_url, DEV_APPID))
            log("Mint a login code and log in:")
            log("  CODE=$(curl -s --cacert %s/certs/ca.pem -d '{}' %s/_fake/code"
                " | sed 's/.*\"code\": *\"\\([^\"]*\\)\".*/\\1/')" % (st.state, st.fakewx_url))
            log("  curl -s '%s/api/user/auth_login?code='$CODE" % url)
            log("=" * 68)
        log("wxauth is serving on %s  (Ctrl-C stops everything)" % url)
        while True:
            time.sleep(1)
            for name, p in st.pools.items():
                if p["web"].poll() is not None or p["pool"].poll() is not None:
                    raise RuntimeError("a process of the stack exited")
    except KeyboardInterrupt:
        log("stopping")
    finally:
        st.stop_all()
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    r.add_argument("--workers", type=int, default=0)
    # make run's web server: nginx (kept FastCGI connections; docs/PERFORMANCE.md).
    r.add_argument("--web", choices=WEB_SERVERS, default=os.environ.get("WEB") or "nginx")
    args = ap.parse_args()
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
