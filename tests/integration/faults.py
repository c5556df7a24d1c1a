#!/usr/bin/python3
"""Robustness and security under faults: the real stack (web server ->
wxauth-pool -> PostgreSQL, fake WeChat over HTTPS) while things go wrong.

  t_wechat_faults        WeChat hanging, slow, answering garbage, 10 MB, HTML
                         (502 and 200), errors, behind a certificate we do not
                         trust, or a port that accepts and never answers: for
                         login, the phone code (and stable_token), remote
                         check_session; each mapped to 502/504 within the timeout
  t_padding_oracle       a scripted CBC padding-oracle attack on the last block
                         through update_base_info learns nothing
  t_decrypt_rate_limit   the 21st decrypt failure within a minute is 429
  t_db_statement_timeout a table locked in PostgreSQL: 503 within the
                         statement timeout, /healthz still 200, then at once 200
  t_sigkill_storm        10 workers SIGKILLed 0.5 s apart under load
  t_slowloris            200 slow clients hold connections: a 1-worker,
                         1-thread pool still serves (lighttpd, then Apache)
  t_pg_restart_mixed     PostgreSQL stopped and started in a minute of mixed load
  t_secret_hygiene       every response and log line of this runner: no secret
  t_other_suites_logs    the other suites' logs on disk: nothing secret-shaped

Ends with "faults: N passed, M failed"; exits non-zero on any failure.
Standard library only."""

import base64
import binascii
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import harness as H
from harness import ROOT, Fake, bearer, check, devstack, login, psql, request

STATE = os.path.join(ROOT, ".state", "test-faults")
LOG = os.path.join(STATE, "workers.log")
H.LOG = LOG
MIXED = os.path.join(ROOT, "tests", "integration", "mixed_load.py")
TIMEOUT_MS = 1000
TIMEOUT_S = TIMEOUT_MS / 1000.0
THREADS = 4
INFO = "/api/user/info"
UPDATE = "/api/user/update_base_info"
PHONE = "/api/user/bind_wx_phone_number"
CHECK = "/api/user/check_session"
# Limits off on the main pool: logins in bulk from one address are what the
# load tests do, and the padding-oracle test needs its 256+ failures.
NO_LIMITS = {"WXAUTH_LIMIT_LOGIN_IP": "0", "WXAUTH_LIMIT_LOGIN_USER": "0",
             "WXAUTH_LIMIT_PHONE_USER": "0", "WXAUTH_LIMIT_DECRYPT_FAIL": "0"}


# --------------------------------------------------------------------------- helpers

def within(base, method, path, timeout=10, **kw):
    return H.request_within(base, method, path, timeout, **kw)


def start(S, name, **kw):
    """start_pool, remembering the pool's rundir and web server for the log scan."""
    base = S.stack.start_pool(name, **kw)
    p = S.stack.pools[name]
    S.rundirs.add((p["rundir"], p["webname"]))
    return base


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def workers(S, name):
    return children(S.stack.pools[name]["pool"].pid)


def wait_workers(S, name, n, exclude=(), timeout=5.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        w = workers(S, name)
        if len(w) == n and not set(w) & set(exclude):
            return time.monotonic() - t0
        time.sleep(0.005)
    return None


def pool_conns(sock):
    """Connected (accepted) stream sockets on the pool's unix socket: requests
    the web server has open to the workers."""
    n = 0
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[7] == sock and parts[5] == "03":
                n += 1
    return n


def mixed_load(base, secs, conc, mix, tokens, fake=None):
    cfg = {"url": base, "secs": secs, "conc": conc, "mix": mix, "tokens": tokens}
    if fake is not None:
        cfg.update(fake=fake.url, ca=fake.ca)
    p = subprocess.Popen(["/usr/bin/python3", MIXED], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    p.stdin.write(json.dumps(cfg))
    p.stdin.close()
    return p


def load_result(p, S):
    out = p.stdout.read()
    p.wait(30)
    res = json.loads(out)
    S.load_keys.update(res["session_keys"])
    S.load_tokens.update(t for _, t in res["issued"])
    S.load_leaks += res["leaks"]
    return res


def new_user(S, base=None):
    c, r = login(base or S.main, S.fake)
    check(r.status == 200, "login for the test: %d %r" % (r.status, r.raw[:120]))
    return c, r.res.get("token", "")


def fmt_s(x):
    return "-" if x is None else "%.3f" % x


# --------------------------------------------------------------------------- 2. WeChat misbehaving

class Blackhole:
    """A TCP port that accepts connections and never says a word (no TLS
    handshake, nothing): what a dead middlebox or a stuck server looks like."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.held.append(c)
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.t.join()
        for c in self.held:
            c.close()
        self.sock.close()


FAULTS = [  # name, fault fields, status, slug
    ("delay 2.5 s", {"delay_ms": 2500}, 504, "upstream_timeout"),
    ("hang (never answers)", {"hang": True}, 504, "upstream_timeout"),
    ("garbage", {"garbage": True}, 502, "upstream_error"),
    ("10 MB body", {"huge": True}, 502, "upstream_error"),
    ("HTML, HTTP 502", {"http_status": 502}, 502, "upstream_error"),
    ("HTML, HTTP 200", {"http_status": 200}, 502, "upstream_error"),
    ("errcode -1", {"errcode": -1}, 502, "upstream_error"),
]


def expect_upstream(S, what, r, dt, status, slug):
    limit = TIMEOUT_S + 1.0
    got = (r.status, r.slug) if r is not None else ("no answer", None)
    check(r is not None and r.status == status and r.slug == slug,
          "%s: want %d %s, got %r" % (what, status, slug, got))
    check(dt < limit, "%s: answered within WX_TIMEOUT_MS + 1 s (%.2f s)" % (what, dt))
    S.wx_table.append((what, got[0], dt))


def t_wechat_faults(S):
    f = S.fake
    wrongca = start(S, "wrongca", workers=1, env=dict(S.base_env, WX_CA_FILE=os.path.join(
        S.stack.state, "certs", "other-ca.pem")))
    bh = Blackhole()
    S.blackhole = bh
    hole = start(S, "blackhole", workers=1, env=dict(
        S.base_env, WX_API_BASE="https://127.0.0.1:%d" % bh.port))
    S.wx_table = []
    try:
        # -- login: jscode2session
        for name, kw, status, slug in FAULTS:
            n0 = f.stats()["jscode2session"]
            c = f.code(**kw)
            r, dt = within(S.main, "GET", "/api/user/auth_login?code=" + c["code"])
            expect_upstream(S, "login, " + name, r, dt, status, slug)
            check(f.stats()["jscode2session"] == n0 + 1, "login, %s: one call, no retry" % name)
        f.config(latency_ms=2500)
        try:
            r, dt = within(S.main, "GET", "/api/user/auth_login?code=" + f.code()["code"])
            expect_upstream(S, "login, config latency_ms 2500", r, dt, 504, "upstream_timeout")
        finally:
            f.config(latency_ms=0)
        f.config(fail_all=-1)
        try:
            r, dt = within(S.main, "GET", "/api/user/auth_login?code=" + f.code()["code"])
            expect_upstream(S, "login, config fail_all -1", r, dt, 502, "upstream_error")
        finally:
            f.config(fail_all=None)
        n0 = f.stats()["jscode2session"]
        r, dt = within(wrongca, "GET", "/api/user/auth_login?code=" + f.code()["code"])
        expect_upstream(S, "login, untrusted TLS certificate", r, dt, 502, "upstream_error")
        check(f.stats()["jscode2session"] == n0, "untrusted certificate: nothing reached WeChat")
        r, dt = within(hole, "GET", "/api/user/auth_login?code=" + f.code()["code"])
        expect_upstream(S, "login, port accepts, never answers", r, dt, 504, "upstream_timeout")

        # -- the phone code: getuserphonenumber (a token is stored first)
        _, tok = new_user(S)
        pc = f.phone_code(pure_phone_number="13912340000")
        r = request(S.main, "POST", PHONE, {"code": pc["code"]}, headers=bearer(tok))
        check(r.status == 200, "a phone bind works first (%d %s)" % (r.status, r.slug))
        for name, kw, status, slug in FAULTS:
            pc = f.phone_code(**kw)
            r, dt = within(S.main, "POST", PHONE, body={"code": pc["code"]}, headers=bearer(tok))
            expect_upstream(S, "phone code, " + name, r, dt, status, slug)
        r, dt = within(wrongca, "POST", PHONE, body={"code": f.phone_code()["code"]},
                       headers=bearer(tok))
        expect_upstream(S, "phone code, untrusted TLS certificate", r, dt, 502, "upstream_error")
        r, dt = within(hole, "POST", PHONE, body={"code": f.phone_code()["code"]},
                       headers=bearer(tok))
        expect_upstream(S, "phone code, port accepts, never answers", r, dt, 504,
                        "upstream_timeout")

        # -- stable_token failing: no token stored, the fetch misbehaves
        for name, kw, status, slug in FAULTS:
            psql(S, "DELETE FROM wx_access_tokens")
            f.call("/_fake/faults", {"stable_token": kw})
            time.sleep(1.1)       # past the worker's 1 s back-off after a failed fetch
            n0 = f.stats()["stable_token"]
            r, dt = within(S.main, "POST", PHONE, body={"code": f.phone_code()["code"]},
                           headers=bearer(tok))
            expect_upstream(S, "stable_token, " + name, r, dt, status, slug)
            check(f.stats()["stable_token"] == n0 + 1, "stable_token, %s: one fetch (%d)" %
                  (name, f.stats()["stable_token"] - n0))
        f.call("/_fake/faults", {})
        time.sleep(1.1)
        r = request(S.main, "POST", PHONE, {"code": f.phone_code()["code"]}, headers=bearer(tok))
        check(r.status == 200, "stable_token healthy again: the bind works (%d %s)" %
              (r.status, r.slug))

        # -- check_session?remote=1: checksession
        r = request(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
        check(r.status == 200 and r.res.get("session_key_valid") is True,
              "remote check works first (%d %r)" % (r.status, r.res))
        for name, kw, status, slug in FAULTS:
            f.call("/_fake/faults", {"checksession": kw})
            r, dt = within(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
            expect_upstream(S, "checksession, " + name, r, dt, status, slug)
        f.call("/_fake/faults", {})
        r, dt = within(wrongca, "GET", CHECK + "?remote=1", headers=bearer(tok))
        expect_upstream(S, "checksession, untrusted TLS certificate", r, dt, 502,
                        "upstream_error")
        r, dt = within(hole, "GET", CHECK + "?remote=1", headers=bearer(tok))
        expect_upstream(S, "checksession, port accepts, never answers", r, dt, 504,
                        "upstream_timeout")
        r = request(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
        check(r.status == 200, "remote check fine afterwards (%d)" % r.status)
        check(len(bh.held) > 0, "the blackhole was connected to (%d)" % len(bh.held))
    finally:
        f.call("/_fake/faults", {})
        f.config(latency_ms=0, fail_all=None)
        S.stack.stop_pool("wrongca")
        S.stack.stop_pool("blackhole")
        bh.close()
    for what, st, dt in S.wx_table:
        print("    %-44s %-10s %.2f s" % (what, st, dt), flush=True)
    S.figures["wechat_fault_cases"] = len(S.wx_table)
    S.figures["wechat_fault_slowest_s"] = round(max(dt for _, _, dt in S.wx_table), 3)


# --------------------------------------------------------------------------- 7. padding oracle

def pkcs7_ok(block):
    n = block[-1]
    return 1 <= n <= 16 and block[-n:] == bytes([n]) * n


def attacker(rows, prev15):
    """The attacker's decision rule: the most common response means "wrong
    padding"; a guess g whose response differs means "right padding", so the
    last plaintext byte is g ^ prev[15] ^ 0x01.  rows: (g, status, body,
    headers).  Returns the candidates for that byte (empty: nothing learnt)."""
    keys = [(st, raw, h) for _, st, raw, h in rows]
    common = max(set(keys), key=keys.count)
    return sorted({g ^ prev15 ^ 1 for (g, st, raw, h) in rows if (st, raw, h) != common})


def t_padding_oracle(S):
    c, tok = new_user(S)
    sk = c["session_key"]
    data = {"nickName": "Oracle", "gender": 1, "language": "zh_CN", "city": "Guangzhou",
            "province": "Guangdong", "country": "CN",
            "watermark": {"timestamp": int(time.time()), "appid": S.stack.env["WX_APPID"]}}
    e = S.fake.encrypt(sk, data)
    r = request(S.main, "POST", UPDATE, {"encrypted_data": e["encrypted_data"],
                                         "encrypt_iv": e["iv"]}, headers=bearer(tok))
    check(r.status == 200 and r.res.get("user", {}).get("nick_name") == "Oracle",
          "the legit ciphertext decrypts (%d %s)" % (r.status, r.slug))
    ct = base64.b64decode(e["encrypted_data"])
    iv = base64.b64decode(e["iv"])
    plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    pad = 16 - len(plain) % 16
    padded = plain + bytes([pad]) * pad
    check(len(padded) == len(ct), "our idea of the plaintext has the right length")
    blocks = [iv] + [ct[i:i + 16] for i in range(0, len(ct), 16)]
    prev, last = blocks[-2], blocks[-1]
    before_prev = blocks[-3] if len(blocks) >= 3 else iv
    # What the server sees after decrypting `last` under a previous block X:
    # D(last) xor X; D(last) = plaintext's last block xor prev.
    d_last = bytes(a ^ b for a, b in zip(padded[-16:], prev))
    results = {}
    for variant in ("iv", "previous block"):
        rows = []
        for g in range(256):
            x = bytearray(prev)
            x[15] = g
            if variant == "iv":
                body = {"encrypted_data": base64.b64encode(last).decode(),
                        "encrypt_iv": base64.b64encode(bytes(x)).decode()}
            else:
                body = {"encrypted_data": base64.b64encode(bytes(x) + last).decode(),
                        "encrypt_iv": base64.b64encode(before_prev).decode()}
            t0 = time.monotonic()
            r = request(S.main, "POST", UPDATE, body, headers=bearer(tok))
            dt = time.monotonic() - t0
            valid = pkcs7_ok(bytes(a ^ b for a, b in zip(d_last, x)))
            hdrs = tuple(sorted((k, v) for k, v in r.headers.items()
                                if k not in ("x-request-id", "date")))
            rows.append((g, valid, r.status, r.raw, hdrs, dt))
        results[variant] = rows
        # The attacker: the common response is "wrong padding"; a guess whose
        # response differs means "right padding", so the plaintext's last byte
        # is g ^ prev[15] ^ 0x01.
        guesses = attacker([(g, st, raw, h) for g, _, st, raw, h, _ in rows], prev[15])
        # The same rule against a leaky server (right padding answered
        # differently) finds the byte: the attack script works.
        leaky = attacker([(g, 400, b"bad padding" if not v else b"not json", ())
                          for g, v, _, _, _, _ in rows], prev[15])
        check(pad in leaky, "%s: against a simulated leaky oracle the same attack recovers the "
              "byte (%r)" % (variant, leaky))
        right = [row for row in rows if row[1]]
        wrong = [row for row in rows if not row[1]]
        check(len(right) >= 1 and len(wrong) >= 200,
              "%s: both cases were tried (%d right padding, %d wrong)" %
              (variant, len(right), len(wrong)))
        check(all(row[2] == 400 and json.loads(row[3]).get("error") == "decrypt_failed"
                  for row in rows),
              "%s: every guess is 400 decrypt_failed: %r" %
              (variant, sorted({(row[2], row[3][:60]) for row in rows})))
        check(len({row[3] for row in rows}) == 1 and len({row[2] for row in rows}) == 1,
              "%s: right padding and wrong padding give byte-identical bodies, same status "
              "(%d distinct bodies)" % (variant, len({row[3] for row in rows})))
        check(len({row[4] for row in rows}) == 1,
              "%s: and the same headers (but X-Request-Id, Date)" % variant)
        check(not guesses, "%s: the attacker's guess for the last plaintext byte is "
              "undetermined (candidates %r; the byte is %d)" % (variant, guesses, pad))
        tr = statistics.median(row[5] for row in right) * 1000
        tw = statistics.median(row[5] for row in wrong) * 1000
        print("    padding oracle via the %s: 256 guesses, %d with right padding, %d distinct "
              "responses, attacker's candidates %r (true byte 0x%02x); median %.2f ms right vs "
              "%.2f ms wrong" % (variant, len(right), len({(r_[2], r_[3]) for r_ in rows}),
                                 guesses, pad, tr, tw), flush=True)
        S.figures["oracle_%s_candidates" % variant.split()[0]] = len(guesses)
    # A well-padded ciphertext whose plaintext is not a JSON object: the same bytes too.
    base_body = results["iv"][0][3]
    for what, kw in (("not JSON", {"plaintext": "this is not json at all"}),
                     ("a JSON array", {"plaintext": "[1,2,3]"}),
                     ("invalid UTF-8", {"plaintext_b64": base64.b64encode(b'{"a":"\xff"}').decode()})):
        e = S.fake.encrypt(sk, **kw)
        r = request(S.main, "POST", UPDATE, {"encrypted_data": e["encrypted_data"],
                                             "encrypt_iv": e["iv"]}, headers=bearer(tok))
        check(r.status == 400 and r.raw == base_body, "right padding, %s: the same bytes (%d %r)" %
              (what, r.status, r.raw[:80]))


def t_decrypt_rate_limit(S):
    """With the default WXAUTH_LIMIT_DECRYPT_FAIL (20 a minute per session)."""
    base = start(S, "limits", workers=1, env=dict(S.base_env))
    try:
        _, tok = new_user(S, base)
        sts = []
        for i in range(21):
            body = {"encrypted_data": base64.b64encode(os.urandom(32)).decode(),
                    "encrypt_iv": base64.b64encode(os.urandom(16)).decode()}
            r = request(base, "POST", UPDATE, body, headers=bearer(tok))
            sts.append((r.status, r.slug, r.h("retry-after")))
        check(all(s[:2] == (400, "decrypt_failed") for s in sts[:20]),
              "the first 20 failures: 400 decrypt_failed: %r" % sorted(set(s[:2] for s in sts[:20])))
        last = sts[20]
        ra = last[2] or ""
        check(last[0] == 429 and last[1] == "rate_limited" and ra.isdigit() and 0 < int(ra) <= 60,
              "the 21st failure within a minute: 429 rate_limited with Retry-After (got %d %s, "
              "Retry-After %r)  [WXAUTH_LIMIT_DECRYPT_FAIL: C side]" % last)
        # Another session of another user is not limited.
        _, tok2 = new_user(S, base)
        r = request(base, "POST", UPDATE, {"encrypted_data": base64.b64encode(os.urandom(16)).decode(),
                                           "encrypt_iv": base64.b64encode(os.urandom(16)).decode()},
                    headers=bearer(tok2))
        check(r.status == 400 and r.slug == "decrypt_failed",
              "another session is not limited (%d %s)" % (r.status, r.slug))
        print("    decrypt failures 1-20: %r; 21st: %r" % (sorted(set(s[:2] for s in sts[:20])), last),
              flush=True)
    finally:
        S.stack.stop_pool("limits")


# --------------------------------------------------------------------------- 5. statement timeout

def read_line(p, timeout):
    r, _, _ = select.select([p.stdout], [], [], timeout)
    return p.stdout.readline().strip() if r else None


def t_db_statement_timeout(S):
    _, tok = new_user(S)
    r = request(S.main, "GET", INFO, headers=bearer(tok))
    check(r.status == 200, "info before the lock")
    p = H.psql_session(S)
    try:
        p.stdin.write("BEGIN;\nLOCK TABLE sessions IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n")
        p.stdin.flush()
        check(read_line(p, 10) == "locked", "psql holds ACCESS EXCLUSIVE on sessions")
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            fut = ex.submit(within, S.main, "GET", INFO, 8, headers=bearer(tok))
            hz = []
            time.sleep(0.2)
            for _ in range(4):
                hz.append(within(S.main, "GET", "/healthz", 2))
                time.sleep(0.2)
            r, dt = fut.result(15)
        check(all(h is not None and h.status == 200 and d < 1.0 for h, d in hz),
              "/healthz 200 in < 1 s while sessions is locked: %r" %
              [(h.status if h else None, round(d, 2)) for h, d in hz])
        got = (r.status, r.slug) if r is not None else ("no answer in 8 s", None)
        check(r is not None and r.status == 503 and r.slug == "unavailable",
              "info on a locked table: 503 unavailable (got %r)  [WXAUTH_DB_TIMEOUT_MS: C side]" %
              (got,))
        check(dt < 3.0, "within ~3 s (WXAUTH_DB_TIMEOUT_MS=1500): %.2f s" % dt)
        S.figures["locked_info_s"] = round(dt, 2)
        print("    info on a locked sessions table: %r after %.2f s; healthz %s" %
              (got, dt, [round(d, 3) for _, d in hz]), flush=True)
    finally:
        t0 = time.monotonic()
        try:
            p.stdin.write("COMMIT;\n")
            p.stdin.close()
            p.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
    after = [within(S.main, "GET", INFO, 2, headers=bearer(tok)) for _ in range(8)]
    check(all(a is not None and a.status == 200 and d < 1.0 for a, d in after),
          "lock released: info 200 at once on every worker: %r" %
          [(a.status if a else None, round(d, 2)) for a, d in after])
    print("    after release: %s s" % [round(d, 3) for _, d in after], flush=True)
    del t0


# --------------------------------------------------------------------------- 3. SIGKILL storm

def t_sigkill_storm(S):
    toks = [new_user(S)[1] for _ in range(4)]
    before = workers(S, "main")
    check(len(before) == 2, "two workers: %r" % before)
    p = mixed_load(S.main, 9.0, 8, {"info": 1}, toks)
    time.sleep(1.0)
    kills = []   # (t_kill, t_replaced or None)
    for i in range(10):
        ws = workers(S, "main")
        victim = ws[i % len(ws)]
        t_kill = time.monotonic()
        os.kill(victim, 9)
        dt = wait_workers(S, "main", 2, exclude=[victim], timeout=3.0)
        kills.append((t_kill, None if dt is None else t_kill + dt))
        check(dt is not None, "kill %d: the pool is back to 2 workers (%s s)" % (i + 1, fmt_s(dt)))
        rest = t_kill + 0.5 - time.monotonic()
        if rest > 0:
            time.sleep(rest)
    res = load_result(p, S)
    recs = res["records"]
    bad = [rec for rec in recs if rec[2] != 200]
    per_kill = [0] * len(kills)
    early = 0
    for rec in bad:
        idx = [i for i, (tk, _) in enumerate(kills) if tk <= rec[0]]
        if idx:
            per_kill[idx[-1]] += 1
        else:
            early += 1
    last_repl = max((tr for _, tr in kills if tr is not None), default=None)
    after = [rec for rec in bad if last_repl is not None and rec[0] > last_repl + 0.1]
    tail = [rec for rec in recs if last_repl is not None and rec[0] > last_repl + 0.1]
    check(early == 0, "no failure before the first kill (%d)" % early)
    check(all(n <= THREADS for n in per_kill),
          "each kill loses at most the victim's requests in flight (<= %d): %r" %
          (THREADS, per_kill))
    check(not after, "no failure after the last replacement: %r" % after[:5])
    check(len(tail) > 50, "the load went on after it (%d requests)" % len(tail))
    check(len(recs) > 300, "the load ran (%d requests)" % len(recs))
    kinds = sorted({(rec[2], rec[3], "app" if rec[5] else "web server") for rec in bad})
    check(all(rec[2] == 0 or rec[4] == 1 for rec in bad),
          "every failure that got an answer is the JSON envelope: %r" % kinds)
    check(len(workers(S, "main")) == 2, "two workers at the end")
    st = S.stack.pool_ctl("main", "status")
    check(st.returncode == 0, "wxauth-pool status: %r" % st.stdout.strip())
    repl = [round(tr - tk, 3) for tk, tr in kills if tr is not None]
    print("    10 kills: lost per kill %r (total %d of %d; failures %r); replaced in %r s" %
          (per_kill, len(bad), len(recs), kinds, repl), flush=True)
    S.figures["sigkill_lost_per_kill"] = per_kill
    S.figures["sigkill_replace_max_s"] = max(repl) if repl else None


# --------------------------------------------------------------------------- 4. slowloris

def slowloris(S, web, secs=14.0, n=200):
    name = "slow-" + web
    base = start(S, name, workers=1, web=web,
                 env=dict(S.base_env, WXAUTH_THREADS="1", WXAUTH_DB_POOL="1"))
    sock_path = S.stack.pools[name]["sock"]
    port = S.stack.pools[name]["port"]
    _, tok = new_user(S)
    conns = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /api/user/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-%d: a" % i)
            s.setblocking(False)
            conns.append(s)
        alive = set(range(n))
        stop = threading.Event()

        def trickle():
            tick = 0
            while not stop.wait(0.5):
                for i in list(alive):
                    s = conns[i]
                    try:
                        r, _, _ = select.select([s], [], [], 0)
                        if r:               # an answer (408?) or EOF: the server gave up
                            s.recv(4096)
                            alive.discard(i)
                            continue
                        if i % 6 == tick % 6:   # one byte every 3 s per connection
                            s.send(b"a")
                    except OSError:
                        alive.discard(i)
                tick += 1
        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        t_end = time.monotonic() + secs
        lat, bad, maxconn, alive_min = [], [], 0, n
        while time.monotonic() < t_end:
            for path, hdrs in (("/healthz", {}), (INFO, bearer(tok))):
                r, dt = within(base, "GET", path, 5, headers=hdrs)
                lat.append(dt)
                if r is None or r.status != 200 or dt >= 1.0:
                    bad.append((path, r.status if r else None, round(dt, 2)))
            maxconn = max(maxconn, pool_conns(sock_path))
            alive_min = min(alive_min, len(alive))
            time.sleep(0.2)
        stop.set()
        t.join()
        held = len(alive)
    finally:
        for s in conns:
            s.close()
        S.stack.stop_pool(name)
    check(not bad, "%s: every normal request 200 in < 1 s among %d slow clients: %d bad %r" %
          (web, n, len(bad), bad[:6]))
    check(len(lat) >= 20, "%s: the normal client kept going (%d requests)" % (web, len(lat)))
    check(maxconn <= 1, "%s: the workers saw no extra connection (at most %d open to the pool "
          "socket, the normal client's)" % (web, maxconn))
    print("    %s: %d slow clients, %d still held after %.0f s (fewest %d); normal requests: %d, "
          "slowest %.3f s, %d failed; pool socket connections at most %d" %
          (web, n, held, secs, alive_min, len(lat), max(lat) if lat else -1, len(bad), maxconn),
          flush=True)
    S.figures["slowloris_%s" % web] = {"held_at_end": held, "normal_max_s": round(max(lat), 3)
                                       if lat else None, "normal_failed": len(bad),
                                       "pool_conns_max": maxconn}


def t_slowloris(S):
    slowloris(S, "lighttpd")
    slowloris(S, "apache")


# --------------------------------------------------------------------------- 1. PostgreSQL restart under mixed load

def t_pg_restart_mixed(S):
    toks = [new_user(S)[1] for _ in range(10)]
    pids = workers(S, "main")
    mix = {"login": 2, "info": 3, "check": 2, "update": 2, "healthz": 1}
    t0 = time.monotonic()
    p = mixed_load(S.main, 60.0, 8, mix, toks, S.fake)
    time.sleep(max(0, t0 + 20 - time.monotonic()))
    t_stop0 = time.monotonic()
    S.stack.stop_pg()
    t_stop1 = time.monotonic()
    time.sleep(max(0, t0 + 30 - time.monotonic()))
    t_start0 = time.monotonic()
    S.stack.start_pg()
    t_start1 = time.monotonic()
    res = load_result(p, S)
    recs = res["records"]
    rel = lambda t: t - t0  # noqa: E731
    before = [r for r in recs if r[0] < t_stop0]
    during = [r for r in recs if t_stop0 <= r[0] <= t_start1 + 2.0]
    after = [r for r in recs if r[0] > t_start1 + 2.0]
    nonjson = [r for r in recs if not r[4]]
    s500 = [r for r in recs if r[2] == 500]
    check(not nonjson, "every response is the JSON envelope (%d not: %r)" %
          (len(nonjson), nonjson[:5]))
    check(not s500, "never a 500 (%d)" % len(s500))
    check(all(r[2] == 200 for r in before), "before the stop: all 200 (%r)" %
          sorted({(r[2], r[3]) for r in before if r[2] != 200}))
    dbad = sorted({(r[2], r[3], r[5]) for r in during if r[2] != 200})
    check(all(r[2] == 200 or (r[2] == 503 and r[3] == "unavailable") for r in during),
          "during the outage: only 503 unavailable (status, slug, has X-Request-Id: %r)" % dbad)
    web503 = [r for r in during if r[2] != 200 and not r[5]]
    check(not web503, "the 503s are the app's (X-Request-Id), not the web server's: %d" %
          len(web503))
    n503 = sum(1 for r in during if r[2] == 503)
    check(n503 > 20, "the outage was seen (%d 503s)" % n503)
    hz_out = [r for r in recs if r[1] == "healthz" and t_stop1 + 0.3 < r[0] < t_start0]
    check(hz_out and all(r[2] == 503 for r in hz_out), "healthz 503 while down (%r)" %
          sorted({r[2] for r in hz_out}))
    check(all(r[2] == 200 for r in after), "from 2 s after PostgreSQL is back: no error (%r)" %
          sorted({(r[2], r[3]) for r in after if r[2] != 200}))
    check(len(after) > 500, "load went on after recovery (%d requests)" % len(after))
    # Recovery, from the moment PostgreSQL was started: the first 200 of a
    # request that needs it, and the last error.
    errs_late = [r[0] for r in recs if r[2] != 200 and r[0] > t_start0]
    last_err = (max(errs_late) - t_start0) if errs_late else 0.0
    ok_after = [r[0] for r in recs if r[2] == 200 and r[1] != "healthz" and r[0] > t_start0]
    first_ok = (min(ok_after) - t_start0) if ok_after else None
    recovery = max(last_err, first_ok or 0.0)
    check(first_ok is not None and recovery < (t_start1 - t_start0) + 2.0,
          "recovered within 2 s of PostgreSQL being ready (%s s after the start)" %
          fmt_s(recovery))
    check(workers(S, "main") == pids, "no worker restarted: %r -> %r" % (pids, workers(S, "main")))
    # Every session token issued before the stop still works.
    pre = toks + [t for ts, t in res["issued"] if ts < t_stop0]
    post = [t for ts, t in res["issued"] if ts >= t_stop0]

    def info_status(t):
        r, _ = H.request_within(S.main, "GET", INFO, 10, headers=bearer(t))
        return r.status if r else None
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        pre_st = list(ex.map(info_status, pre))
        post_st = list(ex.map(info_status, post))
    check(len(pre) > 20 and all(s == 200 for s in pre_st),
          "every token issued before the restart works after it: %d of %d" %
          (pre_st.count(200), len(pre)))
    check(all(s == 200 for s in post_st), "and those issued during/after it: %d of %d" %
          (post_st.count(200), len(post)))
    kinds = {}
    for r in recs:
        k = kinds.setdefault(r[1], [0, 0])
        k[0] += 1
        k[1] += r[2] == 503
    print("    PostgreSQL stop at %.1f s (%.2f s to stop), start at %.1f s (ready %.2f s later); "
          "%d requests (%s), %d 503s, %d before/%d during/%d after; from the start: first 200 "
          "%s s, last error %.3f s; tokens checked %d before + %d after" %
          (rel(t_stop0), t_stop1 - t_stop0, rel(t_start0), t_start1 - t_start0, len(recs),
           ", ".join("%s %d/%d" % (k, v[0], v[1]) for k, v in sorted(kinds.items())),
           n503, len(before), len(during), len(after), fmt_s(first_ok), last_err, len(pre),
           len(post)), flush=True)
    S.figures["pg_restart"] = {"requests": len(recs), "503": n503, "recovery_s": round(recovery, 3),
                               "pg_start_s": round(t_start1 - t_start0, 2),
                               "tokens_before_ok": "%d/%d" % (pre_st.count(200), len(pre))}


# --------------------------------------------------------------------------- 6. secret hygiene

def runs(text, chars, n):
    """Every n-character substring of the runs of chars that are at least n long."""
    out = set()
    for m in re.finditer("[%s]{%d,}" % (chars, n), text):
        s = m.group(0)
        for i in range(len(s) - n + 1):
            out.add(s[i:i + n])
    return out


def variants(text):
    """The text as stored, with JSON's "\\/" undone, and %-decoded."""
    return (text, text.replace("\\/", "/"), urllib.parse.unquote(text))


class Secrets:
    def __init__(self, S):
        seen = set(H.secrets_seen) | S.load_keys | S.load_tokens
        self.keys, self.tokens, self.phones = set(), set(), set()
        for s in seen:
            if len(s) == 24 and s.endswith("=="):
                try:
                    if len(base64.b64decode(s, validate=True)) == 16:
                        self.keys.add(s)
                        continue
                except binascii.Error:
                    pass
            if re.fullmatch(r"[A-Za-z0-9_-]{43}", s):
                self.tokens.add(s)
            elif re.fullmatch(r"\+?\d{7,15}", s):
                self.phones.add(s.lstrip("+"))
        self.key22 = {k[:22] for k in self.keys}       # the base64 text without "=="
        self.keyhex = {base64.b64decode(k).hex() for k in self.keys}
        self.access = set(S.fake.tokens())
        self.access_lens = {len(a) for a in self.access}
        self.phone_lens = {len(p) for p in self.phones}

    def find(self, text, tokens=True, phones=True):
        """What of ours is in text: a list of (kind, value prefix)."""
        hits = []
        for t in variants(text):
            hits += [("session_key", k) for k in runs(t, "A-Za-z0-9+/", 22) & self.key22]
            hits += [("session_key hex", h) for h in
                     {x.lower() for x in runs(t, "0-9a-fA-F", 32)} & self.keyhex]
            for n in self.access_lens:
                hits += [("access_token", a) for a in runs(t, "A-Za-z0-9_-", n) & self.access]
            if tokens:
                hits += [("session token", k) for k in runs(t, "A-Za-z0-9_-", 43) & self.tokens]
            if phones:
                for n in self.phone_lens:
                    hits += [("phone", p) for p in runs(t, "0-9", n) & self.phones]
            if devstack.DEV_SECRET in t:
                hits.append(("app secret", devstack.DEV_SECRET))
        return sorted({(k, v[:10] + "...") for k, v in hits})


def our_logs(S):
    files = [LOG, os.path.join(STATE, "fakewx.log"), os.path.join(STATE, "postgres.log")]
    for rundir, web in sorted(S.rundirs):
        files += sorted(glob.glob(os.path.join(rundir, web, "*.log")))
    return [f for f in files if os.path.exists(f)]


def scan_our_logs(S, sec, what):
    total = 0
    for f in our_logs(S):
        text = open(f, encoding="utf-8", errors="replace").read()
        total += len(text.splitlines())
        hits = sec.find(text)
        check(not hits, "%s: %s holds no session_key, token, access_token, phone number or "
              "app secret: %r" % (what, os.path.relpath(f, ROOT) if f.startswith(ROOT) else f,
                                  hits[:6]))
    return total


def t_secret_hygiene(S):
    # A few phones bound, so that there are phone numbers to look for.
    _, tok = new_user(S)
    for i in range(3):
        pc = S.fake.phone_code(pure_phone_number="1371234%04d" % (os.getpid() % 10000 + i))
        r = request(S.main, "POST", PHONE, {"code": pc["code"]}, headers=bearer(tok))
        check(r.status == 200 and r.res.get("pure_phone_number") == pc["pure_phone_number"],
              "phone bound for the hygiene check (%d %s)" % (r.status, r.slug))
    time.sleep(0.5)
    sec = Secrets(S)
    S.secrets = sec
    check(S.only or len(sec.keys) >= 100 and len(sec.tokens) >= 100 and sec.access and len(sec.phones) >= 3,
          "secrets collected: %d session keys, %d tokens, %d access tokens, %d phones" %
          (len(sec.keys), len(sec.tokens), len(sec.access), len(sec.phones)))
    # Responses: session keys, access tokens, the app secret (tokens and phone
    # numbers belong in some responses).
    leaks = []
    chunk = []
    for hl, raw in H.responses:
        chunk.append(raw.decode("utf-8", "replace") + "\n" + json.dumps(hl) + "\n")
        if len(chunk) >= 2000:
            leaks += sec.find("".join(chunk), tokens=False, phones=False)
            chunk = []
    leaks += sec.find("".join(chunk), tokens=False, phones=False)
    check(not leaks, "no session_key, access_token or app secret in %d responses: %r" %
          (len(H.responses), leaks[:6]))
    check(not S.load_leaks, "none in the load generators' responses either: %r" % S.load_leaks[:3])
    # The scanner finds what it looks for (in the forms a leak could take).
    k = sorted(sec.keys)[0]
    probe = 'x "%s" %s %s %s tok=%s at=%s +86%s %s' % (
        k.replace("/", "\\/"), urllib.parse.quote(k, safe=""), base64.b64decode(k).hex().upper(),
        k[:22], sorted(sec.tokens)[0], sorted(sec.access)[0], sorted(sec.phones)[0],
        devstack.DEV_SECRET)
    kinds = {kind for kind, _ in sec.find(probe)}
    check(kinds == {"session_key", "session_key hex", "session token", "access_token", "phone",
                    "app secret"}, "the scanner sees planted secrets: %r" % sorted(kinds))
    n = scan_our_logs(S, sec, "while running")
    check(S.only or n > 1000, "logs were there to scan (%d lines)" % n)
    print("    scanned %d responses here + the load generators' own check, %d log lines in %d "
          "files, for %d session keys (base64 and hex), %d tokens, %d access tokens, %d phones"
          % (len(H.responses), n, len(our_logs(S)), len(sec.keys), len(sec.tokens),
             len(sec.access), len(sec.phones)), flush=True)
    S.figures["hygiene"] = {"responses": len(H.responses), "log_lines": n,
                            "session_keys": len(sec.keys), "tokens": len(sec.tokens)}


# Shapes, for logs whose secrets we never saw: a 16-byte session_key as base64
# (21 characters, one of A/Q/g/w, "=="), a session token (43 base64url
# characters with upper, lower case and digits), the fake's access tokens
# ("fake_" and 131 more), a mainland mobile number (11 digits, 1[3-9]...), and
# the app secret itself.
SHAPES = (
    ("session_key-shaped", re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{21}[AQgw]==(?![A-Za-z0-9+/=])")),
    ("token-shaped", re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])"
                                r"(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")),
    ("access_token-shaped", re.compile(r"fake_[A-Za-z0-9_-]{131}")),
    ("phone-shaped", re.compile(r"(?<![0-9.])1[3-9][0-9]{9}(?![0-9])")),
    ("app secret", re.compile(re.escape(devstack.DEV_SECRET))),
)


def rundir_of(state, name):
    d = os.path.join(state, "pool-" + name)
    if os.geteuid() == 0 or len(d) > 90:
        return "/tmp/wxauth-" + hashlib.sha256(d.encode()).hexdigest()[:12]
    return d


def t_other_suites_logs(S):
    tok = ""
    while not (re.search("[A-Z]", tok) and re.search("[a-z]", tok) and re.search("[0-9]", tok)):
        tok = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    for (what, rx), sample in zip(SHAPES, (
            base64.b64encode(os.urandom(16)).decode(), tok,
            "fake_" + base64.urlsafe_b64encode(os.urandom(120)).decode()[:131],
            "13812345678", devstack.DEV_SECRET)):
        check(rx.search("at %s." % sample) is not None, "the %s pattern matches %s..." %
              (what, sample[:8]))
    states = [d for d in sorted(glob.glob(os.path.join(ROOT, ".state", "test*")))
              if os.path.isdir(d) and os.path.abspath(d) != STATE]
    nfiles = nlines = 0
    for st in states:
        files = [os.path.join(st, f) for f in ("workers.log", "fakewx.log", "postgres.log")]
        for pd in glob.glob(os.path.join(st, "pool-*")):
            rd = rundir_of(st, os.path.basename(pd)[5:])
            files += glob.glob(os.path.join(rd, "*", "*.log"))
        for f in files:
            if not os.path.isfile(f):
                continue
            text = open(f, encoding="utf-8", errors="replace").read()
            nfiles += 1
            nlines += len(text.splitlines())
            hits = []
            for t in variants(text):
                for what, rx in SHAPES:
                    hits += [(what, m[:12] + "...") for m in rx.findall(t)]
            check(not hits, "%s: nothing secret-shaped: %r" % (f, sorted(set(hits))[:6]))
    print("    other suites: %d state dirs (%s), %d files, %d lines scanned for shapes" %
          (len(states), ", ".join(os.path.basename(s) for s in states), nfiles, nlines),
          flush=True)
    S.figures["other_suites_files"] = nfiles


# --------------------------------------------------------------------------- driver

class Setup:
    pass


def main():
    t_all = time.monotonic()
    os.makedirs(STATE, exist_ok=True)
    for f in (LOG, os.path.join(STATE, "fakewx.log")):
        if os.path.exists(f):
            os.unlink(f)
    stack = devstack.Stack(state=STATE, log_to=LOG)
    S = Setup()
    S.stack = stack
    S.figures = {}
    S.rundirs = set()
    S.load_keys, S.load_tokens, S.load_leaks = set(), set(), []
    S.base_env = {"WX_TIMEOUT_MS": str(TIMEOUT_MS), "WXAUTH_DB_TIMEOUT_MS": "1500"}
    tests = [t_wechat_faults, t_padding_oracle, t_decrypt_rate_limit, t_db_statement_timeout,
             t_sigkill_storm, t_slowloris, t_pg_restart_mixed, t_secret_hygiene,
             t_other_suites_logs]
    only = sys.argv[1:]       # names of tests to run (a subset: for working on them)
    S.only = bool(only)
    try:
        stack.start_pg()
        # The log of this run only (the cluster's own log is appended to).
        pglog = os.path.join(STATE, "postgres.log")
        if os.path.exists(pglog):
            open(pglog, "w").close()
        stack.migrate()
        stack.start_fakewx()
        S.fake = Fake(stack.fakewx_url, stack.env["WX_CA_FILE"])
        S.fake.ca = stack.env["WX_CA_FILE"]
        S.main = start(S, "main", workers=2, env=dict(S.base_env, WXAUTH_THREADS=str(THREADS),
                                                      **NO_LIMITS))
        H.run_tests(S, tests, only, always=("t_secret_hygiene",))
    finally:
        stack.stop_all()
    if getattr(S, "secrets", None) is not None:
        # Once more, with what the processes wrote on their way out.
        scan_our_logs(S, S.secrets, "after shutdown")
    print("  figures: %s" % json.dumps(S.figures))
    print("  total %.1f s" % (time.monotonic() - t_all))
    print("faults: %d passed, %d failed" % (H.passed, H.failed))
    return 0 if H.failed == 0 and H.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
