#!/usr/bin/python3
"""What the integration suites share: the tally, a request helper that checks
the envelope on every response, the fake WeChat's control API, login, and
psql.  Standard library only."""

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "deploy", "dev"))
import devstack  # noqa: E402,F401

STATE = os.environ.get("WXAUTH_TEST_STATE") or os.path.join(ROOT, ".state", "test")
LOG = os.path.join(STATE, "workers.log")
TIMEOUT_MS = 1000

passed = 0
failed = 0
responses = []      # every (headers, body) seen, for the secret-hygiene check
secrets_seen = set()  # session_keys and tokens that must never be logged


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what, flush=True)


class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw.decode("utf-8"))
        except ValueError:
            self.json = None

    def h(self, name):
        return self.headers.get(name.lower())

    @property
    def res(self):
        return (self.json or {}).get("res") or {}

    @property
    def slug(self):
        return (self.json or {}).get("error")


def encode_body(method, body, headers, ctype):
    """The bytes and headers to send: a dict or list as JSON, a str as a form
    (or ctype), an empty body for a bodiless POST."""
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        elif isinstance(body, str):
            body = body.encode()
        hdrs["Content-Type"] = ctype or "application/x-www-form-urlencoded"
    elif method == "POST":
        body = b""
    return body, hdrs


class Setup:
    """What a runner's tests share: the stack, base URLs, the fake, figures."""


def setup(state, log):
    """A Setup with a fresh devstack.Stack in state, workers logging to log
    (emptied first)."""
    os.makedirs(state, exist_ok=True)
    if os.path.exists(log):
        os.unlink(log)
    S = Setup()
    S.stack = devstack.Stack(state=state, log_to=log)
    return S


def run_tests(S, tests, only=None, always=()):
    """Run each t(S), tallying its checks; one line per test.  only: names to
    run (all when empty); always: names run anyway."""
    import time
    import traceback
    for t in tests:
        if only and t.__name__ not in only and t.__name__ not in always:
            continue
        t0 = time.monotonic()
        n0 = failed
        try:
            t(S)
        except Exception:
            check(False, t.__name__ + " raised:\n" + traceback.format_exc())
        print("  %-32s %s (%.1fs)" % (t.__name__, "ok" if failed == n0 else "FAILED",
                                     time.monotonic() - t0), flush=True)


def request(base, method, path, body=None, headers=None, ctype=None):
    host, port = base.replace("http://", "").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    body, hdrs = encode_body(method, body, headers, ctype)
    c.request(method, path, body=body, headers=hdrs)
    r = c.getresponse()
    raw = r.read()
    hl = {}
    for k, v in r.getheaders():
        k = k.lower()
        hl[k] = hl[k] + "\n" + v if k in hl else v
    c.close()
    resp = Resp(r.status, hl, raw)
    responses.append((hl, raw))
    if path.startswith("/api/avatar/") and r.status in (200, 304):
        # An image, not the envelope; the same bytes for ever.
        check(resp.h("cache-control") == "public, max-age=31536000, immutable",
              "long-lived immutable caching on %s (%r)" % (path, resp.h("cache-control")))
        check(bool(resp.h("x-request-id")), "X-Request-Id on %s" % path)
        return resp
    # The envelope, on everything.
    ok = resp.json is not None and isinstance(resp.json.get("code"), int) and \
        isinstance(resp.json.get("msg"), str) and \
        hl.get("content-type") == "application/json; charset=utf-8"
    check(ok, "JSON envelope on %s %s (%d: %r)" % (method, path, r.status, raw[:100]))
    if resp.json is not None:
        if r.status == 200:
            check(resp.json.get("code") == 0 and "res" in resp.json, "success envelope %s" % path)
        else:
            check(resp.json.get("code") != 0 and isinstance(resp.json.get("error"), str),
                  "error envelope %s %d" % (path, r.status))
    if path.startswith("/api/") and r.status not in (400, 411, 413, 431) or \
            (path.startswith("/api/") and resp.h("x-request-id")):
        check(resp.h("cache-control") == "no-store", "Cache-Control on %s (%d)" % (path, r.status))
        check(bool(resp.h("x-request-id")), "X-Request-Id on %s" % path)
    return resp


class Fake:
    def __init__(self, url, ca):
        self.url = url
        self.ctx = ssl.create_default_context(cafile=ca)

    def call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.urlopen(urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}),
            context=self.ctx, timeout=10)
        return json.loads(r.read())

    def code(self, **kw):
        c = self.call("/_fake/code", kw)
        if c.get("session_key"):
            secrets_seen.add(c["session_key"])
        return c

    def stats(self):
        return self.call("/_fake/stats")

    def phone_code(self, **kw):
        c = self.call("/_fake/phone_code", kw)
        # Phone numbers must not be logged (they do appear in bind responses).
        secrets_seen.update((c["phone_number"], c["pure_phone_number"]))
        return c

    def encrypt(self, session_key, data=None, **kw):
        if data is not None:
            kw["data"] = data
        return self.call("/_fake/encrypt", dict(kw, session_key=session_key))

    def config(self, **kw):
        return self.call("/_fake/config", kw)

    def expire_token(self):
        return self.call("/_fake/expire_token", {})

    def session_key(self, openid, session_key):
        """WeChat rotates this user's session_key (as another wx.login would)."""
        secrets_seen.add(session_key)
        return self.call("/_fake/session_key", {"openid": openid, "session_key": session_key})

    def tokens(self):
        """Every access_token the fake has issued (each added to secrets_seen)."""
        values = [t["access_token"] for t in self.call("/_fake/tokens")["tokens"]]
        secrets_seen.update(values)
        return values


def login(base, fake, headers=None, **kw):
    c = fake.code(**kw)
    r = request(base, "GET", "/api/user/auth_login?code=" + c["code"], headers=headers)
    if r.status == 200:
        secrets_seen.add(r.res["token"])
    return c, r


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def psql(S, sql, db="wxauth"):
    pg = S.stack.pg
    return subprocess.run([os.path.join(pg.bindir, "psql"), "-h", pg.sock, "-U", "wxauth",
                           "-d", db, "-tAqc", sql], capture_output=True, text=True,
                          check=True).stdout.strip()


def pool_pids(S):
    p = S.stack.pools["main"]["pool"]
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True, text=True)
    mw = out.stdout.split()
    kids = []
    for m in mw:
        kids += subprocess.run(["ps", "-o", "pid=", "--ppid", m], capture_output=True,
                               text=True).stdout.split()
    return sorted(mw + kids)


# --- helpers for tests/integration/faults.py --------------------------------

def tls_resumption(port, ca_file, path):
    """Two HTTPS GETs of path on 127.0.0.1:port, the second offering the TLS
    session of the first: (first resumed, second resumed), as the client saw
    them.  (A server that resumes answers (False, True).)"""
    ctx = ssl.create_default_context(cafile=ca_file)
    session, seen = None, []
    for _ in range(2):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                   % path).encode())
        buf = b""
        while True:               # the whole reply (by Content-Length: a server
            chunk = s.recv(65536)  # may keep the connection), tickets with it
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and m and len(body) >= int(m.group(1)):
                break
        seen.append(s.session_reused)
        session = s.session
        s.close()
    return tuple(seen)


def request_within(base, method, path, timeout, body=None, headers=None, ctype=None):
    """request(), with a client timeout: (Resp, seconds), or (None, seconds) when
    no answer came within timeout seconds.  The envelope is checked as request()
    does, and the response is kept in responses."""
    host, port = base.replace("http://", "").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    body, hdrs = encode_body(method, body, headers, ctype)
    t0 = time.monotonic()
    try:
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        raw = r.read()
    except (OSError, http.client.HTTPException):
        c.close()
        return None, time.monotonic() - t0
    dt = time.monotonic() - t0
    hl = {}
    for k, v in r.getheaders():
        k = k.lower()
        hl[k] = hl[k] + "\n" + v if k in hl else v
    c.close()
    resp = Resp(r.status, hl, raw)
    responses.append((hl, raw))
    check(envelope_ok(resp), "JSON envelope on %s %s (%d: %r)" % (method, path, r.status, raw[:100]))
    return resp, dt


def envelope_ok(resp):
    """Is resp the API's JSON envelope (success or error, matching its status)?"""
    j = resp.json
    if not isinstance(j, dict) or not isinstance(j.get("code"), int) or \
            not isinstance(j.get("msg"), str) or \
            resp.h("content-type") != "application/json; charset=utf-8":
        return False
    if resp.status == 200:
        return j["code"] == 0 and "res" in j
    return j["code"] != 0 and isinstance(j.get("error"), str)


def psql_session(S, db="wxauth"):
    """A psql process kept open: write SQL to its stdin, read its stdout."""
    pg = S.stack.pg
    return subprocess.Popen([os.path.join(pg.bindir, "psql"), "-h", pg.sock, "-U", "wxauth",
                             "-d", db, "-qAt", "-v", "ON_ERROR_STOP=1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1)
