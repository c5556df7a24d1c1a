#!/usr/bin/python3
"""fakewx: a fake WeChat server API for wxauth's tests and dev mode.

It answers the WeChat endpoints wxauth calls the way api.weixin.qq.com does (same paths,
parameters, error codes, single-use codes, access_token life cycle, text/plain JSON replies),
and adds a control API under /_fake/ that tests use to mint login and phone codes, encrypt
open data, inject faults and read call counters (TLS handshakes and resumptions among them;
POST /_fake/code_tls {"code": C} says whether login code C was exchanged on a new connection or
a kept one, and whether that connection's handshake resumed a TLS session).

Faults: a code minted with /_fake/code or /_fake/phone_code may carry delay_ms, errcode
(+ errmsg), http_status (an HTML page with that status; 200 works too), garbage (truncated
JSON), huge (a 10 MB reply) or hang (read the request, never answer, hold the connection
until the client gives up); they apply when that code is used.  The same fields given per
endpoint to POST /_fake/faults ({"stable_token": {"hang": true}, "checksession": {...}};
{} clears; GET shows them; /_fake/reset clears them) apply to every call of that endpoint
(jscode2session, stable_token, token_get, getuserphonenumber, checksession,
resetusersessionkey) after it has done its normal work.  /_fake/config sets latency_ms (every
WeChat endpoint), fail_all (every endpoint answers that errcode) and auto_code_prefix, for
benchmarks that cannot mint a code per request: a login or phone code that starts with it and
was never minted is minted on arrival (then used, so still single-use); the login code's last
"-"-separated part names the user (the same part, the same openid).

Usage:
  fakewx.py --host 127.0.0.1 --port N [--tls-cert F --tls-key F]
            --appid APPID --secret SECRET [--port-file F]

Python standard library only; AES-128-CBC is done by the openssl command-line tool.
The state lives in memory and is lost when the process exits.
"""

import argparse
import base64
import hashlib
import hmac
import http
import json
import os
import secrets
import select
import signal
import socket
import socketserver
import ssl
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CODE_TTL = 300                 # wx.login and phone codes are valid for 5 minutes
TOKEN_LIFETIME = 7200          # default access_token lifetime, seconds
RENEW_MARGIN = 300             # stable_token renews this early; old and new tokens overlap
MAX_REQUEST_BODY = 1 << 20     # we refuse larger request bodies with 413
HUGE_REPLY_SIZE = 10 << 20     # size of the "huge" fault reply
IDLE_TIMEOUT = 120             # seconds a connection may sit idle (keep-alive, TLS handshake)
MAX_DELAY_MS = 600_000

# errmsg texts for the errcodes we produce (WeChat's own wording where known).
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40097: "invalid args",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high risk user",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41009: "missing openid",
    42001: "access_token expired",
    45011: "api minute-quota reach limit",
    47001: "data format error",
    87009: "invalid signature",
}

STAT_KEYS = ("jscode2session", "stable_token", "stable_token_force", "token_get",
             "getuserphonenumber", "checksession", "resetusersessionkey",
             "access_token_on_jscode2session", "tls_handshakes", "tls_resumed")

DEFAULT_CONFIG = {"latency_ms": 0, "token_expires_in": TOKEN_LIFETIME, "fail_all": None,
                  "auto_code_prefix": None}

URLSAFE = string.ascii_letters + string.digits + "-_"
ALNUM = string.ascii_letters + string.digits


# --------------------------------------------------------------------------- helpers

_log_lock = threading.Lock()


def log(msg):
    """One line to stderr. Callers never pass secrets (no query strings, no bodies)."""
    line = time.strftime("%Y-%m-%dT%H:%M:%S") + " fakewx: " + msg + "\n"
    with _log_lock:
        sys.stderr.write(line)
        sys.stderr.flush()


def rand_str(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def new_openid():
    return "o" + rand_str(URLSAFE, 27)          # 28 characters, like real openids


def new_session_key():
    return base64.b64encode(secrets.token_bytes(16)).decode()


def new_login_code():
    return rand_str(ALNUM, 32)


def new_phone_code():
    return secrets.token_hex(32)


def new_access_token():
    return "fake_" + rand_str(URLSAFE, 131)     # 136 characters, like real tokens


def dumps(obj):
    """Compact UTF-8 JSON, as WeChat sends it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_json_object(body):
    """The request body as a dict, or None if it is not a JSON object."""
    try:
        obj = json.loads(body)
    except ValueError:               # includes UnicodeDecodeError
        return None
    return obj if isinstance(obj, dict) else None


def html_page(status):
    """An nginx-style error page, what WeChat's front end sends on HTTP errors."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title = f"{status} {phrase}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            f"</body>\r\n</html>\r\n").encode()


def aes_128_cbc_encrypt(key, iv, plaintext, pad=True):
    """AES-128-CBC with the openssl CLI; PKCS#7 padding unless pad is False."""
    cmd = ["openssl", "enc", "-aes-128-cbc", "-K", key.hex(), "-iv", iv.hex()]
    if not pad:
        cmd.append("-nopad")
    res = subprocess.run(cmd, input=plaintext, capture_output=True, check=False)
    if res.returncode != 0:
        raise RuntimeError("openssl enc failed: " + res.stderr.decode(errors="replace").strip())
    return res.stdout


# --------------------------------------------------------------------------- replies

@dataclass
class Reply:
    """What a WeChat endpoint answers, and how long to wait before answering."""
    status: int
    content_type: str
    body: bytes
    delay: float = 0.0
    hang: bool = False       # never answer: hold the connection until the client leaves


def wx_json(obj, delay=0.0):
    # WeChat sends its JSON as text/plain; clients must parse it regardless.
    return Reply(200, "text/plain", dumps(obj), delay)


def wx_error(errcode, errmsg=None, delay=0.0):
    return wx_json({"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")}, delay)


@dataclass
class Fault:
    """Misbehaviour a test asked for when minting a code; applies when the code is used."""
    delay_ms: int = 0
    errcode: int | None = None     # answer {"errcode","errmsg"} instead of success
    errmsg: str | None = None
    http_status: int | None = None  # answer this HTTP status with an HTML page
    garbage: bool = False          # answer 200 with a body that is not JSON
    huge: bool = False             # answer 200 with a 10 MB (valid JSON) body
    hang: bool = False             # read the request, never answer

    def reply(self, success):
        """The reply for a code carrying this fault; `success` is the normal answer."""
        delay = self.delay_ms / 1000
        if self.hang:
            return Reply(200, "text/plain", b"", delay, hang=True)
        if self.http_status is not None:
            return Reply(self.http_status, "text/html", html_page(self.http_status), delay)
        if self.garbage:
            # The first half of the real answer: truncated JSON a lenient parser might accept.
            good = dumps(success)
            return Reply(200, "text/plain", good[: len(good) // 2], delay)
        if self.huge:
            # Valid JSON, so only a size limit on the client side catches it.
            return Reply(200, "text/plain", dumps({**success, "padding": "x" * HUGE_REPLY_SIZE}), delay)
        if self.errcode is not None:
            return wx_error(self.errcode, self.errmsg, delay)
        return wx_json(success, delay)


@dataclass
class LoginCode:
    openid: str
    session_key: str
    unionid: str | None
    expires_at: float
    fault: Fault
    with_errcode0: bool = False
    used: bool = False


@dataclass
class PhoneCode:
    phone_number: str
    pure_phone_number: str
    country_code: str
    country_code_as_number: bool
    expires_at: float
    fault: Fault
    used: bool = False


@dataclass
class Token:
    value: str
    family: str            # "stable" (/cgi-bin/stable_token) or "classic" (/cgi-bin/token)
    expires_at: float
    revoked: bool = False  # replaced by a newer token that invalidated it


class BadRequest(Exception):
    """A malformed control API request (answered 400)."""


# --------------------------------------------------------------------------- control API argument checks

def check_keys(req, allowed):
    unknown = sorted(set(req) - set(allowed))
    if unknown:
        raise BadRequest("unknown field(s): " + ", ".join(unknown))


def opt_int(req, key, lo=None, hi=None):
    val = req.get(key)
    if val is None:
        return None
    if isinstance(val, bool) or not isinstance(val, int):
        raise BadRequest(f"{key} must be an integer")
    if (lo is not None and val < lo) or (hi is not None and val > hi):
        raise BadRequest(f"{key} out of range")
    return val


def opt_str(req, key):
    val = req.get(key)
    if val is not None and not isinstance(val, str):
        raise BadRequest(f"{key} must be a string")
    return val


def opt_bool(req, key):
    val = req.get(key, False)
    if not isinstance(val, bool):
        raise BadRequest(f"{key} must be a boolean")
    return val


def b64_16(req, key):
    """A base64 field that must decode to exactly 16 bytes (AES key or IV)."""
    val = opt_str(req, key)
    try:
        raw = base64.b64decode(val or "", validate=True)
    except ValueError:
        raise BadRequest(f"{key} is not valid base64") from None
    if len(raw) != 16:
        raise BadRequest(f"{key} must decode to 16 bytes")
    return raw


FAULT_FIELDS = ("delay_ms", "errcode", "errmsg", "http_status", "garbage", "huge", "hang")


def parse_fault(req):
    return Fault(delay_ms=opt_int(req, "delay_ms", 0, MAX_DELAY_MS) or 0,
                 errcode=opt_int(req, "errcode"),
                 errmsg=opt_str(req, "errmsg"),
                 http_status=opt_int(req, "http_status", 200, 599),
                 garbage=opt_bool(req, "garbage"),
                 huge=opt_bool(req, "huge"),
                 hang=opt_bool(req, "hang"))


# --------------------------------------------------------------------------- the fake platform

class FakeWeChat:
    """All platform state and behaviour; HTTP plumbing is in Handler.

    WeChat endpoint methods take (query: dict, body: bytes) and return a Reply.
    Control methods take the request JSON object and return the response object.
    """

    def __init__(self, appid, secret):
        self.appid = appid
        self.secret = secret
        self.lock = threading.Lock()
        self.login_codes = {}       # code -> LoginCode
        self.code_tls = {}          # login code -> the connection its exchange came on
        self.phone_codes = {}       # code -> PhoneCode
        self.session_keys = {}      # openid -> current session_key (WeChat keeps one per user)
        self.tokens = {}            # access_token -> Token (kept forever, to tell expired from unknown)
        self.current = {"stable": None, "classic": None}  # newest Token of each family
        self.stats = {}
        self.config = {}
        self.endpoint_faults = {}   # endpoint name -> Fault, for every call (/_fake/faults)
        self.reset()

    def reset(self):
        with self.lock:
            self.stats = dict.fromkeys(STAT_KEYS, 0)
            self.config = dict(DEFAULT_CONFIG)
            self.endpoint_faults = {}

    def endpoint_fault(self, name):
        with self.lock:
            return self.endpoint_faults.get(name)

    def latency(self):
        with self.lock:
            return self.config["latency_ms"] / 1000

    # ---- shared checks (callers hold self.lock)

    def _check_app(self, appid, secret, wrong_secret):
        """errcode for bad app credentials, or None."""
        if not appid:
            return 41002
        if appid != self.appid:
            return 40013
        if not secret:
            return 41004
        if secret != self.secret:
            return wrong_secret
        return None

    def _check_token(self, value):
        """errcode for an unusable access_token, or None."""
        if not value:
            return 41001
        token = self.tokens.get(value)
        if token is None or token.revoked:
            return 40001
        if token.expires_at <= time.time():
            return 42001
        return None

    def _issue_token(self, family, now):
        token = Token(new_access_token(), family, now + self.config["token_expires_in"])
        self.tokens[token.value] = token
        self.current[family] = token
        return token

    def _signature_ok(self, openid, signature):
        """checksession signature: hex HMAC-SHA256 keyed with the session_key's base64 text."""
        session_key = self.session_keys.get(openid)
        if session_key is None:
            return False
        expected = hmac.new(session_key.encode(), b"", hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode())

    # ---- WeChat endpoints

    def _auto(self, value):
        """Is value a code to mint on arrival (config auto_code_prefix)?"""
        prefix = self.config["auto_code_prefix"]
        return bool(prefix) and value.startswith(prefix)

    def jscode2session(self, q, _body):
        with self.lock:
            self.stats["jscode2session"] += 1
            if "access_token" in q:
                # code2Session takes no access_token: sending one leaks it. Count it as a violation.
                self.stats["access_token_on_jscode2session"] += 1
                return wx_error(40097)
            if self.config["fail_all"] is not None:
                return wx_error(self.config["fail_all"])
            err = self._check_app(q.get("appid"), q.get("secret"), wrong_secret=40125)
            if err:
                return wx_error(err)
            if q.get("grant_type") != "authorization_code":
                return wx_error(40002)
            js_code = q.get("js_code")
            if not js_code:
                return wx_error(41008)
            code = self.login_codes.get(js_code)
            if code is None and self._auto(js_code):
                openid = "o" + hashlib.sha256(js_code.rsplit("-", 1)[-1].encode()) \
                    .hexdigest()[:27]
                code = LoginCode(openid=openid, session_key=new_session_key(), unionid=None,
                                 expires_at=time.time() + CODE_TTL, fault=Fault())
                self.login_codes[js_code] = code
            if code is None or code.expires_at <= time.time():
                return wx_error(40029)
            if code.used:
                return wx_error(40163)
            # Consumed on arrival, whatever then happens to the reply (delay, error, lost).
            code.used = True
            success = {"session_key": code.session_key, "openid": code.openid}
            if code.unionid is not None:
                success["unionid"] = code.unionid
            if code.with_errcode0:
                success.update(errcode=0, errmsg="ok")
            fault = code.fault
            if fault.errcode is None and fault.http_status is None and not fault.garbage \
                    and not fault.hang:
                # A successful login makes this code's session_key the user's current one.
                self.session_keys[code.openid] = code.session_key
            return fault.reply(success)

    def stable_token(self, _q, body):
        with self.lock:
            self.stats["stable_token"] += 1
            req = parse_json_object(body)
            if req is None:
                return wx_error(47001)
            force = req.get("force_refresh", False)
            if not isinstance(force, bool):
                return wx_error(40097)
            if force:
                self.stats["stable_token_force"] += 1
            if self.config["fail_all"] is not None:
                return wx_error(self.config["fail_all"])
            if req.get("grant_type") != "client_credential":
                return wx_error(40002)
            err = self._check_app(req.get("appid"), req.get("secret"), wrong_secret=40001)
            if err:
                return wx_error(err)
            now = time.time()
            cur = self.current["stable"]
            # Normal mode renews RENEW_MARGIN seconds before expiry (scaled down for the short
            # lifetimes tests configure); the replaced token lives on until its own expiry, so
            # old and new overlap. Force mode invalidates the previous token at once.
            margin = min(RENEW_MARGIN, self.config["token_expires_in"] // 2)
            if not force and cur is not None and not cur.revoked and cur.expires_at - now > margin:
                token = cur
            else:
                if force and cur is not None:
                    cur.revoked = True
                token = self._issue_token("stable", now)
            return wx_json({"access_token": token.value,
                            "expires_in": max(1, int(token.expires_at - now))})

    def token_get(self, q, _body):
        """The old GET /cgi-bin/token: every call issues a new token and kills the previous one."""
        with self.lock:
            self.stats["token_get"] += 1
            if self.config["fail_all"] is not None:
                return wx_error(self.config["fail_all"])
            if q.get("grant_type") != "client_credential":
                return wx_error(40002)
            err = self._check_app(q.get("appid"), q.get("secret"), wrong_secret=40001)
            if err:
                return wx_error(err)
            if self.current["classic"] is not None:
                self.current["classic"].revoked = True
            token = self._issue_token("classic", time.time())
            return wx_json({"access_token": token.value,
                            "expires_in": self.config["token_expires_in"]})

    def getuserphonenumber(self, q, body):
        with self.lock:
            self.stats["getuserphonenumber"] += 1
            if self.config["fail_all"] is not None:
                return wx_error(self.config["fail_all"])
            err = self._check_token(q.get("access_token"))
            if err:
                return wx_error(err)
            req = parse_json_object(body)
            if req is None:
                return wx_error(47001)
            value = req.get("code")
            if not isinstance(value, str) or not value:
                return wx_error(41008)
            code = self.phone_codes.get(value)
            if code is None and self._auto(value):
                code = PhoneCode(phone_number="+86 13800138000", pure_phone_number="13800138000",
                                 country_code="86", country_code_as_number=False,
                                 expires_at=time.time() + CODE_TTL, fault=Fault())
                self.phone_codes[value] = code
            if code is None or code.expires_at <= time.time():
                return wx_error(40029)
            if code.used:
                return wx_error(40163)
            code.used = True
            country = int(code.country_code) if code.country_code_as_number else code.country_code
            success = {"errcode": 0, "errmsg": "ok", "phone_info": {
                "phoneNumber": code.phone_number,
                "purePhoneNumber": code.pure_phone_number,
                "countryCode": country,
                "watermark": {"timestamp": int(time.time()), "appid": self.appid}}}
            return code.fault.reply(success)

    def _session_call(self, stat, q):
        """Common part of checksession and resetusersessionkey: errcode or None."""
        self.stats[stat] += 1
        if self.config["fail_all"] is not None:
            return self.config["fail_all"]
        err = self._check_token(q.get("access_token"))
        if err:
            return err
        if not q.get("openid"):
            return 41009
        if q.get("sig_method") != "hmac_sha256":
            return 40097
        if not self._signature_ok(q["openid"], q.get("signature", "")):
            return 87009
        return None

    def checksession(self, q, _body):
        with self.lock:
            err = self._session_call("checksession", q)
            return wx_error(err) if err else wx_json({"errcode": 0, "errmsg": "ok"})

    def resetusersessionkey(self, q, _body):
        with self.lock:
            err = self._session_call("resetusersessionkey", q)
            if err:
                return wx_error(err)
            session_key = new_session_key()
            self.session_keys[q["openid"]] = session_key
            return wx_json({"errcode": 0, "errmsg": "ok",
                            "session_key": session_key, "openid": q["openid"]})

    # ---- control API (/_fake/...)

    def ctl_code(self, req):
        """Mint a wx.login code; it also becomes the user's current session_key."""
        check_keys(req, ("openid", "session_key", "unionid", "with_errcode0", "expires_in")
                   + FAULT_FIELDS)
        openid = opt_str(req, "openid") or new_openid()
        session_key = opt_str(req, "session_key") or new_session_key()
        code = LoginCode(openid=openid, session_key=session_key,
                         unionid=opt_str(req, "unionid"),
                         expires_at=time.time() + (opt_int(req, "expires_in", 0) or CODE_TTL),
                         fault=parse_fault(req),
                         with_errcode0=opt_bool(req, "with_errcode0"))
        value = new_login_code()
        with self.lock:
            self.login_codes[value] = code
            self.session_keys[openid] = session_key
        return {"code": value, "openid": openid, "session_key": session_key,
                "unionid": code.unionid}

    def ctl_phone_code(self, req):
        """Mint a getPhoneNumber code. Missing number fields are derived from the given ones."""
        check_keys(req, ("phone_number", "pure_phone_number", "country_code",
                         "country_code_as_number", "expires_in") + FAULT_FIELDS)
        country = opt_str(req, "country_code") or "86"
        phone = opt_str(req, "phone_number")
        pure = opt_str(req, "pure_phone_number")
        if pure is None and phone is None:
            pure = "13800138000"
        if pure is None:
            prefix = "+" + country
            pure = phone[len(prefix):] if phone.startswith(prefix) else phone.lstrip("+")
        if phone is None:
            phone = "+" + country + pure
        as_number = opt_bool(req, "country_code_as_number")
        if as_number and not country.isdigit():
            raise BadRequest("country_code_as_number needs a numeric country_code")
        code = PhoneCode(phone_number=phone, pure_phone_number=pure, country_code=country,
                         country_code_as_number=as_number,
                         expires_at=time.time() + (opt_int(req, "expires_in", 0) or CODE_TTL),
                         fault=parse_fault(req))
        value = new_phone_code()
        with self.lock:
            self.phone_codes[value] = code
        return {"code": value, "phone_number": phone, "pure_phone_number": pure,
                "country_code": country}

    def ctl_encrypt(self, req):
        """Encrypt open data like WeChat does (AES-128-CBC, PKCS#7, key = session_key)."""
        check_keys(req, ("session_key", "data", "plaintext", "plaintext_b64", "iv", "no_padding"))
        key = b64_16(req, "session_key")
        iv = b64_16(req, "iv") if "iv" in req else secrets.token_bytes(16)
        given = [k for k in ("data", "plaintext", "plaintext_b64") if k in req]
        if len(given) != 1:
            raise BadRequest("give exactly one of data, plaintext, plaintext_b64")
        if "data" in req:
            plaintext = dumps(req["data"])
        elif "plaintext" in req:
            plaintext = (opt_str(req, "plaintext") or "").encode("utf-8")
        else:
            try:
                plaintext = base64.b64decode(opt_str(req, "plaintext_b64") or "", validate=True)
            except ValueError:
                raise BadRequest("plaintext_b64 is not valid base64") from None
        # no_padding lets a test hand-craft the last block (e.g. to produce bad padding).
        pad = not opt_bool(req, "no_padding")
        if not pad and len(plaintext) % 16:
            raise BadRequest("with no_padding the plaintext length must be a multiple of 16")
        ciphertext = aes_128_cbc_encrypt(key, iv, plaintext, pad)
        return {"encrypted_data": base64.b64encode(ciphertext).decode(),
                "iv": base64.b64encode(iv).decode()}

    def ctl_config(self, req):
        check_keys(req, DEFAULT_CONFIG)
        latency = opt_int(req, "latency_ms", 0, MAX_DELAY_MS)
        lifetime = opt_int(req, "token_expires_in", 1, 30 * 86400)
        fail_all = opt_int(req, "fail_all")
        prefix = opt_str(req, "auto_code_prefix")
        with self.lock:
            if "auto_code_prefix" in req:     # null clears it
                self.config["auto_code_prefix"] = prefix
            if latency is not None:
                self.config["latency_ms"] = latency
            if lifetime is not None:          # applies to tokens issued from now on
                self.config["token_expires_in"] = lifetime
            if "fail_all" in req:             # null clears it
                self.config["fail_all"] = fail_all
            return dict(self.config)

    def ctl_faults(self, req):
        """Replace the per-endpoint faults: {endpoint: {fault fields}}; {} clears them."""
        names = {f.__name__ for f in WECHAT_ENDPOINTS.values()}
        check_keys(req, names)
        faults = {}
        for name, fields in req.items():
            if not isinstance(fields, dict):
                raise BadRequest(f"{name}: the fault must be an object")
            check_keys(fields, FAULT_FIELDS)
            faults[name] = parse_fault(fields)
        with self.lock:
            self.endpoint_faults = faults
        return self.ctl_get_faults({})

    def ctl_get_faults(self, _req):
        with self.lock:
            return {name: {k: v for k, v in vars(f).items() if v not in (None, False, 0)}
                    for name, f in self.endpoint_faults.items()}

    def ctl_get_config(self, _req):
        with self.lock:
            return dict(self.config)

    def ctl_expire_token(self, req):
        """Expire every live access_token (both families): they now get 42001."""
        check_keys(req, ())
        now = time.time()
        count = 0
        with self.lock:
            for token in self.tokens.values():
                if not token.revoked and token.expires_at > now:
                    token.expires_at = now - 1
                    count += 1
        return {"expired": count}

    def ctl_stats(self, _req):
        with self.lock:
            return dict(self.stats)

    def ctl_tokens(self, _req):
        """Every access_token issued, oldest first, so tests can look for them where they
        must not be (a database dump, logs)."""
        now = time.time()
        with self.lock:
            return {"tokens": [{"access_token": t.value, "family": t.family,
                                "expires_in": int(t.expires_at - now), "revoked": t.revoked}
                               for t in self.tokens.values()]}

    def ctl_reset(self, req):
        """Reset counters and config; codes, users and tokens are kept."""
        check_keys(req, ())
        self.reset()
        return {"ok": True}

    def note_connection(self, js_code, new, resumed):
        """How the jscode2session call of js_code came: on a new connection or a
        kept one, and whether that connection's TLS handshake resumed a session."""
        with self.lock:
            self.code_tls[js_code] = {"connection": "new" if new else "kept",
                                      "resumed": resumed}

    def ctl_code_tls(self, req):
        check_keys(req, ("code",))
        code = opt_str(req, "code")
        if not code:
            raise BadRequest("code is required")
        with self.lock:
            return dict(self.code_tls.get(code, {"connection": None, "resumed": None}))

    def ctl_session_key(self, req):
        check_keys(req, ("openid", "session_key"))
        openid, session_key = opt_str(req, "openid"), opt_str(req, "session_key")
        if not openid or not session_key:
            raise BadRequest("openid and session_key are required")
        with self.lock:
            self.session_keys[openid] = session_key
        return {"openid": openid, "session_key": session_key}


WECHAT_ENDPOINTS = {
    ("GET", "/sns/jscode2session"): FakeWeChat.jscode2session,
    ("POST", "/cgi-bin/stable_token"): FakeWeChat.stable_token,
    ("GET", "/cgi-bin/token"): FakeWeChat.token_get,
    ("POST", "/wxa/business/getuserphonenumber"): FakeWeChat.getuserphonenumber,
    ("GET", "/wxa/checksession"): FakeWeChat.checksession,
    ("GET", "/wxa/resetusersessionkey"): FakeWeChat.resetusersessionkey,
}

CONTROL_ENDPOINTS = {
    "/_fake/code": {"POST": FakeWeChat.ctl_code},
    "/_fake/phone_code": {"POST": FakeWeChat.ctl_phone_code},
    "/_fake/encrypt": {"POST": FakeWeChat.ctl_encrypt},
    "/_fake/config": {"POST": FakeWeChat.ctl_config, "GET": FakeWeChat.ctl_get_config},
    "/_fake/faults": {"POST": FakeWeChat.ctl_faults, "GET": FakeWeChat.ctl_get_faults},
    "/_fake/expire_token": {"POST": FakeWeChat.ctl_expire_token},
    "/_fake/stats": {"GET": FakeWeChat.ctl_stats},
    "/_fake/tokens": {"GET": FakeWeChat.ctl_tokens},
    "/_fake/reset": {"POST": FakeWeChat.ctl_reset},
    "/_fake/session_key": {"POST": FakeWeChat.ctl_session_key},
    "/_fake/code_tls": {"POST": FakeWeChat.ctl_code_tls},
}


# --------------------------------------------------------------------------- HTTP plumbing

class RequestError(Exception):
    def __init__(self, status):
        super().__init__(status)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive; every reply carries Content-Length
    timeout = IDLE_TIMEOUT

    def version_string(self):
        return "fakewx"

    def setup(self):
        super().setup()
        self.served = 0             # requests answered on this connection so far

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError, ssl.SSLError):
            # The client went away (e.g. it timed out on a delayed reply or stopped reading
            # a huge one): nothing to answer.
            self.close_connection = True

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def dispatch(self):
        url = urlsplit(self.path)
        first, self.served = self.served == 0, self.served + 1
        try:
            body = self.read_body()
        except RequestError as err:
            self.close_connection = True       # the body was not read: the stream is unusable
            self.send(err.status, "text/html", html_page(err.status))
            return
        fake = self.server.fake
        endpoint = WECHAT_ENDPOINTS.get((self.command, url.path))
        if endpoint is not None:
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            if endpoint is FakeWeChat.jscode2session and query.get("js_code"):
                fake.note_connection(query["js_code"], first,
                                     getattr(self.connection, "session_reused", None))
            reply = endpoint(fake, query, body)
            fault = fake.endpoint_fault(endpoint.__name__)
            if fault is not None:
                reply = fault.reply(parse_json_object(reply.body) or {})
            delay = reply.delay + fake.latency()
            if delay > 0:
                time.sleep(delay)
            if reply.hang:
                log(f"{self.client_address[0]} {self.command} {url.path} held (no answer)")
                self.hold()
                return
            self.send(reply.status, reply.content_type, reply.body)
        elif url.path.startswith("/_fake/"):
            self.control(fake, url.path, body)
        else:
            self.send(404, "text/html", html_page(404))

    def hold(self):
        """Answer nothing: keep the connection open until the client closes it (or
        IDLE_TIMEOUT passes), reading and dropping whatever it sends."""
        self.close_connection = True
        conn = self.connection
        deadline = time.monotonic() + IDLE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                readable, _, _ = select.select([conn], [], [], 0.5)
                if readable and not conn.recv(4096):
                    return
            except (OSError, ValueError):
                return

    def control(self, fake, path, body):
        methods = CONTROL_ENDPOINTS.get(path)
        if methods is None:
            status, obj = 404, {"error": "unknown control endpoint"}
        elif self.command not in methods:
            status, obj = 405, {"error": "method not allowed"}
        else:
            req = parse_json_object(body) if body.strip() else {}
            if req is None:
                status, obj = 400, {"error": "body must be a JSON object"}
            else:
                try:
                    status, obj = 200, methods[self.command](fake, req)
                except BadRequest as err:
                    status, obj = 400, {"error": str(err)}
        self.send(status, "application/json", dumps(obj))

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise RequestError(400) from None
        if size < 0:
            raise RequestError(400)
        if size > MAX_REQUEST_BODY:
            raise RequestError(413)
        return self.rfile.read(size)

    def read_chunked(self):
        body = b""
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise RequestError(400) from None
            if size == 0:
                break
            if len(body) + size > MAX_REQUEST_BODY:
                raise RequestError(413)
            body += self.rfile.read(size)
            self.rfile.readline(8)              # CRLF after the chunk
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass                                 # trailers
        return body

    def send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code="-", size="-"):
        # Path only: query strings carry secret, js_code and access_token.
        path = urlsplit(getattr(self, "path", "") or "").path or "-"
        log(f"{self.client_address[0]} {self.command or '-'} {path} {int(code)}")

    def log_error(self, format, *args):  # pylint: disable=redefined-builtin
        # The standard messages quote the raw request line (query string included);
        # the status is logged by log_request anyway.
        pass


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog: socketserver's default of 5 drops the SYNs of a burst of
    # connections (a worker pool making clients at once), which then wait out a
    # 1 s SYN retry; WeChat's servers take such bursts.
    request_queue_size = 256

    def __init__(self, address, fake, tls_context=None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.fake = fake
        self.tls_context = tls_context
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        """Runs in the connection's own thread, so a slow TLS handshake blocks nobody else."""
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(IDLE_TIMEOUT)
        try:
            conn = self.tls_context.wrap_socket(request, server_side=True)
        except OSError as err:   # includes ssl.SSLError, e.g. the client refused our cert
            log(f"{client_address[0]} TLS handshake failed: "
                f"{getattr(err, 'reason', None) or type(err).__name__}")
            return
        with self.fake.lock:
            self.fake.stats["tls_handshakes"] += 1
            if conn.session_reused:     # an abbreviated handshake (a ticket)
                self.fake.stats["tls_resumed"] += 1
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()


def write_port_file(path, port):
    """Atomically: readers see either no file or the complete port number."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake WeChat server API for tests and dev mode.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True, help="0 picks a free port")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--appid", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--port-file", help="write the listening port here once ready")
    args = ap.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.minimum_version = ssl.TLSVersion.TLSv1_2
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    server = FakeServer((args.host, args.port), FakeWeChat(args.appid, args.secret), tls_context)
    port = server.server_address[1]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()

    if args.port_file:
        write_port_file(args.port_file, port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    with _log_lock:     # exact wording: scripts wait for this line
        sys.stderr.write(f"fakewx listening on {'https' if tls_context else 'http'}://{host}:{port}\n")
        sys.stderr.flush()

    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    if args.port_file:
        # Remove the port file unless another instance has taken it over meanwhile.
        try:
            with open(args.port_file, encoding="ascii") as f:
                if f.read().strip() == str(port):
                    os.unlink(args.port_file)
        except OSError:
            pass
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
