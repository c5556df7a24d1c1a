#!/usr/bin/python3
"""Integration tests of the profile and phone endpoints: update_base_info in
its three modes, bind_wx_phone_number in both flows, check_session?remote=1,
the access_token shared by every worker, and the session_key encrypted at
rest.  Run by run.py, which starts the stack."""

import base64
import concurrent.futures
import hashlib
import json
import os
import re
import secrets
import subprocess
import threading
import time
from urllib.parse import quote

import harness as H
from harness import bearer, check, login, psql, request, secrets_seen

UPDATE = "/api/user/update_base_info"
PHONE = "/api/user/bind_wx_phone_number"
INFO = "/api/user/info"
CHECK = "/api/user/check_session"

PLACEHOLDER_NICK = "微信用户"
GREY_AVATAR = ("https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6ic"
               "RiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132")

# WeChat's official examples (tests/fakewx/selftest.py, shared/reference/wechat-api.md).
VEC_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
VEC_IV = "r7BXXKkLb8qrSNn05n0qiA=="
VEC_ENCRYPTED = (
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142d"
    "NCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn"
    "/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns"
    "/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuy"
    "Db/XcxxmK01EpqOyuxINew==")
SIG_KEY = "HyVFkGl5F5OQWJZZaNzBBg=="
SIG_RAW = ('{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong",'
           '"country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7b'
           'QxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}')
SIG_HEX = "75e81ceda165f4ffa64f4068af58c64b8f54b88c"

KEY_VARS = ("WXAUTH_DATA_KEY", "WXAUTH_DATA_KEY_FILE", "WXAUTH_DATA_KEYS_OLD")

SEEN = {}       # the first decrypt_failed body, which every later one must equal


# --------------------------------------------------------------------------- helpers

def qs(params, safe=""):
    """A query string / form body; safe="+" leaves '+' raw (it then arrives as a space)."""
    return "&".join("%s=%s" % (k, quote(str(v), safe=safe)) for k, v in params.items())


def get(base, path, params, tok, safe=""):
    return request(base, "GET", path + "?" + qs(params, safe), headers=bearer(tok))


def post(base, path, body, tok):
    """POST: a dict goes as JSON, a str as a form body."""
    return request(base, "POST", path, body, headers=bearer(tok))


def new_user(S, base=None, **kw):
    """Log a new user in; (code record with openid and session_key, token, profile)."""
    c, r = login(base or S.main, S.fake, **kw)
    check(r.status == 200, "login for the test: %d %r" % (r.status, r.raw[:200]))
    return c, r.res.get("token", ""), r.res.get("user", {})


def relogin(S, c, base=None):
    """The same user logs in again: WeChat gives a new session_key."""
    c2, r = login(base or S.main, S.fake, openid=c["openid"])
    check(r.status == 200, "re-login: %d" % r.status)
    return c2, r.res.get("token", "")


def info(S, tok, base=None):
    r = request(base or S.main, "GET", INFO, headers=bearer(tok))
    return r.res.get("user", {}) if r.status == 200 else {}


def expect_user(r, what, **want):
    u = r.res.get("user", {}) if r.status == 200 else {}
    bad = {k: u.get(k) for k, v in want.items() if u.get(k) != v or k not in u}
    check(r.status == 200 and not bad, "%s: %d %s, wrong fields %r" % (what, r.status, r.slug, bad))
    return u


def expect_err(r, status, slug, what):
    check(r.status == status and r.slug == slug,
          "%s: want %d %s, got %d %s %r" % (what, status, slug, r.status, r.slug, r.raw[:120]))


def expect_decrypt_failed(r, what):
    expect_err(r, 400, "decrypt_failed", what)
    if r.slug == "decrypt_failed":
        first = SEEN.setdefault("decrypt_failed", r.raw)
        check(r.raw == first, "%s: decrypt_failed body byte for byte the same: %r vs %r"
              % (what, r.raw, first))


def watermark(S, appid=None):
    return {"timestamp": int(time.time()), "appid": appid or S.stack.env["WX_APPID"]}


def userinfo(S, **kw):
    """Decrypted user info as WeChat sends it; a field given as None is left out."""
    d = {"openId": "oZZZZ", "nickName": "Band", "gender": 1, "language": "zh_CN",
         "city": "Guangzhou", "province": "Guangdong", "country": "CN",
         "avatarUrl": "http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4Wg/0",
         "watermark": watermark(S)}
    d.update(kw)
    return {k: v for k, v in d.items() if v is not None}


def userinfo_want(S):
    """The profile fields of userinfo(S)'s defaults."""
    d = userinfo(S)
    return {"gender": d["gender"], "language": d["language"], "city": d["city"],
            "province": d["province"], "country": d["country"], "avatar_url": d["avatarUrl"]}


def sealed(S, session_key, data=None, plus=False, **kw):
    """encrypted_data + encrypt_iv from the fake; plus: retry until the base64 holds a '+'."""
    for _ in range(50):
        e = S.fake.encrypt(session_key, data, **kw)
        if not plus or "+" in e["encrypted_data"]:
            break
    return {"encrypted_data": e["encrypted_data"], "encrypt_iv": e["iv"]}


def wxjson(obj):
    """JSON as WeChat (and the fake) writes it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def aligned(obj_bytes, tail):
    """obj_bytes (a JSON object) widened with spaces after '{' so that obj + tail is a
    whole number of AES blocks: a hand-made last block for no_padding."""
    n = (-(len(obj_bytes) + len(tail))) % 16
    return b"{" + b" " * n + obj_bytes[1:] + tail


def sign(raw, session_key):
    return hashlib.sha1((raw + session_key).encode("utf-8")).hexdigest()


def rand_key(n=16):
    return base64.b64encode(secrets.token_bytes(n)).decode()


def rand_pure():
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def stats(S):
    return S.fake.stats()


def delta(S, before, *keys):
    now = stats(S)
    return tuple(now[k] - before[k] for k in keys)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def force_refresh(S):
    """Someone else (another service, the console) force-refreshes the token: the
    one we hold is revoked (40001)."""
    r = S.fake.call("/cgi-bin/stable_token", {
        "grant_type": "client_credential", "appid": S.stack.env["WX_APPID"],
        "secret": S.stack.env["WX_SECRET"], "force_refresh": True})
    secrets_seen.add(r.get("access_token", ""))
    return r


def bind(base, S, tok, **kw):
    """Mint a phone code (kw: the fake's fields) and bind it; (phone code record, response)."""
    pc = S.fake.phone_code(**kw)
    return pc, post(base, PHONE, {"code": pc["code"]}, tok)


def phone_res(pc):
    return {"phone_number": pc["phone_number"], "pure_phone_number": pc["pure_phone_number"],
            "country_code": pc["country_code"]}


def served_by(rids):
    """The worker pids whose access lines carry these request ids."""
    time.sleep(0.3)
    text = open(H.LOG, encoding="utf-8", errors="replace").read()
    pids = set()
    for pid, rid in re.findall(r"wxauth\[(\d+)\] rid=(\S+) access ", text):
        if rid in rids:
            pids.add(pid)
    return pids


# --------------------------------------------------------------------------- update_base_info

def t_update_plain(S):
    c, tok, u0 = new_user(S)
    check(u0.get("nick_name") is None and u0.get("gender") is None, "a new user has no profile")
    p = {"nick_name": "张三 Zhang", "gender": 1, "province": "Guangdong", "city": "深圳",
         "country": "CN", "language": "zh_CN", "avatar_url": "https://example.com/a.png?s=1&t=2"}
    r = get(S.main, UPDATE, p, tok)
    u = expect_user(r, "GET with a query string", openid=c["openid"], **p)
    check(set(r.res) == {"user"} and set(u) == set(u0), "res is {user: profile}: %r" % sorted(r.res))
    check(info(S, tok) == u, "info shows what update returned")
    want = dict(p, city="Shanghai", gender=2)
    expect_user(post(S.main, UPDATE, {"city": "Shanghai", "gender": 2}, tok),
                "POST JSON: only the fields given change", **want)
    want.update(nick_name="Li Si", avatar_url="/api/avatar/abc_DEF-123")
    expect_user(post(S.main, UPDATE, qs({"nick_name": "Li Si", "avatar_url": want["avatar_url"]}), tok),
                "POST form, our own avatar path", **want)
    expect_user(post(S.main, UPDATE, {"nick_name": "", "city": "", "province": "", "country": "",
                                      "language": "", "avatar_url": ""}, tok),
                "empty strings are not given: nothing cleared", **want)
    expect_user(get(S.main, UPDATE, {"nick_name": "", "avatar_url": ""}, tok),
                "empty strings in a query string", **want)
    expect_user(get(S.main, UPDATE, {"gender": "0"}, tok), "gender 0 is stored", **dict(want, gender=0))
    edge = {"nick_name": "你" * 64, "province": "p" * 64, "city": "🐼" * 64, "country": "c" * 64,
            "language": "l" * 16, "avatar_url": "https://e.example/" + "a" * (1024 - 18)}
    want.update(edge, gender=0)
    expect_user(post(S.main, UPDATE, edge, tok), "64 code points, 16 bytes, 1024 bytes: at the limits",
                **want)
    expect_user(post(S.main, UPDATE, {"avatar_url": "/api/avatar/" + "Z" * 128}, tok),
                "avatar id of 128 characters", **dict(want, avatar_url="/api/avatar/" + "Z" * 128))
    want["avatar_url"] = "/api/avatar/" + "Z" * 128
    # Authentication and routing.
    expect_err(request(S.main, "GET", UPDATE + "?nick_name=x"), 401, "unauthorized", "no token")
    expect_err(post(S.main, UPDATE, {"nick_name": "x"}, "A" * 43), 401, "unauthorized", "unknown token")
    expect_err(request(S.main, "PUT", UPDATE, "", headers=bearer(tok)), 405, "method_not_allowed", "PUT")
    u = expect_user(post(S.main, UPDATE, {}, tok), "nothing given changes nothing", **want)
    check(info(S, tok) == u, "info agrees")


def t_update_bad_input(S):
    c, tok, _ = new_user(S)
    good = {"nick_name": "Keep", "city": "KeepCity", "gender": 2, "language": "en",
            "avatar_url": "https://example.com/keep.png"}
    expect_user(post(S.main, UPDATE, good, tok), "set a profile", **good)
    iv = rand_key()
    bad = [{"nick_name": "你" * 65}, {"province": "p" * 65}, {"city": "c" * 65}, {"country": "🐼" * 65},
           {"nick_name": "a\u0001b"}, {"nick_name": "a\nb"}, {"city": "a\u007fb"},
           {"nick_name": 123}, {"nick_name": ["a"]}, {"city": {"a": 1}}, {"nick_name": True},
           {"gender": 3}, {"gender": -1}, {"gender": 1.5}, {"gender": "x"}, {"gender": [1]},
           {"language": "l" * 17},
           {"avatar_url": "http://example.com/a.png"}, {"avatar_url": "ftp://example.com/a"},
           {"avatar_url": "javascript:alert(1)"}, {"avatar_url": "https://"},
           {"avatar_url": "https://e.example/" + "a" * (1025 - 18)},
           {"avatar_url": "https://exa mple.com/"}, {"avatar_url": "/api/avatar/"},
           {"avatar_url": "/api/avatar/" + "a" * 129}, {"avatar_url": "/api/avatar/a.b"},
           {"avatar_url": "/api/avatar/../x"}, {"avatar_url": "/other/abc"},
           # pairs
           {"encrypted_data": "AAAA"}, {"encrypt_iv": iv}, {"raw_data": "{}"},
           {"signature": "0" * 40}, {"encrypted_data": "AAAA", "signature": "0" * 40},
           # the pairs' own limits
           {"encrypted_data": "A" * 8193, "encrypt_iv": iv}, {"encrypted_data": "AAAé", "encrypt_iv": iv},
           {"encrypted_data": "AAAA", "encrypt_iv": "A" * 65}, {"encrypted_data": 12, "encrypt_iv": iv},
           {"raw_data": "[1]", "signature": sign("[1]", c["session_key"])},
           {"raw_data": "not json", "signature": sign("not json", c["session_key"])},
           {"raw_data": '{"a":1} x', "signature": "0" * 40},
           {"raw_data": '{"a":"' + "x" * 4089 + '"}', "signature": "0" * 40},
           {"raw_data": "{}", "signature": "0" * 39}, {"raw_data": "{}", "signature": "0" * 41},
           {"raw_data": "{}", "signature": "g" * 40}]
    for body in bad:
        expect_err(post(S.main, UPDATE, body, tok), 400, "bad_request", "refused: %.80r" % body)
    for q in ("nick_name=%FF", "city=%C3%28", "nick_name=%ED%A0%80", "nick_name=a%00b", "gender=01x",
              "nick_name=a&nick_name=b"):
        expect_err(request(S.main, "GET", UPDATE + "?" + q, headers=bearer(tok)), 400, "bad_request",
                   "refused query %s" % q)
    check(all(info(S, tok).get(k) == v for k, v in good.items()),
          "nothing stored by refused requests: %r" % info(S, tok))


def t_update_encrypted(S):
    c, tok, _ = new_user(S)
    union = "ounion_" + secrets.token_hex(8)
    data = userinfo(S, openId=c["openid"], unionId=union)
    want = {"nick_name": "Band", "gender": 1, "language": "zh_CN", "city": "Guangzhou",
            "province": "Guangdong", "country": "CN", "avatar_url": data["avatarUrl"], "unionid": union}
    r = get(S.main, UPDATE, dict(sealed(S, c["session_key"], data, plus=True), nick_name="Plain",
                                 city="PlainCity", gender=2), tok)
    expect_user(r, "GET, decrypted fields (http avatar, unionId) beat plain ones", **want)
    check(info(S, tok).get("unionid") == union, "unionId stored as unionid")
    # A field the decrypted data lacks comes from the plain params.
    e = sealed(S, c["session_key"], userinfo(S, nickName="Amy", city=None, unionId=None))
    want.update(nick_name="Amy", city="Hangzhou")
    expect_user(post(S.main, UPDATE, dict(e, city="Hangzhou", nick_name="Ignored"), tok),
                "POST JSON: plain city used where the data has none; unionid kept", **want)
    e = sealed(S, c["session_key"], userinfo(S, nickName="Form+Name"), plus=True)
    want.update(nick_name="Form+Name", city="Guangzhou")
    expect_user(post(S.main, UPDATE, qs(e), tok), "POST form with %2B", **want)
    # The longest encrypted_data: 8192 characters.
    base = userinfo(S, nickName="Edge", filler="")
    base["filler"] = "x" * (6135 - len(wxjson(base)))
    e = sealed(S, c["session_key"], base)
    check(len(e["encrypted_data"]) == 8192, "edge case built: %d" % len(e["encrypted_data"]))
    want["nick_name"] = "Edge"
    expect_user(post(S.main, UPDATE, e, tok), "8192 characters of encrypted_data", **want)
    # The watermark: ours, else invalid_watermark, and nothing stored.
    _, tok2, _ = new_user(S, session_key=VEC_KEY)
    expect_err(post(S.main, UPDATE, {"encrypted_data": VEC_ENCRYPTED, "encrypt_iv": VEC_IV}, tok2),
               400, "invalid_watermark", "WeChat's own example is another app's data")
    for wm, what in ((None, "no watermark"), ({"appid": "wx4f4bc4dec97d474b", "timestamp": 1}, "other appid"),
                     ({"timestamp": 1}, "watermark without appid")):
        e = sealed(S, c["session_key"], userinfo(S, nickName="Wm", watermark=wm))
        expect_err(post(S.main, UPDATE, e, tok), 400, "invalid_watermark", what)
    check(info(S, tok).get("nick_name") == "Edge", "nothing stored from refused data")
    # A new login rotates the session_key: data sealed under the old one no longer decrypts.
    c3, _ = relogin(S, c)
    expect_decrypt_failed(post(S.main, UPDATE, sealed(S, c["session_key"], userinfo(S, nickName="Stale")),
                               tok), "data under the session_key before the re-login")
    expect_user(post(S.main, UPDATE, sealed(S, c3["session_key"], userinfo(S, nickName="Fresh")), tok),
                "data under the new session_key", nick_name="Fresh")


def t_decrypt_failures_identical(S):
    c, tok, _ = new_user(S)
    sk = c["session_key"]
    expect_user(post(S.main, UPDATE, {"nick_name": "Stays"}, tok), "set a nick", nick_name="Stays")
    data = userinfo(S, nickName="Never")
    good = sealed(S, sk, data, plus=True)           # for the '+' cases
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    nopad = lambda p: sealed(S, sk, plaintext_b64=b64(p), no_padding=True)  # noqa: E731
    # A whole number of blocks whose ciphertext's base64 ends in '=' (for "missing padding").
    plain = aligned(wxjson(data), b"")
    if (len(plain) // 16 + 1) % 3 == 0:
        plain = b"{" + b" " * 16 + plain[1:]
    control = sealed(S, sk, plaintext_b64=b64(plain))
    b64ct, iv = control["encrypted_data"], control["encrypt_iv"]
    ct = base64.b64decode(b64ct)
    check(b64ct.endswith("=") and iv.endswith("=="), "padded base64 to strip")
    cases = [
        ("bad base64", {"encrypted_data": "!!!!", "encrypt_iv": iv}),
        ("only padding", {"encrypted_data": "====", "encrypt_iv": iv}),
        ("missing padding", {"encrypted_data": b64ct.rstrip("="), "encrypt_iv": iv}),
        ("iv missing padding", {"encrypted_data": b64ct, "encrypt_iv": iv.rstrip("=")}),
        ("iv of 12 bytes", {"encrypted_data": b64ct, "encrypt_iv": b64(secrets.token_bytes(12))}),
        ("iv of 32 bytes", {"encrypted_data": b64ct, "encrypt_iv": b64(secrets.token_bytes(32))}),
        ("iv bad base64", {"encrypted_data": b64ct, "encrypt_iv": "!" * 24}),
        ("ciphertext cut by a byte", {"encrypted_data": b64(ct[:-1]), "encrypt_iv": iv}),
        ("ciphertext 5 bytes longer", {"encrypted_data": b64(ct + b"\0" * 5), "encrypt_iv": iv}),
        ("last pad byte 0x00", nopad(aligned(wxjson(data), b"\x00"))),
        ("last pad byte 0x11", nopad(aligned(wxjson(data), b"\x11"))),
        ("pad bytes inconsistent", nopad(aligned(wxjson(data), b"\x01\x02\x03"))),
        ("pad 0x10 over a non-pad block", nopad(aligned(wxjson(data), b"x" * 15 + b"\x10"))),
        ("plaintext not JSON", sealed(S, sk, plaintext="this is not JSON at all")),
        ("JSON then garbage", sealed(S, sk, plaintext_b64=b64(plain + b" x"))),
        ("plaintext a JSON array", sealed(S, sk, [data])),
        ("plaintext a JSON string", sealed(S, sk, "just a string")),
        ("invalid UTF-8", sealed(S, sk, plaintext_b64=b64(
            b'{"nickName":"\xc3\x28","watermark":' + wxjson(watermark(S)) + b"}"))),
        ("another session_key", sealed(S, rand_key(), data)),
        ("WeChat's example under our key", {"encrypted_data": VEC_ENCRYPTED, "encrypt_iv": VEC_IV}),
        ("8192 characters of zeros", {"encrypted_data": "A" * 8192, "encrypt_iv": iv}),
        ("64-character iv", {"encrypted_data": b64ct, "encrypt_iv": "A" * 64}),
    ]
    for what, e in cases:
        expect_decrypt_failed(post(S.main, UPDATE, e, tok), what)
    # A '+' decoded as a space: the client mangled it; rejected, not repaired.
    check("+" in good["encrypted_data"], "a '+' in the base64")
    expect_decrypt_failed(get(S.main, UPDATE, good, tok, safe="+/="), "'+' arrived as a space (GET)")
    expect_decrypt_failed(post(S.main, UPDATE, qs(good, safe="+/="), tok), "'+' arrived as a space (form)")
    # The same aligned plaintext with its proper padding does decrypt: the cases above fail
    # for the reason they name.
    check(info(S, tok).get("nick_name") == "Stays", "decrypt failures stored nothing")
    expect_user(post(S.main, UPDATE, control, tok), "the well-padded control case decrypts",
                nick_name="Never")
    expect_user(post(S.main, UPDATE, nopad(aligned(wxjson(data), b"\x01")), tok),
                "a hand-made last block with valid padding decrypts", nick_name="Never")


def t_update_signature(S):
    c, tok, _ = new_user(S)
    sk = c["session_key"]
    raw = wxjson({"nickName": "Sig 签名", "gender": 2, "language": "en", "city": "Paris",
                  "province": "IDF", "country": "FR", "avatarUrl": "https://example.com/sig.png"}).decode()
    want = {"nick_name": "Sig 签名", "gender": 2, "language": "en", "city": "Paris", "province": "IDF",
            "country": "FR", "avatar_url": "https://example.com/sig.png"}
    expect_user(post(S.main, UPDATE, {"raw_data": raw, "signature": sign(raw, sk), "nick_name": "Plain",
                                      "city": "PlainCity"}, tok),
                "signed raw_data stored, beats plain params", **want)
    raw2 = '{"nickName":"Upper"}'
    want["nick_name"] = "Upper"
    expect_user(get(S.main, UPDATE, {"raw_data": raw2, "signature": sign(raw2, sk).upper()}, tok),
                "GET, upper-case signature", **want)
    raw3 = '{"nickName":"Bad"}'
    for sig, what in ((sign(raw3, rand_key()), "another session_key"), ("0" * 40, "zeros"),
                      (sign(raw2, sk), "another raw_data's signature"),
                      (hashlib.sha1(raw3.encode()).hexdigest(), "sha1 without the key"),
                      (sign(raw3 + " ", sk), "raw_data changed")):
        expect_err(post(S.main, UPDATE, {"raw_data": raw3, "signature": sig}, tok), 400,
                   "invalid_signature", "wrong signature: " + what)
    big = '{"nickName":"Big","pad":"'
    big += "x" * (4096 - len(big) - 2) + '"}'
    check(len(big) == 4096, "4096-byte raw_data built")
    want["nick_name"] = "Big"
    expect_user(post(S.main, UPDATE, {"raw_data": big, "signature": sign(big, sk)}, tok),
                "4096 bytes of raw_data", **want)
    # Both pairs: both checked, the decrypted data wins over raw_data.
    e = sealed(S, sk, userinfo(S, nickName="Enc", city=None))
    raw4 = '{"nickName":"Raw","city":"RawCity"}'
    want.update(userinfo_want(S), nick_name="Enc", city="RawCity")
    expect_user(post(S.main, UPDATE, dict(e, raw_data=raw4, signature=sign(raw4, sk)), tok),
                "both pairs: decrypted wins, raw_data fills in", **want)
    expect_err(post(S.main, UPDATE, dict(e, raw_data=raw4, signature="0" * 40), tok), 400,
               "invalid_signature", "both pairs, bad signature")
    expect_decrypt_failed(post(S.main, UPDATE, dict(sealed(S, rand_key(), userinfo(S)), raw_data=raw4,
                                                    signature=sign(raw4, sk)), tok),
                          "both pairs, data under another key")
    check(info(S, tok).get("nick_name") == "Enc", "refused requests stored nothing")
    # WeChat's own example.
    _, tok2, _ = new_user(S, session_key=SIG_KEY)
    check(sign(SIG_RAW, SIG_KEY) == SIG_HEX, "the official example's signature")
    expect_user(post(S.main, UPDATE, {"raw_data": SIG_RAW, "signature": SIG_HEX}, tok2),
                "WeChat's example rawData", nick_name="Band", gender=1, city="Guangzhou",
                avatar_url=json.loads(SIG_RAW)["avatarUrl"])
    # After a re-login, a signature made with the old session_key is wrong.
    c3, _ = relogin(S, c)
    raw5 = '{"nickName":"Stale"}'
    expect_err(post(S.main, UPDATE, {"raw_data": raw5, "signature": sign(raw5, sk)}, tok), 400,
               "invalid_signature", "old session_key after a re-login")
    expect_user(post(S.main, UPDATE, {"raw_data": raw5, "signature": sign(raw5, c3["session_key"])}, tok),
                "new session_key after a re-login", nick_name="Stale")


def t_placeholders(S):
    c, tok, _ = new_user(S)
    sk = c["session_key"]
    real = {"nick_name": "Real Name", "avatar_url": "https://example.com/real.png", "gender": 1,
            "city": "Chengdu", "province": "Sichuan", "country": "CN"}
    expect_user(post(S.main, UPDATE, real, tok), "a real profile typed in", **real)
    anon = userinfo(S, nickName=PLACEHOLDER_NICK, gender=0, avatarUrl=GREY_AVATAR, language="zh_CN",
                    city="", province="", country="")
    expect_user(post(S.main, UPDATE, sealed(S, sk, anon), tok),
                "anonymous data overwrites nothing (nick, avatar, gender 0, empty places)",
                language="zh_CN", **real)
    want = dict(real, language="zh_CN", nick_name="New Nick", gender=2)
    expect_user(post(S.main, UPDATE, sealed(S, sk, userinfo(S, nickName="New Nick", gender=2,
                                                            avatarUrl=GREY_AVATAR, city=None,
                                                            province=None, country=None)), tok),
                "a real nick with the grey avatar: the avatar stays", **want)
    avatar = "https://thirdwx.qlogo.cn/mmopen/vi_32/RealAvatar123/132"
    want["avatar_url"] = avatar
    expect_user(post(S.main, UPDATE, sealed(S, sk, userinfo(S, nickName=PLACEHOLDER_NICK, gender=0,
                                                            avatarUrl=avatar, city=None,
                                                            province=None, country=None)), tok),
                "the placeholder nick with a real avatar: nick and gender stay", **want)
    want["gender"] = 0
    want["nick_name"] = "Zero"
    expect_user(post(S.main, UPDATE, sealed(S, sk, userinfo(S, nickName="Zero", gender=0, city=None,
                                                            province=None, country=None,
                                                            avatarUrl=None)), tok),
                "gender 0 with a real nick is stored", **want)
    # A new user: the placeholders leave the profile empty.
    c2, tok2, _ = new_user(S)
    expect_user(post(S.main, UPDATE, sealed(S, c2["session_key"], anon), tok2),
                "a new user's anonymous data stores no name or avatar",
                nick_name=None, avatar_url=None, gender=None, city=None, language="zh_CN")
    expect_user(post(S.main, UPDATE, dict(sealed(S, c2["session_key"], anon), nick_name="Typed"), tok2),
                "the placeholder does not hide the nick the user typed", nick_name="Typed",
                avatar_url=None)


# --------------------------------------------------------------------------- bind_wx_phone_number

def t_phone_code(S):
    c, tok, _ = new_user(S)
    # The stored access_token may come from an earlier run's fake (40001: one refetch).
    check(bind(S.main, S, tok)[1].status == 200, "a first phone bind")
    s0 = stats(S)
    pc, r = bind(S.main, S, tok, pure_phone_number=rand_pure())
    check(r.status == 200 and r.res == phone_res(pc) and r.res["country_code"] == "86",
          "phone bound: %d %r" % (r.status, r.res))
    check(delta(S, s0, "getuserphonenumber") == (1,), "one getuserphonenumber call")
    u = info(S, tok)
    check({k: u.get(k) for k in phone_res(pc)} == phone_res(pc), "stored on the user")
    pc2 = S.fake.phone_code(phone_number="+852" + rand_pure()[3:], country_code="852",
                            country_code_as_number=True)
    r = post(S.main, PHONE, qs({"code": pc2["code"]}), tok)
    check(r.status == 200 and r.res == phone_res(pc2) and r.res["country_code"] == "852",
          "form body; countryCode as a number comes out a string: %r" % r.res)
    check({k: info(S, tok).get(k) for k in phone_res(pc2)} == phone_res(pc2), "rebinding replaces")
    # Codes WeChat refuses, and its errors: one call each, nothing stored.
    for code, what in ((pc["code"], "a used code (40163)"), ("0" * 64, "an unknown code (40029)"),
                       ("a b", "printable but unknown")):
        s0 = stats(S)
        expect_err(post(S.main, PHONE, {"code": code}, tok), 400, "invalid_code", what)
        check(delta(S, s0, "getuserphonenumber", "stable_token") == (1, 0), what + ": one call, no retry")
    for kw, status, slug in (({"errcode": -1}, 502, "upstream_error"),
                             ({"errcode": 40013}, 502, "upstream_error"),
                             ({"http_status": 500}, 502, "upstream_error"),
                             ({"garbage": True}, 502, "upstream_error"),
                             ({"delay_ms": H.TIMEOUT_MS + 800}, 504, "upstream_timeout")):
        s0 = stats(S)
        _, r = bind(S.main, S, tok, **kw)
        expect_err(r, status, slug, "phone code with %r" % kw)
        check(delta(S, s0, "getuserphonenumber", "stable_token") == (1, 0), "%r: one call" % kw)
    time.sleep(1)
    check({k: info(S, tok).get(k) for k in phone_res(pc2)} == phone_res(pc2), "failures stored nothing")
    # The request itself.
    pc3 = S.fake.phone_code(pure_phone_number=rand_pure())
    secrets_seen.update(("+8613900000000", "13900000000"))
    e = sealed(S, c["session_key"], {"phoneNumber": "+8613900000000", "purePhoneNumber": "13900000000",
                                      "countryCode": "86", "watermark": watermark(S)})
    s0 = stats(S)
    for body, what in (({}, "neither form"), ({"code": ""}, "an empty code"),
                       (dict(e, code=pc3["code"]), "both forms"),
                       ({"code": pc3["code"], "encrypt_iv": e["encrypt_iv"]}, "code and half a pair"),
                       ({"encrypted_data": e["encrypted_data"]}, "half a pair"),
                       ({"code": "a" * 129}, "129-byte code"), ({"code": "ab\u0001"}, "control character"),
                       ({"code": "码"}, "not ASCII"), ({"code": 123}, "a number")):
        expect_err(post(S.main, PHONE, body, tok), 400, "bad_request", what)
    check(delta(S, s0, "getuserphonenumber") == (0,), "refused requests call nobody")
    r = post(S.main, PHONE, {"code": pc3["code"]}, tok)
    check(r.status == 200 and r.res == phone_res(pc3), "the code refused with both forms still works")
    expect_err(request(S.main, "GET", PHONE + "?code=" + pc3["code"], headers=bearer(tok)), 405,
               "method_not_allowed", "GET")
    expect_err(request(S.main, "POST", PHONE, {"code": "x"}), 401, "unauthorized", "no token")
    st = stats(S)
    check(st["token_get"] == 0 and st["access_token_on_jscode2session"] == 0,
          "never GET /cgi-bin/token, no token to jscode2session: %r" % st)


def t_phone_legacy(S):
    c, tok, _ = new_user(S)
    sk = c["session_key"]
    pure = rand_pure()
    secrets_seen.update(("+86" + pure, pure))
    d = {"phoneNumber": "+86" + pure, "purePhoneNumber": pure, "countryCode": "86",
         "watermark": watermark(S)}
    want = {"phone_number": "+86" + pure, "pure_phone_number": pure, "country_code": "86"}
    s0 = stats(S)
    r = post(S.main, PHONE, sealed(S, sk, d), tok)
    check(r.status == 200 and r.res == want, "legacy encrypted phone: %d %r" % (r.status, r.res))
    check({k: info(S, tok).get(k) for k in want} == want, "stored on the user")
    pure = "2025550" + rand_pure()[-3:]
    secrets_seen.update(("+1" + pure, pure))
    d = dict(d, phoneNumber="+1" + pure, purePhoneNumber=pure, countryCode=1)
    want = {"phone_number": "+1" + pure, "pure_phone_number": pure, "country_code": "1"}
    r = post(S.main, PHONE, qs(sealed(S, sk, d, plus=True)), tok)
    check(r.status == 200 and r.res == want, "form body, countryCode a number: %r" % r.res)
    check(delta(S, s0, "getuserphonenumber", "stable_token") == (0, 0), "the legacy flow calls nobody")
    for wm, what in ((None, "no watermark"), ({"appid": "wx4f4bc4dec97d474b", "timestamp": 1}, "other app")):
        secrets_seen.add("+10000000000")
        dd = {k: v for k, v in dict(d, phoneNumber="+10000000000", watermark=wm).items() if v is not None}
        expect_err(post(S.main, PHONE, sealed(S, sk, dd), tok), 400, "invalid_watermark", what)
    for body, what in (({"encrypted_data": "!!!!", "encrypt_iv": rand_key()}, "bad base64"),
                       (sealed(S, rand_key(), d), "another session_key"),
                       (sealed(S, sk, plaintext="not json"), "not JSON"),
                       (qs(sealed(S, sk, d, plus=True), safe="+/="), "'+' arrived as a space")):
        expect_decrypt_failed(post(S.main, PHONE, body, tok), "phone: " + what)
    relogin(S, c)
    expect_decrypt_failed(post(S.main, PHONE, sealed(S, sk, d), tok), "phone: old session_key")
    check({k: info(S, tok).get(k) for k in want} == want, "failures stored nothing")


# --------------------------------------------------------------------------- the access_token

def t_access_token_shared(S):
    users = [new_user(S)[1] for _ in range(6)]
    # A fresh start: no token stored, and the one WeChat issued before is dead too (so a
    # copy a worker may keep in memory cannot save the fetch).
    psql(S, "DELETE FROM wx_access_tokens")
    S.fake.expire_token()
    s0 = stats(S)
    pc, r = bind(S.main, S, users[0], pure_phone_number=rand_pure())
    check(r.status == 200 and r.res == phone_res(pc), "first bind with no token stored")
    check(delta(S, s0, "stable_token") == (1,), "one stable_token fetch")
    codes = [(users[i % 6], S.fake.phone_code(pure_phone_number=rand_pure())) for i in range(24)]
    rids = ["tokshare-%d-%d" % (os.getpid(), i) for i in range(24)]

    def one(i):
        tok, pc = codes[i]
        return pc, request(S.main, "POST", PHONE, {"code": pc["code"]},
                           headers=dict(bearer(tok), **{"X-Request-Id": rids[i]}))
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        rs = list(ex.map(one, range(24)))
    check(all(r.status == 200 and r.res == phone_res(pc) for pc, r in rs),
          "24 concurrent binds succeed: %r" % [r.status for _, r in rs])
    d = delta(S, s0, "stable_token", "stable_token_force", "getuserphonenumber")
    check(d[:2] == (1, 0) and 25 <= d[2] <= 50,
          "25 binds, one stable_token fetch, never force_refresh: %r" % (d,))
    print("    25 binds on %d worker(s): %d stable_token fetch(es)"
          % (len(served_by(set(rids))), d[0]), flush=True)
    row = psql(S, "SELECT appid, length(token_enc) > 0, key_id <> '', expires_at > now() + interval "
                  "'1 hour' FROM wx_access_tokens")
    check(row == S.stack.env["WX_APPID"] + "|t|t|t", "one row for our appid, sealed: %r" % row)
    stored = psql(S, "SELECT encode(token_enc, 'hex') || encode(token_enc, 'escape') || key_id "
                     "FROM wx_access_tokens")
    check(not any(t in stored for t in S.fake.tokens()), "the table holds no access_token in the clear")
    st = stats(S)
    check(st["token_get"] == 0 and st["access_token_on_jscode2session"] == 0,
          "never GET /cgi-bin/token, no token to jscode2session: %r" % st)


def t_token_refresh(S):
    _, tok, _ = new_user(S)
    check(bind(S.main, S, tok)[1].status == 200, "a token is in use")
    f0 = stats(S)
    # Expired at WeChat (42001) while our table still says valid.
    S.fake.expire_token()
    s0 = stats(S)
    pc, r = bind(S.main, S, tok, pure_phone_number=rand_pure())
    check(r.status == 200 and r.res == phone_res(pc), "bind after 42001 succeeds: %d" % r.status)
    check(delta(S, s0, "stable_token", "getuserphonenumber") == (1, 2),
          "42001: one refetch, one retry: %r" % (delta(S, s0, "stable_token", "getuserphonenumber"),))
    for _ in range(4):
        check(bind(S.main, S, tok)[1].status == 200, "binds after the refetch")
    check(delta(S, s0, "stable_token") == (1,), "every worker uses the refetched token")
    # Revoked by someone else's force_refresh (40001).
    check("access_token" in force_refresh(S), "force_refresh done by a third party")
    s0 = stats(S)
    pc, r = bind(S.main, S, tok, pure_phone_number=rand_pure())
    check(r.status == 200 and r.res == phone_res(pc), "bind after 40001 succeeds: %d" % r.status)
    check(delta(S, s0, "stable_token", "getuserphonenumber") == (1, 2),
          "40001: one refetch, one retry: %r" % (delta(S, s0, "stable_token", "getuserphonenumber"),))
    for _ in range(4):
        check(bind(S.main, S, tok)[1].status == 200, "binds after the refetch")
    check(delta(S, s0, "stable_token") == (1,), "no more fetches")
    # checksession uses the same token and the same refresh.
    S.fake.expire_token()
    s0 = stats(S)
    r = request(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
    check(r.status == 200 and r.res.get("session_key_valid") is True, "check_session after 42001: %r" % r.raw)
    check(delta(S, s0, "stable_token", "checksession") == (1, 2), "checksession: one refetch, one retry")
    check(bind(S.main, S, tok)[1].status == 200 and delta(S, s0, "stable_token") == (1,),
          "the phone bind then uses checksession's token")
    # A token error that does not go away: one retry, never a loop.
    try:
        S.fake.config(fail_all=40001)
        s0 = stats(S)
        _, r = bind(S.main, S, tok)
        expect_err(r, 502, "upstream_error", "40001 from everything")
        check(delta(S, s0, "getuserphonenumber", "stable_token") == (1, 1),
              "one call, one refetch, no loop: %r" % (delta(S, s0, "getuserphonenumber", "stable_token"),))
    finally:
        S.fake.config(fail_all=None)
    # After a failed fetch a worker answers the same error for a second
    # (lib/token.c FAIL_BACKOFF_MS) instead of asking WeChat again at once.
    time.sleep(1.1)
    check(bind(S.main, S, tok)[1].status == 200, "binds work again once WeChat does")
    check(delta(S, f0, "stable_token_force") == (1,), "the only force_refresh was the test's own")


def t_token_stampede(S):
    """8 single-threaded workers, token expired: one stable_token fetch in all."""
    users = [new_user(S)[1] for _ in range(8)]
    base = S.stack.start_pool("tok8", workers=8, env={"WXAUTH_THREADS": "1", "WX_TIMEOUT_MS": "5000"})
    try:
        for label, expire_row in (("expired at WeChat and in our table", True),
                                  ("expired at WeChat only (42001 for all)", False)):
            check(bind(base, S, users[0])[1].status == 200, "tok8 pool serves")
            codes = [S.fake.phone_code(pure_phone_number=rand_pure()) for _ in users]
            barrier = threading.Barrier(8)
            rids = ["stampede-%d-%s-%d" % (os.getpid(), expire_row, i) for i in range(8)]

            def one(i):
                barrier.wait(10)
                return request(base, "POST", PHONE, {"code": codes[i]["code"]},
                               headers=dict(bearer(users[i]), **{"X-Request-Id": rids[i]}))
            S.fake.config(latency_ms=150)       # widen the window for a race
            try:
                S.fake.expire_token()
                if expire_row:
                    psql(S, "UPDATE wx_access_tokens SET expires_at = now() - interval '1 second'")
                s0 = stats(S)
                with concurrent.futures.ThreadPoolExecutor(8) as ex:
                    rs = list(ex.map(one, range(8)))
            finally:
                S.fake.config(latency_ms=0)
            fetches, calls, force = delta(S, s0, "stable_token", "getuserphonenumber", "stable_token_force")
            pids = served_by(set(rids))
            print("    %s: %d stable_token fetch(es), %d getuserphonenumber calls, %d workers"
                  % (label, fetches, calls, len(pids)), flush=True)
            check(all(r.status == 200 and r.res == phone_res(pc) for pc, r in zip(codes, rs)),
                  "%s: all 8 binds succeed: %r" % (label, [r.status for r in rs]))
            check(fetches == 1 and force == 0, "%s: exactly one stable_token fetch (%d)" % (label, fetches))
            check(8 <= calls <= 16, "%s: at most one retry each (%d calls)" % (label, calls))
            check(len(pids) >= 4, "%s: served by several workers at once: %d" % (label, len(pids)))
    finally:
        S.stack.stop_pool("tok8")


# --------------------------------------------------------------------------- check_session?remote=1

def t_remote_check_session(S):
    c, tok, _ = new_user(S)
    s0 = stats(S)
    r = request(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
    check(r.status == 200 and r.res.get("valid") is True and r.res.get("session_key_valid") is True and
          set(r.res) == {"valid", "expires_in", "session_key_valid"}, "remote=1 after login: %r" % r.res)
    check(delta(S, s0, "checksession") == (1,), "one checksession call")
    for q in ("", "?remote=0"):
        r = request(S.main, "GET", CHECK + q, headers=bearer(tok))
        check(r.status == 200 and set(r.res) == {"valid", "expires_in"}, "no session_key_valid for %r" % q)
    check(delta(S, s0, "checksession") == (1,), "no checksession call without remote=1")
    S.fake.session_key(c["openid"], rand_key())
    r = request(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
    check(r.status == 200 and r.res.get("valid") is True and r.res.get("session_key_valid") is False,
          "WeChat changed the session_key: false: %r" % r.res)
    relogin(S, c)
    r = request(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
    check(r.res.get("session_key_valid") is True, "after a new login: true again (%r)" % r.res)
    S.fake.code(openid=c["openid"])
    r = request(S.main, "GET", CHECK + "?remote=1", headers=bearer(tok))
    check(r.res.get("session_key_valid") is False, "another wx.login elsewhere: false (%r)" % r.res)
    s0 = stats(S)
    for h in ({}, bearer("A" * 43)):
        expect_err(request(S.main, "GET", CHECK + "?remote=1", headers=h), 401, "unauthorized",
                   "remote=1 without a valid token")
    check(delta(S, s0, "checksession") == (0,), "unauthenticated: WeChat not asked")


# --------------------------------------------------------------------------- at rest

def t_at_rest(S):
    cols = set(psql(S, "SELECT column_name || ':' || data_type FROM information_schema.columns "
                       "WHERE table_name = 'users'").split("\n"))
    check({"session_key_enc:bytea", "session_key_kid:text"} <= cols and
          not any(x.startswith("session_key:") for x in cols), "users: sealed session_key only: %r" % cols)
    cols = set(psql(S, "SELECT column_name || ':' || data_type FROM information_schema.columns "
                       "WHERE table_name = 'wx_access_tokens'").split("\n"))
    check({"appid:text", "token_enc:bytea", "key_id:text", "expires_at:timestamp with time zone"} <= cols
          and not any(x.startswith(("token:", "access_token:")) for x in cols), "wx_access_tokens: %r" % cols)
    pk = psql(S, "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                 "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'wx_access_tokens'::regclass "
                 "AND i.indisprimary")
    check(pk == "appid", "wx_access_tokens keyed by appid: %r" % pk)
    c, tok, _ = new_user(S)
    check(bind(S.main, S, tok)[1].status == 200, "a bound phone, a stored token")
    row = psql(S, "SELECT session_key_enc IS NOT NULL, session_key_kid FROM users WHERE openid = "
               + lit(c["openid"]))
    check(row.startswith("t|") and len(row) > 2 and c["session_key"] not in row, "sealed: %r" % row)
    pg = S.stack.pg
    p = subprocess.run([os.path.join(pg.bindir, "pg_dump"), "-h", pg.sock, "-U", "wxauth", "wxauth"],
                       capture_output=True)
    dump = p.stdout
    check(p.returncode == 0 and c["openid"].encode() in dump, "pg_dump holds the users")
    sks, toks = [], []
    for s in secrets_seen:
        try:
            if len(s) == 24 and len(base64.b64decode(s, validate=True)) == 16:
                sks.append(s)
        except ValueError:
            pass
        if re.fullmatch(r"[A-Za-z0-9_-]{43}", s):
            toks.append(s)
    access = S.fake.tokens()
    check(len(sks) > 20 and len(toks) > 20 and access, "secrets to look for: %d session keys, %d tokens, "
          "%d access tokens" % (len(sks), len(toks), len(access)))
    leaks = [s for s in sks if s.encode() in dump or base64.b64decode(s) in dump or
             base64.b64decode(s).hex().encode() in dump.lower()]
    check(not leaks, "no session_key in the dump (base64, bytes or hex): %d found" % len(leaks))
    check(not [t for t in toks if t.encode() in dump], "no session token in the dump")
    check(not [t for t in access if t.encode() in dump], "no access_token in the dump")


# --------------------------------------------------------------------------- key rotation

def main_key(S):
    path = S.stack.env.get("WXAUTH_DATA_KEY_FILE")
    if path:
        return open(path, encoding="ascii").read().strip()
    return S.stack.env.get("WXAUTH_DATA_KEY")


def keyed_pool(S, name, key, old=None):
    """A one-worker pool whose key ring is exactly key (+ old), whatever the stack's is."""
    saved = {k: S.stack.env.pop(k) for k in KEY_VARS if k in S.stack.env}
    try:
        env = {"WXAUTH_DATA_KEY": key, "WX_TIMEOUT_MS": str(H.TIMEOUT_MS)}
        if old is not None:
            env["WXAUTH_DATA_KEYS_OLD"] = old
        return S.stack.start_pool(name, workers=1, env=env)
    finally:
        S.stack.env.update(saved)


def kid(S, openid):
    return psql(S, "SELECT session_key_kid FROM users WHERE openid = " + lit(openid))


def run_bare(S, **env):
    """build/wxauth run directly with a minimal environment; (exit status, stderr)."""
    e = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    e.update(DATABASE_URL="x", WX_APPID="wx1", WX_SECRET="s")
    e.update(env)
    try:
        p = subprocess.run([S.stack.binary], env=e, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=10)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return "hung", ""


def t_key_rotation(S):
    mk = main_key(S)
    check(bool(mk), "the main pool's data key is known (WXAUTH_DATA_KEY_FILE in the stack env)")
    if not mk:
        return
    c, tok, _ = new_user(S)
    new = base64.b64encode(secrets.token_bytes(32)).decode()
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    base = keyed_pool(S, "rot-old", new, other + "," + mk)
    try:
        expect_user(post(base, UPDATE, sealed(S, c["session_key"], userinfo(S, nickName="Rotated")), tok),
                    "new key, main key among the old ones: the user's session_key opens", nick_name="Rotated")
        c2, tok2, _ = new_user(S, base=base)
        check(kid(S, c2["openid"]) not in ("", kid(S, c["openid"])),
              "a login there seals under the new key (another key id)")
        expect_decrypt_failed(post(S.main, UPDATE, sealed(S, c2["session_key"], userinfo(S)), tok2),
                              "the main pool cannot open what the new key sealed")
    finally:
        S.stack.stop_pool("rot-old")
    base = keyed_pool(S, "rot-new", base64.b64encode(secrets.token_bytes(32)).decode())
    try:
        expect_decrypt_failed(post(base, UPDATE, sealed(S, c["session_key"], userinfo(S)), tok),
                              "new key, no old keys: the session_key cannot be read")
        check(info(S, tok, base).get("openid") == c["openid"], "the profile is still served there")
        c3, tok3, _ = new_user(S, base=base)
        expect_user(post(base, UPDATE, sealed(S, c3["session_key"], userinfo(S, nickName="Fresh")), tok3),
                    "a fresh login through the new-key pool works", nick_name="Fresh")
    finally:
        S.stack.stop_pool("rot-new")
    # The worker refuses to start without a usable key, naming the variable, not the key.
    short = base64.b64encode(secrets.token_bytes(16)).decode()
    for env, what in (({}, "no key"), ({"WXAUTH_DATA_KEY": short}, "16-byte key"),
                      ({"WXAUTH_DATA_KEY": base64.b64encode(secrets.token_bytes(33)).decode()}, "33-byte key"),
                      ({"WXAUTH_DATA_KEY": "not base64 at all, not at all, not at all!!"}, "not base64"),
                      ({"WXAUTH_DATA_KEY_FILE": "/nonexistent/wxauth.key"}, "missing key file"),
                      ({"WXAUTH_DATA_KEY": new, "WXAUTH_DATA_KEYS_OLD": mk + "," + short}, "bad old key")):
        rc, err = run_bare(S, **env)
        check(rc not in (0, "hung") and "WXAUTH_DATA_KEY" in err and
              not any(k in err for k in (short, new, mk)),
              "%s: exits non-zero before serving, naming WXAUTH_DATA_KEY: %r %r" % (what, rc, err[-200:]))


TESTS = [t_update_plain, t_update_bad_input, t_update_encrypted, t_decrypt_failures_identical,
         t_update_signature, t_placeholders, t_phone_code, t_phone_legacy, t_access_token_shared,
         t_token_refresh, t_token_stampede, t_remote_check_session, t_key_rotation, t_at_rest]
