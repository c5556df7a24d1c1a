#!/usr/bin/python3
"""Self-test for fakewx.

Makes test certificates with mkcerts.sh in a temporary directory, starts fakewx over TLS on
a free port, exercises every WeChat endpoint and control call with urllib (trusting only the
test CA), stops the server and checks its log holds no secrets. Also runs a plain-HTTP
instance briefly. Prints "fakewx selftest: N passed, M failed"; exits 1 on any failure.

Usage: /usr/bin/python3 tests/fakewx/selftest.py [-v]
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402  (its TLS resumption probe)
FAKEWX = os.path.join(HERE, "fakewx.py")
MKCERTS = os.path.join(HERE, "mkcerts.sh")

APPID = "wxselftest0000001"
SECRET = "selftest-secret-5f2b9c0d7e"

# WeChat's official open-data decryption example (from its demo code).
VEC_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
VEC_IV = "r7BXXKkLb8qrSNn05n0qiA=="
VEC_ENCRYPTED = (
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142d"
    "NCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn"
    "/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns"
    "/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuy"
    "Db/XcxxmK01EpqOyuxINew==")
VEC_PLAINTEXT = (
    '{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN",'
    '"city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/'
    'vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0",'
    '"unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}')

# WeChat's official checksession HMAC example: the key is the session_key's base64 TEXT.
HMAC_KEY = "o0q0otL8aEzpcZL/FT9WsQ=="
HMAC_MSG = b'{"foo":"bar"}'
HMAC_HEX = "654571f79995b2ce1e149e53c0a33dc39c0a74090db514261454e8dbe432aa0b"

VERBOSE = "-v" in sys.argv[1:]


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            if VERBOSE:
                print(f"ok    {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}" + (f": {detail}" if detail else ""))
        return cond

    def eq(self, name, got, want):
        return self.check(name, got == want, f"got {got!r}, want {want!r}")

    def errcode(self, name, reply, want):
        """A WeChat reply (status, obj) that must be HTTP 200 with this errcode."""
        status, obj = reply
        got = obj.get("errcode") if isinstance(obj, dict) else obj
        return self.check(name, status == 200 and got == want,
                          f"got HTTP {status} {obj!r}, want errcode {want}")


class Client:
    """Minimal HTTP(S) client for fakewx; remembers secrets it sees for the log check."""

    def __init__(self, base, ctx):
        self.base = base
        self.ctx = ctx
        self.secrets = {SECRET}

    def request(self, method, path, query=None, body=None, timeout=30):
        """(status, headers, body bytes); HTTP errors are returned, not raised."""
        url = self.base + path
        if query is not None:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

    def wx(self, method, path, query=None, body=None):
        """A WeChat call: (status, parsed JSON or the raw body if it is not JSON)."""
        status, _, raw = self.request(method, path, query, body)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def ctl(self, path, obj=None, method="POST"):
        """A control call that must succeed; returns the response object."""
        status, _, raw = self.request(method, path, body=obj if method == "POST" else None)
        if status != 200:
            raise AssertionError(f"{method} {path} -> {status} {raw[:200]!r}")
        reply = json.loads(raw)
        for key in ("session_key", "code"):
            if isinstance(reply.get(key), str):
                self.secrets.add(reply[key])
        return reply

    def mint(self, **kw):
        return self.ctl("/_fake/code", kw)

    def login(self, code, **extra):
        query = {"appid": APPID, "secret": SECRET, "js_code": code,
                 "grant_type": "authorization_code", **extra}
        return self.wx("GET", "/sns/jscode2session", query)

    def stable_token(self, **kw):
        body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET,
                "force_refresh": False, **kw}
        reply = self.wx("POST", "/cgi-bin/stable_token", body=body)
        if isinstance(reply[1], dict) and "access_token" in reply[1]:
            self.secrets.add(reply[1]["access_token"])
        return reply

    def phone(self, code, token):
        query = {"access_token": token} if token is not None else {}
        return self.wx("POST", "/wxa/business/getuserphonenumber", query, {"code": code})

    def token_state(self, token):
        """errcode for this access_token: a probe with an unknown phone code says 40029
        when the token itself is fine (the token is checked first)."""
        _, obj = self.phone("not-a-phone-code", token)
        return obj.get("errcode") if isinstance(obj, dict) else obj

    def session_call(self, path, token, openid, signature, sig_method="hmac_sha256"):
        query = {"access_token": token, "signature": signature, "openid": openid,
                 "sig_method": sig_method}
        return self.wx("GET", path, query)

    def stats(self):
        return self.ctl("/_fake/stats", method="GET")


def signature(session_key):
    return hmac.new(session_key.encode(), b"", hashlib.sha256).hexdigest()


def openssl_decrypt(key_b64, iv_b64, data_b64):
    cmd = ["openssl", "enc", "-d", "-aes-128-cbc",
           "-K", base64.b64decode(key_b64).hex(), "-iv", base64.b64decode(iv_b64).hex()]
    res = subprocess.run(cmd, input=base64.b64decode(data_b64), capture_output=True, check=False)
    return res.stdout if res.returncode == 0 else None


def elapsed(fn, *args, **kw):
    start = time.monotonic()
    result = fn(*args, **kw)
    return time.monotonic() - start, result


# --------------------------------------------------------------------------- test groups

def test_crypto(t, c):
    t.eq("official vector: plaintext is 393 bytes", len(VEC_PLAINTEXT.encode()), 393)
    t.eq("official vector: our decrypt check matches the official plaintext",
         openssl_decrypt(VEC_KEY, VEC_IV, VEC_ENCRYPTED), VEC_PLAINTEXT.encode())
    r = c.ctl("/_fake/encrypt", {"session_key": VEC_KEY, "iv": VEC_IV, "plaintext": VEC_PLAINTEXT})
    t.eq("encrypt(plaintext) gives the official encryptedData", r["encrypted_data"], VEC_ENCRYPTED)
    t.eq("encrypt echoes the iv", r["iv"], VEC_IV)
    r = c.ctl("/_fake/encrypt", {"session_key": VEC_KEY, "iv": VEC_IV,
                                 "data": json.loads(VEC_PLAINTEXT)})
    t.eq("encrypt(data) serialises compactly like WeChat", r["encrypted_data"], VEC_ENCRYPTED)

    data = {"nickName": "微信用户", "watermark": {"appid": APPID, "timestamp": 1}}
    r = c.ctl("/_fake/encrypt", {"session_key": VEC_KEY, "data": data})
    t.eq("random iv is 16 bytes", len(base64.b64decode(r["iv"])), 16)
    dec = openssl_decrypt(VEC_KEY, r["iv"], r["encrypted_data"])
    t.eq("encrypt(data) with UTF-8 decrypts back", json.loads(dec or b"null"), data)
    r = c.ctl("/_fake/encrypt", {"session_key": VEC_KEY, "iv": VEC_IV,
                                 "plaintext_b64": base64.b64encode(b"\x00" * 15 + b"\x07").decode(),
                                 "no_padding": True})
    t.eq("no_padding gives one block", len(base64.b64decode(r["encrypted_data"])), 16)
    status, _, _ = c.request("POST", "/_fake/encrypt", body={"session_key": "c2hvcnQ=", "plaintext": "x"})
    t.eq("encrypt rejects a session_key that is not 16 bytes", status, 400)

    t.eq("official HMAC example (key = base64 text)",
         hmac.new(HMAC_KEY.encode(), HMAC_MSG, hashlib.sha256).hexdigest(), HMAC_HEX)


def test_login(t, c):
    c.ctl("/_fake/reset")
    m = c.mint()
    t.check("minted openid looks real", len(m["openid"]) == 28 and m["openid"][0] == "o", m["openid"])
    t.eq("minted session_key is 16 bytes", len(base64.b64decode(m["session_key"])), 16)
    t.eq("minted code has no unionid", m["unionid"], None)

    t.errcode("wrong appid -> 40013", c.login(m["code"], appid="wxwrong"), 40013)
    t.errcode("wrong secret -> 40125", c.login(m["code"], secret="wrong"), 40125)
    t.errcode("missing js_code -> 41008", c.login(""), 41008)
    t.errcode("access_token sent -> 40097", c.login(m["code"], access_token="leaked"), 40097)
    t.eq("access_token on jscode2session is counted", c.stats()["access_token_on_jscode2session"], 1)

    status, _, raw = c.request("GET", "/sns/jscode2session", {
        "appid": APPID, "secret": SECRET, "js_code": m["code"], "grant_type": "authorization_code"})
    t.eq("success status", status, 200)
    t.eq("success body is exactly {session_key, openid}", json.loads(raw),
         {"session_key": m["session_key"], "openid": m["openid"]})
    _, headers, _ = c.request("GET", "/sns/jscode2session", {"js_code": "x"})
    t.eq("JSON replies are text/plain", headers.get("Content-Type"), "text/plain")
    t.errcode("code reuse -> 40163", c.login(m["code"]), 40163)
    t.errcode("unknown code -> 40029", c.login("no-such-code"), 40029)
    t.eq("every jscode2session call is counted", c.stats()["jscode2session"], 8)

    m = c.mint(openid="oFixedOpenid", unionid="oUnion123")
    _, obj = c.login(m["code"])
    t.eq("unionid is returned", (obj.get("openid"), obj.get("unionid")), ("oFixedOpenid", "oUnion123"))
    m = c.mint(with_errcode0=True)
    _, obj = c.login(m["code"])
    t.check("with_errcode0 adds errcode 0 / ok",
            obj.get("errcode") == 0 and obj.get("errmsg") == "ok" and obj.get("session_key") == m["session_key"], obj)

    for errcode, errmsg in ((-1, "system error"), (40226, "high risk user"),
                            (45011, "api minute-quota reach limit")):
        m = c.mint(errcode=errcode)
        _, obj = c.login(m["code"])
        t.eq(f"minted errcode {errcode}", obj, {"errcode": errcode, "errmsg": errmsg})
        t.errcode(f"code with errcode {errcode} was consumed", c.login(m["code"]), 40163)

    m = c.mint(http_status=502)
    status, headers, raw = c.request("GET", "/sns/jscode2session", {
        "appid": APPID, "secret": SECRET, "js_code": m["code"], "grant_type": "authorization_code"})
    t.check("http_status 502 gives an HTML error page",
            status == 502 and headers.get("Content-Type") == "text/html" and b"502 Bad Gateway" in raw,
            f"{status} {headers.get('Content-Type')} {raw[:80]!r}")
    m = c.mint(garbage=True)
    status, obj = c.login(m["code"])
    t.check("garbage gives 200 with a non-JSON body", status == 200 and isinstance(obj, bytes), obj)
    m = c.mint(huge=True)
    status, _, raw = c.request("GET", "/sns/jscode2session", {
        "appid": APPID, "secret": SECRET, "js_code": m["code"], "grant_type": "authorization_code"})
    t.check("huge gives 200 with a 10 MB body", status == 200 and len(raw) >= 10 << 20, len(raw))

    m = c.mint(delay_ms=400)
    took, reply = elapsed(c.login, m["code"])
    t.check("delay_ms delays the reply", took >= 0.4 and reply[1].get("openid") == m["openid"], took)

    m = c.mint(delay_ms=2000)
    try:
        c.request("GET", "/sns/jscode2session", {"appid": APPID, "secret": SECRET, "js_code": m["code"],
                                                 "grant_type": "authorization_code"}, timeout=0.5)
        timed_out = False
    except (TimeoutError, socket.timeout, urllib.error.URLError):
        timed_out = True
    t.check("client times out on a delayed reply", timed_out)
    t.errcode("a code is consumed on arrival, even if the reply is lost", c.login(m["code"]), 40163)

    m = c.mint(expires_in=1)
    time.sleep(1.1)
    t.errcode("an expired code -> 40029", c.login(m["code"]), 40029)


def test_tokens(t, c):
    c.ctl("/_fake/reset")
    _, r1 = c.stable_token()
    tok1 = r1.get("access_token", "")
    t.check("stable_token gives a 100+ char token", len(tok1) >= 100, r1)
    t.eq("stable_token expires_in", r1.get("expires_in"), 7200)
    _, r2 = c.stable_token()
    t.eq("normal mode returns the current token", r2.get("access_token"), tok1)
    t.errcode("stable_token wrong appid -> 40013", c.stable_token(appid="wxwrong"), 40013)
    t.errcode("stable_token wrong secret -> 40001", c.stable_token(secret="wrong"), 40001)
    t.eq("valid token passes the token check", c.token_state(tok1), 40029)

    _, r3 = c.stable_token(force_refresh=True)
    tok3 = r3.get("access_token", "")
    t.check("force_refresh issues a new token", tok3 and tok3 != tok1 and r3.get("expires_in") == 7200, r3)
    t.eq("force_refresh invalidates the previous token", c.token_state(tok1), 40001)
    t.eq("after force_refresh normal mode returns the new token",
         c.stable_token()[1].get("access_token"), tok3)
    stats = c.stats()
    t.eq("stable_token calls counted", (stats["stable_token"], stats["stable_token_force"]), (6, 1))

    t.eq("unknown token -> 40001", c.token_state("bogus-token"), 40001)
    t.errcode("missing token -> 41001", c.phone("x", None), 41001)
    t.eq("expire_token expires the token", c.ctl("/_fake/expire_token")["expired"] >= 1, True)
    t.eq("expired token -> 42001", c.token_state(tok3), 42001)
    tok4 = c.stable_token()[1].get("access_token")
    t.check("after expiry normal mode issues a new token",
            tok4 != tok3 and c.token_state(tok4) == 40029, tok4)
    listed = {x["access_token"]: x for x in c.ctl("/_fake/tokens", method="GET")["tokens"]}
    t.check("tokens lists every access_token issued", {tok1, tok3, tok4} <= set(listed), len(listed))
    t.check("tokens tells revoked, expired and live apart",
            listed.get(tok1, {}).get("revoked") is True and listed.get(tok3, {}).get("expires_in", 1) <= 0
            and listed.get(tok4, {}).get("revoked") is False
            and listed.get(tok4, {}).get("expires_in", 0) > 7000
            and listed.get(tok4, {}).get("family") == "stable", [listed.get(x) for x in (tok3, tok4)])

    # Overlap: with a 4 s lifetime, normal mode renews in the last 2 s; both tokens then work.
    t.eq("config token_expires_in", c.ctl("/_fake/config", {"token_expires_in": 4})["token_expires_in"], 4)
    c.ctl("/_fake/expire_token")
    _, r5 = c.stable_token()
    tok5 = r5.get("access_token")
    t.eq("configured expiry is reported", r5.get("expires_in"), 4)
    time.sleep(2.3)
    tok6 = c.stable_token()[1].get("access_token")
    t.check("normal mode renews near expiry", tok6 != tok5)
    t.eq("old token still valid during the overlap", c.token_state(tok5), 40029)
    t.eq("new token valid", c.token_state(tok6), 40029)
    time.sleep(2.0)
    t.eq("old token expires at its own time", c.token_state(tok5), 42001)
    t.eq("new token outlives it", c.token_state(tok6), 40029)
    c.ctl("/_fake/reset")

    # The old GET /cgi-bin/token: every call kills the previous token.
    query = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    _, g1 = c.wx("GET", "/cgi-bin/token", query)
    _, g2 = c.wx("GET", "/cgi-bin/token", query)
    c.secrets.update({g1.get("access_token"), g2.get("access_token")})
    t.check("cgi-bin/token issues a new token each call",
            len(g2.get("access_token", "")) >= 100 and g1.get("access_token") != g2.get("access_token"), g2)
    t.eq("cgi-bin/token invalidates the previous token at once", c.token_state(g1["access_token"]), 40001)
    t.eq("cgi-bin/token latest token valid", c.token_state(g2["access_token"]), 40029)
    t.errcode("cgi-bin/token wrong secret -> 40001",
              c.wx("GET", "/cgi-bin/token", {**query, "secret": "wrong"}), 40001)
    t.eq("cgi-bin/token calls counted", c.stats()["token_get"], 3)
    t.eq("stable tokens are unaffected by cgi-bin/token", c.token_state(tok6), 40029)


def test_phone(t, c):
    c.ctl("/_fake/reset")
    token = c.stable_token()[1]["access_token"]
    p = c.ctl("/_fake/phone_code", {})
    t.eq("phone code defaults", (p["phone_number"], p["pure_phone_number"], p["country_code"]),
         ("+8613800138000", "13800138000", "86"))
    status, obj = c.phone(p["code"], token)
    info = obj.get("phone_info", {})
    t.check("getuserphonenumber success",
            status == 200 and obj.get("errcode") == 0 and obj.get("errmsg") == "ok", obj)
    t.eq("phone_info fields", (info.get("phoneNumber"), info.get("purePhoneNumber"), info.get("countryCode")),
         ("+8613800138000", "13800138000", "86"))
    wm = info.get("watermark", {})
    t.check("watermark has our appid and an int timestamp",
            wm.get("appid") == APPID and isinstance(wm.get("timestamp"), int)
            and abs(wm["timestamp"] - time.time()) < 60, wm)
    t.errcode("phone code reuse -> 40163", c.phone(p["code"], token), 40163)
    t.errcode("unknown phone code -> 40029", c.phone("nope", token), 40029)
    c.ctl("/_fake/expire_token")
    p = c.ctl("/_fake/phone_code", {})
    t.errcode("expired token -> 42001", c.phone(p["code"], token), 42001)
    token = c.stable_token()[1]["access_token"]
    t.eq("a token error does not consume the phone code", c.phone(p["code"], token)[1].get("errcode"), 0)

    p = c.ctl("/_fake/phone_code", {"country_code_as_number": True})
    t.eq("countryCode as a JSON number", c.phone(p["code"], token)[1]["phone_info"]["countryCode"], 86)
    p = c.ctl("/_fake/phone_code", {"pure_phone_number": "2025550123", "country_code": "1"})
    t.eq("phone number derived from pure + country", p["phone_number"], "+12025550123")
    p = c.ctl("/_fake/phone_code", {"phone_number": "+447700900123", "country_code": "44"})
    t.eq("pure number derived from phone + country", p["pure_phone_number"], "7700900123")
    p = c.ctl("/_fake/phone_code", {"errcode": -1})
    t.eq("phone code errcode", c.phone(p["code"], token)[1], {"errcode": -1, "errmsg": "system error"})
    t.errcode("phone code with errcode was consumed", c.phone(p["code"], token), 40163)
    p = c.ctl("/_fake/phone_code", {"delay_ms": 300})
    took, reply = elapsed(c.phone, p["code"], token)
    t.check("phone code delay_ms", took >= 0.3 and reply[1].get("errcode") == 0, took)
    t.eq("getuserphonenumber calls counted", c.stats()["getuserphonenumber"], 9)


def test_session(t, c):
    c.ctl("/_fake/reset")
    token = c.stable_token()[1]["access_token"]
    m1 = c.mint()
    openid = m1["openid"]
    t.errcode("checksession good signature -> 0",
              c.session_call("/wxa/checksession", token, openid, signature(m1["session_key"])), 0)
    t.errcode("checksession wrong signature -> 87009",
              c.session_call("/wxa/checksession", token, openid, signature("other")), 87009)
    t.errcode("checksession uppercase hex -> 87009",
              c.session_call("/wxa/checksession", token, openid, signature(m1["session_key"]).upper()), 87009)
    t.errcode("checksession signature over decoded key bytes -> 87009",
              c.session_call("/wxa/checksession", token, openid,
                             hmac.new(base64.b64decode(m1["session_key"]), b"", hashlib.sha256).hexdigest()),
              87009)
    t.errcode("checksession bad token -> 40001",
              c.session_call("/wxa/checksession", "bogus", openid, signature(m1["session_key"])), 40001)

    m2 = c.mint(openid=openid)
    t.errcode("a newer code rotates the session_key (old -> 87009)",
              c.session_call("/wxa/checksession", token, openid, signature(m1["session_key"])), 87009)
    t.errcode("the newer session_key is valid",
              c.session_call("/wxa/checksession", token, openid, signature(m2["session_key"])), 0)
    c.login(m1["code"])
    t.errcode("using an older code makes its session_key current",
              c.session_call("/wxa/checksession", token, openid, signature(m1["session_key"])), 0)
    c.ctl("/_fake/session_key", {"openid": openid, "session_key": "c2V0IGJ5IGNvbnRyb2wgQVBJ"})
    t.errcode("session_key set via control API is current",
              c.session_call("/wxa/checksession", token, openid, signature("c2V0IGJ5IGNvbnRyb2wgQVBJ")), 0)
    t.eq("checksession calls counted", c.stats()["checksession"], 9)

    _, obj = c.session_call("/wxa/resetusersessionkey", token, openid, signature("c2V0IGJ5IGNvbnRyb2wgQVBJ"))
    new_key = obj.get("session_key", "")
    c.secrets.add(new_key)
    t.check("resetusersessionkey issues a new session_key",
            obj.get("errcode") == 0 and obj.get("openid") == openid and len(base64.b64decode(new_key)) == 16, obj)
    t.errcode("after reset the old key -> 87009",
              c.session_call("/wxa/checksession", token, openid, signature("c2V0IGJ5IGNvbnRyb2wgQVBJ")), 87009)
    t.errcode("after reset the new key is valid",
              c.session_call("/wxa/checksession", token, openid, signature(new_key)), 0)
    t.errcode("resetusersessionkey checks the signature",
              c.session_call("/wxa/resetusersessionkey", token, openid, signature("wrong")), 87009)


def test_misc(t, c, ca_file, other_ca_file, port):
    status, headers, raw = c.request("GET", "/no/such/path")
    t.check("unknown path -> 404 HTML", status == 404 and headers.get("Content-Type") == "text/html"
            and raw.startswith(b"<html>"), status)
    t.eq("wrong method on a WeChat path -> 404", c.request("GET", "/cgi-bin/stable_token")[0], 404)
    t.eq("control: unknown endpoint -> 404", c.request("GET", "/_fake/nope")[0], 404)
    t.eq("control: wrong method -> 405", c.request("GET", "/_fake/code")[0], 405)
    t.eq("control: unknown field -> 400", c.request("POST", "/_fake/code", body={"delay": 1})[0], 400)
    t.eq("control: non-JSON body -> 400", c.request("POST", "/_fake/code", body=b"{nope")[0], 400)
    _, headers, _ = c.request("GET", "/_fake/stats")
    t.eq("control replies are application/json", headers.get("Content-Type"), "application/json")

    cfg = c.ctl("/_fake/config", {"latency_ms": 300})
    t.eq("config returns the current config", cfg,
         {"latency_ms": 300, "token_expires_in": 7200, "fail_all": None, "auto_code_prefix": None})
    took, _ = elapsed(c.login, "no-such-code")
    t.check("latency_ms delays WeChat endpoints", took >= 0.3, took)
    c.ctl("/_fake/config", {"latency_ms": 0, "fail_all": -1})
    m = c.mint()
    t.errcode("fail_all on jscode2session", c.login(m["code"]), -1)
    t.errcode("fail_all on stable_token", c.stable_token(), -1)
    t.eq("fail_all does not consume codes", c.ctl("/_fake/config", {"fail_all": None})["fail_all"], None)
    t.check("... the code still works", c.login(m["code"])[1].get("openid") == m["openid"])
    c.ctl("/_fake/config", {"latency_ms": 50, "fail_all": 45011})
    c.ctl("/_fake/reset")
    t.eq("reset restores the config", c.ctl("/_fake/config", method="GET"),
         {"latency_ms": 0, "token_expires_in": 7200, "fail_all": None, "auto_code_prefix": None})
    st = c.stats()
    # urllib connects anew for each call: the config call above and this one.
    t.check("reset zeroes the stats (but the handshakes of the two calls since)",
            not any(v for k, v in st.items() if not k.startswith("tls_"))
            and st["tls_handshakes"] == 2 and st["tls_resumed"] == 0, st)

    # TLS session resumption: a second connection offering the first one's
    # session resumes it, and the stats count it.
    st0 = c.stats()
    seen = harness.tls_resumption(port, ca_file, "/_fake/stats")
    st1 = c.stats()
    t.eq("a connection offering an earlier session resumes it", seen, (False, True))
    t.eq("resumed handshakes are counted", (st1["tls_handshakes"] - st0["tls_handshakes"],
                                            st1["tls_resumed"] - st0["tls_resumed"]), (3, 1))

    # Keep-alive: two requests over one connection, each reply with Content-Length.
    ctx = ssl.create_default_context(cafile=ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    conn.request("GET", "/_fake/stats")
    r = conn.getresponse()
    r.read()
    first_sock = conn.sock
    conn.request("POST", "/_fake/code", body=b"{}", headers={"Content-Type": "application/json"})
    r2 = conn.getresponse()
    r2.read()
    t.check("keep-alive: second request on the same connection",
            r.status == r2.status == 200 and conn.sock is first_sock and first_sock is not None
            and r.getheader("Content-Length") and r.version == 11)
    # How a code's exchange came: a new connection (urllib's) or this kept one.
    m_new, m_kept = c.mint(), json.loads(r2.read() or b"{}") or c.mint()
    c.login(m_new["code"])
    conn.request("GET", "/sns/jscode2session?" + urllib.parse.urlencode({
        "appid": APPID, "secret": SECRET, "js_code": m_kept["code"],
        "grant_type": "authorization_code"}))
    r4 = conn.getresponse()
    t.check("... a code exchanged on the kept connection", "openid" in json.loads(r4.read()))
    t.eq("code_tls: an exchange on a new connection, a full handshake",
         c.ctl("/_fake/code_tls", {"code": m_new["code"]}), {"connection": "new", "resumed": False})
    t.eq("code_tls: an exchange on a kept connection",
         c.ctl("/_fake/code_tls", {"code": m_kept["code"]}), {"connection": "kept", "resumed": False})
    t.eq("code_tls: a code never exchanged",
         c.ctl("/_fake/code_tls", {"code": "never"}), {"connection": None, "resumed": None})
    # Chunked request bodies are understood too.
    conn.request("POST", "/_fake/encrypt", body=iter([b'{"session_key":"', VEC_KEY.encode(),
                                                      b'","iv":"', VEC_IV.encode(), b'","plaintext":"x"}']),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    r3 = conn.getresponse()
    t.check("chunked request body", r3.status == 200 and "encrypted_data" in json.loads(r3.read()))
    conn.close()

    # TLS: the name localhost verifies too; a client trusting another CA refuses us.
    status, _, _ = Client(f"https://localhost:{port}", ctx).request("GET", "/_fake/stats")
    t.eq("certificate valid for localhost", status, 200)
    wrong = ssl.create_default_context(cafile=other_ca_file)
    try:
        Client(f"https://127.0.0.1:{port}", wrong).request("GET", "/_fake/stats")
        refused = False
    except urllib.error.URLError as err:
        refused = isinstance(err.reason, ssl.SSLCertVerificationError)
    t.check("a client trusting another CA refuses the server", refused)
    if shutil.which("curl"):
        url = f"https://127.0.0.1:{port}/_fake/stats"
        ok = subprocess.run(["curl", "-sS", "-o", os.devnull, "--cacert", ca_file, url],
                            capture_output=True, check=False)
        t.eq("curl --cacert ca.pem verifies", ok.returncode, 0)
        bad = subprocess.run(["curl", "-sS", "-o", os.devnull, "--cacert", other_ca_file, url],
                             capture_output=True, check=False)
        t.eq("curl --cacert other-ca.pem fails verification (60)", bad.returncode, 60)


def test_faults(t, c):
    """Per-endpoint faults (/_fake/faults) and the hang mode."""
    t.eq("faults: none at first", c.ctl("/_fake/faults", method="GET"), {})
    t.eq("faults: unknown endpoint -> 400",
         c.request("POST", "/_fake/faults", body={"nope": {}})[0], 400)
    t.eq("faults: unknown field -> 400",
         c.request("POST", "/_fake/faults", body={"stable_token": {"slow": 1}})[0], 400)
    got = c.ctl("/_fake/faults", {"stable_token": {"http_status": 502},
                                  "checksession": {"garbage": True}})
    t.eq("faults: set", got, {"stable_token": {"http_status": 502},
                              "checksession": {"garbage": True}})
    status, body = c.stable_token()
    t.check("faults: stable_token answers HTML 502", status == 502 and isinstance(body, bytes)
            and body.startswith(b"<html>"), status)
    c.ctl("/_fake/faults", {"stable_token": {"huge": True}})
    status, body = c.stable_token()
    t.check("faults: a huge stable_token reply is valid JSON of 10 MB",
            status == 200 and isinstance(body, dict) and len(body.get("padding", "")) >= 10 << 20)
    t.eq("faults: {} clears them", c.ctl("/_fake/faults", {}), {})
    t.check("faults: stable_token healthy again", "access_token" in c.stable_token()[1])
    c.ctl("/_fake/faults", {"jscode2session": {"errcode": -1}})
    c.ctl("/_fake/reset")
    t.eq("faults: reset clears them", c.ctl("/_fake/faults", method="GET"), {})
    # hang: the request is read and never answered; the code is consumed.
    m = c.mint(hang=True)
    query = urllib.parse.urlencode({"appid": APPID, "secret": SECRET, "js_code": m["code"],
                                    "grant_type": "authorization_code"})
    t0 = time.monotonic()
    try:
        c.request("GET", "/sns/jscode2session?" + query, timeout=1.0)
        hung = False
    except (TimeoutError, OSError):
        hung = True
    t.check("hang: no answer within the client's timeout", hung and time.monotonic() - t0 < 3)
    t.errcode("hang: the code was consumed", c.login(m["code"]), 40163)


# --------------------------------------------------------------------------- driver

def start_fakewx(tmp, name, tls_args):
    port_file = os.path.join(tmp, name + ".port")
    log_path = os.path.join(tmp, name + ".log")
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, FAKEWX, "--host", "127.0.0.1", "--port", "0",
                             "--appid", APPID, "--secret", SECRET, "--port-file", port_file]
                            + tls_args, stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    deadline = time.monotonic() + 15
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("fakewx did not start:\n" + open(log_path, encoding="utf-8").read())
        time.sleep(0.05)
    with open(port_file, encoding="ascii") as f:
        return proc, int(f.read()), port_file, log_path


def stop_fakewx(t, proc, port_file, label):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "hung"
    t.eq(f"{label}: exits 0 on SIGTERM", rc, 0)
    t.check(f"{label}: port file removed on exit", not os.path.exists(port_file))


def main():
    t = Checker()
    tmp = tempfile.mkdtemp(prefix="fakewx-selftest-")
    try:
        certs = os.path.join(tmp, "certs")
        res = subprocess.run(["sh", MKCERTS, certs], capture_output=True, check=False)
        t.check("mkcerts.sh succeeds quietly", res.returncode == 0 and not res.stdout and not res.stderr,
                res.stderr.decode(errors="replace"))
        with open(os.path.join(certs, "server.pem"), "rb") as f:
            first = f.read()
        res = subprocess.run(["sh", MKCERTS, certs], capture_output=True, check=False)
        with open(os.path.join(certs, "server.pem"), "rb") as f:
            t.check("mkcerts.sh is idempotent", res.returncode == 0 and f.read() == first)
        ca_file = os.path.join(certs, "ca.pem")
        other_ca_file = os.path.join(certs, "other-ca.pem")

        proc, port, port_file, log_path = start_fakewx(
            tmp, "tls", ["--tls-cert", os.path.join(certs, "server.pem"),
                         "--tls-key", os.path.join(certs, "server.key")])
        c = Client(f"https://127.0.0.1:{port}", ssl.create_default_context(cafile=ca_file))
        try:
            for group in (test_crypto, test_login, test_tokens, test_phone, test_session,
                          test_faults):
                try:
                    group(t, c)
                except Exception as err:  # a crash in one group must not hide the others
                    t.check(f"{group.__name__} ran to the end", False, repr(err))
            try:
                test_misc(t, c, ca_file, other_ca_file, port)
            except Exception as err:
                t.check("test_misc ran to the end", False, repr(err))
        finally:
            stop_fakewx(t, proc, port_file, "TLS server")

        with open(log_path, encoding="utf-8") as f:
            log = f.read()
        t.check("log announces the listening URL", f"fakewx listening on https://127.0.0.1:{port}\n" in log,
                log[:200])
        t.check("log has one line per request", log.count(" GET /_fake/stats 200") >= 5)
        leaked = [s for s in c.secrets if s and s in log]
        t.check("log holds no secret, token, code or session_key", not leaked, f"{len(leaked)} leaked")

        proc, port, port_file, _ = start_fakewx(tmp, "plain", [])
        status, _, _ = Client(f"http://127.0.0.1:{port}", None).request("GET", "/_fake/stats")
        t.eq("plain HTTP mode serves", status, 200)
        stop_fakewx(t, proc, port_file, "HTTP server")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"fakewx selftest: {t.passed} passed, {t.failed} failed")
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
