#!/usr/bin/python3
"""Static checks of the deployment files (no Docker engine runs on the test
machines, and systemd is not PID 1 there):

- `make install` with PREFIX/DESTDIR puts everything where the README says,
  and the installed program and pool script work;
- the systemd units pass `systemd-analyze verify` against a real install;
- `docker-compose config` accepts the compose files (with and without the
  pgbouncer variant) given a .env made from .env.example;
- .env.example documents every variable the program and the pool read, and
  nothing they do not;
- the Dockerfile builds with the same make targets CI runs natively, and
  copies only files that the native `make install` produces.

Ends with "deploy: N passed, M failed".  Standard library only."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKER = os.path.join(ROOT, "deploy", "docker")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what, flush=True)


def run(argv, **kw):
    return subprocess.run(argv, cwd=kw.pop("cwd", ROOT), capture_output=True, text=True, **kw)


def program_variables():
    """Every environment variable the worker and the pool script read."""
    src = open(os.path.join(ROOT, "lib", "config.c")).read()
    names = set(re.findall(r'\{ "([A-Z][A-Z0-9_]+)", CFG_', src))
    names |= set(re.findall(r'load_secret\("([A-Z][A-Z0-9_]+)"', src))
    names |= {n + "_FILE" for n in re.findall(r'load_secret\("([A-Z][A-Z0-9_]+)"', src)}
    names |= set(re.findall(r'get\("([A-Z][A-Z0-9_]+)", arg\)', src))
    pool = open(os.path.join(ROOT, "deploy", "pool", "wxauth-pool")).read()
    names |= set(re.findall(r"\$\{(WXAUTH_[A-Z_]+):-", pool))
    return names


def t_install(tmp):
    dest = os.path.join(tmp, "dest")
    r = run(["make", "--no-print-directory", "install", "DESTDIR=" + dest, "PREFIX=/usr"])
    check(r.returncode == 0, "make install DESTDIR=... PREFIX=/usr: %s" % r.stderr[-300:])
    want = ["usr/bin/wxauth", "usr/sbin/wxauth-pool",
            "usr/share/wxauth/migrations/0001_users_sessions.sql",
            "usr/share/wxauth/errors/404.html", "usr/share/wxauth/errors/503.html",
            "usr/share/wxauth/lighttpd/wxauth.conf.in", "usr/share/wxauth/apache/wxauth.conf.in",
            "usr/share/wxauth/nginx/wxauth.conf.in", "etc/wxauth/wxauth.env.example",
            "lib/systemd/system/wxauth-pool.service", "lib/systemd/system/wxauth-migrate.service"]
    for w in want:
        check(os.path.isfile(os.path.join(dest, w)), "installed: /" + w)
    migs = sorted(f for f in os.listdir(os.path.join(ROOT, "migrations")) if f.endswith(".sql"))
    check(sorted(os.listdir(os.path.join(dest, "usr/share/wxauth/migrations"))) == migs,
          "every migration installed")
    check(os.access(os.path.join(dest, "usr/bin/wxauth"), os.X_OK) and
          os.access(os.path.join(dest, "usr/sbin/wxauth-pool"), os.X_OK), "programs executable")
    pool = open(os.path.join(dest, "usr/sbin/wxauth-pool")).read()
    check("${WXAUTH_BIN:-/usr/bin/wxauth}" in pool, "the pool script points at the installed program")
    unit = open(os.path.join(dest, "lib/systemd/system/wxauth-pool.service")).read()
    check("ExecStart=/usr/sbin/wxauth-pool run" in unit and "@" not in unit,
          "unit paths filled in")
    out = os.path.join(tmp, "errs")
    os.makedirs(out)
    r = run([os.path.join(dest, "usr/bin/wxauth"), "errpages", out])
    check(r.returncode == 0 and os.path.exists(os.path.join(out, "413.html")),
          "the installed program runs")
    r = run(["sh", "-n", os.path.join(dest, "usr/sbin/wxauth-pool")])
    check(r.returncode == 0, "the installed pool script parses")
    return dest


def t_systemd(tmp):
    if not shutil.which("systemd-analyze"):
        check(False, "systemd-analyze is installed (deploy/install-deps.sh)")
        return
    pre = os.path.join(tmp, "real")
    r = run(["make", "--no-print-directory", "install", "PREFIX=" + pre + "/usr",
             "SYSCONFDIR=" + pre + "/etc", "SYSTEMDDIR=" + pre + "/systemd"])
    check(r.returncode == 0, "make install to a real prefix")
    units = [os.path.join(pre, "systemd", u) for u in ("wxauth-pool.service",
                                                       "wxauth-migrate.service")]
    r = run(["systemd-analyze", "verify"] + units)
    check(r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
          "systemd-analyze verify: %r" % (r.stdout + r.stderr)[-400:])
    pool = open(units[0]).read()
    for opt in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                "PrivateTmp=yes", "Restart=always", "ExecReload=", "RuntimeDirectory=wxauth"):
        check(opt in pool, "wxauth-pool.service has " + opt)
    mig = open(units[1]).read()
    check("Type=oneshot" in mig and "User=wxauth" in mig and "NoNewPrivileges=yes" in mig,
          "wxauth-migrate.service: one-shot, unprivileged, hardened")


def t_compose(tmp):
    d = os.path.join(tmp, "ck", "deploy", "docker")
    shutil.copytree(DOCKER, d, ignore=shutil.ignore_patterns(".env", "secrets"))
    shutil.copy(os.path.join(d, ".env.example"), os.path.join(d, ".env"))
    r = run(["sh", "make-secrets.sh"], cwd=d)
    check(r.returncode == 0 and os.path.exists(os.path.join(d, "secrets", "data_key")),
          "make-secrets.sh makes the secret files")
    r = run(["docker-compose", "config"], cwd=d)
    check(r.returncode == 0, "docker-compose config: %s" % r.stderr[-400:])
    cfg = r.stdout
    for svc in ("db:", "migrate:", "pool:", "web:"):
        check(re.search(r"^  " + svc, cfg, re.M) is not None, "compose service " + svc)
    check("8080:8080" in cfg or "published: 8080" in cfg, "the web server on port 8080")
    check("pg_isready" in cfg and "pgdata" in cfg, "PostgreSQL with a healthcheck and a volume")
    check("service_completed_successfully" in cfg, "the pool waits for the migration")
    pgb = cfg.split("\n  pgbouncer:", 1)[-1].split("\n  pool:", 1)[0]
    check("\n  pgbouncer:" in cfg and "profiles:" in pgb and "- pgbouncer" in pgb,
          "pgbouncer only in its profile")
    check(not re.search(r"(WX_SECRET|WXAUTH_DATA_KEY|DATABASE_URL): ", cfg),
          "secrets come as files, not values")
    r = run(["docker-compose", "-f", "docker-compose.yml", "-f", "docker-compose.pgbouncer.yml",
             "--profile", "pgbouncer", "config"], cwd=d)
    check(r.returncode == 0 and re.search(r"^  pgbouncer:", r.stdout, re.M) is not None and
          "database_url_pgbouncer" in r.stdout, "the pgbouncer variant: %s" % r.stderr[-300:])


def t_env_example():
    text = open(os.path.join(DOCKER, ".env.example")).read()
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", text, re.M))
    reads = program_variables()
    check(len(reads) > 20, "variables found in the sources: %d" % len(reads))
    missing = reads - documented
    check(not missing, ".env.example documents every variable read: missing %r" % sorted(missing))
    api = set(re.findall(r"WXAUTH_LIMIT_[A-Z_]+", open(os.path.join(DOCKER, ".env.example")).read()))
    extra = documented - reads - api
    check(not extra, ".env.example names no variable nobody reads: %r" % sorted(extra))


def t_dockerfile(dest):
    text = open(os.path.join(DOCKER, "Dockerfile")).read()
    check(text.count("FROM debian:bookworm-slim") == 1 and
          re.search(r"^FROM base AS build$", text, re.M) and
          re.search(r"^FROM base AS app$", text, re.M), "multi-stage on debian:bookworm-slim")
    makes = re.findall(r"\bmake ([a-z][a-z-]*)", text)
    check(makes and set(makes) <= {"all", "install"}, "only the project's make targets: %r" % makes)
    check("make install DESTDIR=/out PREFIX=/usr" in text, "the same install as the check above")
    for src in re.findall(r"COPY --from=build /out/(\S+)", text):
        check(os.path.exists(os.path.join(dest, src)), "Dockerfile copies /" + src +
              ", which make install produces")
    for st in ("app", "web", "pgbouncer"):
        block = text.split("AS " + st, 1)[1].split("\nFROM ", 1)[0]
        users = re.findall(r"^USER (\S+)", block, re.M)
        check(users and users[-1] != "root", "stage %s runs as a non-root user" % st)
    for f in re.findall(r"^COPY (deploy/\S+)", text, re.M):
        check(os.path.exists(os.path.join(ROOT, f)), "Dockerfile's COPY source exists: " + f)
    for f in ("web-entrypoint.sh", "pgbouncer-entrypoint.sh", "make-secrets.sh"):
        check(run(["sh", "-n", os.path.join(DOCKER, f)]).returncode == 0, f + " parses")


def main():
    tmp = tempfile.mkdtemp(prefix="wxauth-deploy-")
    try:
        dest = t_install(tmp)
        t_systemd(tmp)
        t_compose(tmp)
        t_env_example()
        t_dockerfile(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("deploy: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
