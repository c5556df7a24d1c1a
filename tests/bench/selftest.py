#!/usr/bin/python3
"""The make test stage for make bench's own parts: wxbench (the benchmark's
fake WeChat) must answer as WeChat does, and the floor responder must
serve behind the real pool and web server, so that a benchmark measures
what it says.  Ends with "bench tools: N passed, M failed".  Standard
library only."""

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "deploy", "dev"))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
import devstack  # noqa: E402
import bench     # noqa: E402
import harness   # noqa: E402  (on the path through bench)
from harness import check  # noqa: E402

BUILD = os.path.join(ROOT, os.environ.get("WXAUTH_BUILD", "build"))


def main():
    state = tempfile.mkdtemp(prefix="wxauth-benchtest-")
    os.chmod(state, 0o755)
    S = devstack.Stack(state=state, log_to=os.path.join(state, "workers.log"))
    wx = None
    try:
        d = S.certs()
        pf = os.path.join(state, "port")
        wx = subprocess.Popen([os.path.join(BUILD, "tests", "bench", "wxbench"), pf,
                               os.path.join(d, "server.pem"), os.path.join(d, "server.key"),
                               "wxapp0001", "sec0001"], stderr=subprocess.DEVNULL,
                              start_new_session=True)
        devstack.wait_for(lambda: os.path.exists(pf) and open(pf).read().strip(), 10, "wxbench")
        base = "https://127.0.0.1:%s" % open(pf).read().strip()
        ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))

        def get(path, body=None):
            r = urllib.request.urlopen(urllib.request.Request(
                base + path, data=body.encode() if body is not None else None),
                context=ctx, timeout=10)
            return r.headers.get("Content-Type"), json.loads(r.read())

        def j2s(code, appid="wxapp0001", secret="sec0001", grant="authorization_code"):
            q = "appid=%s&secret=%s&grant_type=%s" % (appid, secret, grant)
            if code is not None:
                q += "&js_code=" + code
            return get("/sns/jscode2session?" + q)[1]

        ctype, r = get("/sns/jscode2session?appid=wxapp0001&secret=sec0001"
                       "&js_code=bench-t-1-alice&grant_type=authorization_code")
        check(ctype == "text/plain", "JSON sent as text/plain, as WeChat does (%r)" % ctype)
        openid, sk = bench.Bench.wx_user("alice")
        check(r.get("openid") == openid and r.get("session_key") == sk,
              "the user named by the code's last part, with the key bench.py derives: %r" % r)
        check(len(base64.b64decode(r.get("session_key", ""))) == 16, "a 16-byte session_key")
        check(j2s("bench-t-1-alice").get("errcode") == 40163, "a code is single-use (40163)")
        check(j2s("bench-t-2-alice").get("openid") == openid, "the same user again, another code")
        check(j2s("0a1b2c3d").get("errcode") == 40029, "an unknown code: 40029")
        check(j2s(None).get("errcode") == 41008, "no code: 41008")
        # One write, one TLS record: a TLS socket's recv() returns one
        # record's data at most, so a head written apart from its body
        # would come without it.
        port = int(open(pf).read().strip())
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /sns/jscode2session?appid=wxapp0001&secret=sec0001"
                        b"&js_code=bench-t-9-bob&grant_type=authorization_code HTTP/1.1\r\n"
                        b"Host: 127.0.0.1\r\n\r\n")
            got = tls.recv(65536)
        head, _, body = got.partition(b"\r\n\r\n")
        clen = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        check(clen is not None and len(body) == int(clen.group(1)) and b"openid" in body,
              "a reply's head and body in one TLS record, as a server sends a small reply "
              "(%r)" % got[-80:])
        check(j2s("bench-t-3-x", appid="wxother").get("errcode") == 40013, "wrong appid: 40013")
        check(j2s("bench-t-4-x", secret="nope").get("errcode") == 40125, "wrong secret: 40125")
        check(j2s("bench-t-5-x", grant="x").get("errcode") == 40002, "wrong grant_type: 40002")
        _, t = get("/cgi-bin/stable_token", json.dumps(
            {"grant_type": "client_credential", "appid": "wxapp0001", "secret": "bad"}))
        check(t.get("errcode") == 40001, "stable_token with a wrong secret: 40001")
        _, t = get("/cgi-bin/stable_token", json.dumps(
            {"grant_type": "client_credential", "appid": "wxapp0001", "secret": "sec0001"}))
        tok = t.get("access_token", "")
        check(len(tok) > 20 and t.get("expires_in") == 7200, "stable_token: a token for 7200 s")
        _, p = get("/wxa/business/getuserphonenumber?access_token=wrong",
                   json.dumps({"code": "bench-p-1"}))
        check(p.get("errcode") == 40001, "a wrong access_token: 40001")
        _, p = get("/wxa/business/getuserphonenumber?access_token=" + tok,
                   json.dumps({"code": "bench-p-1"}))
        pi = p.get("phone_info", {})
        check(p.get("errcode") == 0 and pi.get("purePhoneNumber") == "13800138000" and
              pi.get("watermark", {}).get("appid") == "wxapp0001",
              "a phone code: phone_info with the app's watermark: %r" % p)
        _, p = get("/wxa/business/getuserphonenumber?access_token=" + tok,
                   json.dumps({"code": "bench-p-1"}))
        check(p.get("errcode") == 40163, "a phone code is single-use too")
        get("/_fake/config?latency_ms=300")
        t0 = time.monotonic()
        j2s("bench-t-6-x")
        dt = time.monotonic() - t0
        check(0.3 <= dt < 2.0, "latency_ms=300 delays a reply by 300 ms (%.3f s)" % dt)
        get("/_fake/config?latency_ms=0&fail_all=45011")
        check(j2s("bench-t-7-x").get("errcode") == 45011, "fail_all: every call gets that errcode")
        get("/_fake/config?fail_all=0")
        check(j2s("bench-t-8-x").get("openid"), "fail_all=0 clears it")
        seen = harness.tls_resumption(int(base.rsplit(":", 1)[1]), os.path.join(d, "ca.pem"),
                                      "/_fake/config")
        check(seen == (False, True), "a client offering its TLS session resumes it: %r"
              % (seen,))

        # The floor behind the real pool and lighttpd.
        S.start_pg()
        S.migrate()
        S.env.update(WX_APPID="wxapp0001", WX_SECRET="sec0001", WX_API_BASE=base,
                     WX_CA_FILE=os.path.join(d, "ca.pem"))
        for mode in ("hello", "select1", "login", "login_wx"):
            name = "floor-" + mode
            rundir = S._rundir(name)
            dst = os.path.join(rundir, "floor")
            shutil.copy2(os.path.join(BUILD, "tests", "bench", "floor"), dst)
            url = S.start_pool(name=name, web="lighttpd", env={"WXAUTH_BIN": dst,
                                                               "FLOOR_MODE": mode})
            r = urllib.request.urlopen(url + "/floor?code=bench-f-%s-bob" % mode, timeout=10)
            body = json.loads(r.read())
            check(r.status == 200 and body.get("code") == 0,
                  "floor %s answers 200 with the envelope: %r" % (mode, body))
            S.stop_pool(name)
        n = subprocess.run([os.path.join(S.pg.bindir, "psql"), "-h", S.pg.sock, "-U", "wxauth",
                            "-d", "wxauth", "-tAc",
                            "SELECT count(*) FROM users u JOIN sessions s ON s.user_id = u.id"
                            " WHERE u.session_key_kid = 'floor'"],
                           capture_output=True, text=True).stdout.strip()
        check(n == "2", "the floor's logins wrote a user and a session each (%s)" % n)
        h = hashlib.sha256(b"bob").hexdigest()[:26]
        m = subprocess.run([os.path.join(S.pg.bindir, "psql"), "-h", S.pg.sock, "-U", "wxauth",
                            "-d", "wxauth", "-tAc",
                            "SELECT count(*) FROM users WHERE openid = 'o%s'" % h],
                           capture_output=True, text=True).stdout.strip()
        check(m == "1", "login_wx wrote the openid WeChat gave (%s)" % m)
    finally:
        devstack.stop_proc(wx)
        S.stop_all()
        shutil.rmtree(state, ignore_errors=True)
    print("bench tools: %d passed, %d failed" % (harness.passed, harness.failed))
    return 0 if harness.failed == 0 and harness.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
