#!/usr/bin/python3
"""Integration tests of the rate limits (WXAUTH_LIMIT_*, lib/limit.h), the
client address behind trusted proxies, and the purge of expired rows.  Each
runs on pools of its own with small limits; counts are exact, with requests
spread over many connections and several workers.  Run by run.py."""

import concurrent.futures
import os
import re
import subprocess
import time

import harness as H
from harness import bearer, check, psql, request

OFF = {"WXAUTH_LIMIT_LOGIN_IP": "0", "WXAUTH_LIMIT_LOGIN_USER": "0",
       "WXAUTH_LIMIT_PHONE_USER": "0", "WXAUTH_LIMIT_DECRYPT_FAIL": "0"}


def fresh_window(margin=20):
    """Counters use aligned minutes: start a test well inside one."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.3)


def pool(S, name, workers=4, **env):
    e = dict(OFF, WX_TIMEOUT_MS="2000", WXAUTH_THREADS="2")
    e.update(env)
    return S.stack.start_pool(name, workers=workers, env=e)


def parallel(fn, args, n=8):
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        return list(ex.map(fn, args))


def counter(S, key):
    v = psql(S, "SELECT COALESCE(sum(n), 0) FROM rate_counters WHERE key = '%s' AND "
                "window_start > now() - interval '1 day'" % key.replace("'", "''"))
    return int(v)


def counter_now(S, key):
    """The count in the current minute's window."""
    v = psql(S, "SELECT COALESCE(sum(n), 0) FROM rate_counters WHERE key = '%s' AND "
                "window_start = to_timestamp(floor(extract(epoch FROM now()) / 60) * 60)"
             % key.replace("'", "''"))
    return int(v)


def statuses(rs):
    return sorted(r.status for r in rs)


def is_429(r, lo, hi):
    ra = r.h("retry-after") or ""
    return r.status == 429 and r.slug == "rate_limited" and ra.isdigit() and lo <= int(ra) <= hi


def login_code(base, code, headers=None):
    r = request(base, "GET", "/api/user/auth_login?code=" + code, headers=headers)
    if r.status == 200:
        H.secrets_seen.add(r.res["token"])
    return r


def t_limit_login_ip(S):
    base = pool(S, "lim_ip", WXAUTH_LIMIT_LOGIN_IP="5")
    try:
        fresh_window()
        before = counter_now(S, "login_ip:127.0.0.1")
        n0 = S.fake.stats()["jscode2session"]
        codes = [S.fake.code()["code"] for _ in range(8)]
        rs = parallel(lambda c: login_code(base, c), codes)
        ok = [r for r in rs if r.status == 200]
        # The address may have counts from earlier in this minute (reruns).
        allowed = max(0, 5 - before)
        check(len(ok) == allowed, "login per address: exactly %d of 8 allowed: %r" %
              (allowed, statuses(rs)))
        check(all(is_429(r, 1, 60) for r in rs if r.status != 200),
              "the rest 429 rate_limited with Retry-After 1-60")
        check(S.fake.stats()["jscode2session"] - n0 == allowed,
              "refused logins never reach WeChat")
        check(counter_now(S, "login_ip:127.0.0.1") == before + 8, "every attempt counted once")
        # Without a trusted proxy, X-Forwarded-For is not believed.
        c = S.fake.code()["code"]
        r = login_code(base, c, {"X-Forwarded-For": "10.9.9.9"})
        check(r.status == 429 and counter(S, "login_ip:10.9.9.9") == 0,
              "X-Forwarded-For ignored without WXAUTH_TRUSTED_PROXIES (%d)" % r.status)
    finally:
        S.stack.stop_pool("lim_ip")


def t_limit_trusted_proxy(S):
    base = pool(S, "lim_xff", WXAUTH_LIMIT_LOGIN_IP="3", WXAUTH_TRUSTED_PROXIES="127.0.0.1,10.0.0.1")
    try:
        fresh_window()
        a = "10.77.%d.%d" % (os.getpid() % 250, int(time.time()) % 250)
        b = "10.78.%d.%d" % (os.getpid() % 250, int(time.time()) % 250)
        ra = parallel(lambda c: login_code(base, c, {"X-Forwarded-For": a}),
                      [S.fake.code()["code"] for _ in range(5)])
        # Our own proxy chain: the client is the rightmost untrusted hop.
        rb = parallel(lambda c: login_code(base, c, {"X-Forwarded-For": "1.2.3.4, %s, 10.0.0.1" % b}),
                      [S.fake.code()["code"] for _ in range(5)])
        check(statuses(ra) == [200] * 3 + [429] * 2, "client %s: 3 of 5: %r" % (a, statuses(ra)))
        check(statuses(rb) == [200] * 3 + [429] * 2, "client %s behind two proxies: 3 of 5: %r" %
              (b, statuses(rb)))
        check(counter(S, "login_ip:" + a) == 5 and counter(S, "login_ip:" + b) == 5 and
              counter(S, "login_ip:1.2.3.4") == 0 and counter(S, "login_ip:10.0.0.1") == 0,
              "counted by the right address")
        r = login_code(base, S.fake.code()["code"], {"X-Forwarded-For": "<script>"})
        check(r.status in (200, 429) and r.status != 500, "garbage X-Forwarded-For: the proxy's address")
    finally:
        S.stack.stop_pool("lim_xff")


def t_limit_login_ip_ahead(S):
    """A limit of 64 is counted ahead of the database in batches of 4
    (lib/limit.h): 4 processes admit at most 4 batches over it, refused
    logins never reach WeChat, and within a second or two every attempt is
    in the database, once."""
    base = pool(S, "lim_ahead", WXAUTH_LIMIT_LOGIN_IP="64", WXAUTH_TRUSTED_PROXIES="127.0.0.1")
    try:
        fresh_window(margin=30)
        a = "10.79.%d.%d" % (os.getpid() % 250, int(time.time()) % 250)
        key = "login_ip:" + a
        n0 = S.fake.stats()["jscode2session"]
        rs = parallel(lambda c: login_code(base, c, {"X-Forwarded-For": a}),
                      [S.fake.code()["code"] for _ in range(100)])
        ok = [r for r in rs if r.status == 200]
        check(64 <= len(ok) <= 64 + 4 * 4,
              "login per address counted ahead: 64 to 80 of 100 allowed: %d" % len(ok))
        check(all(is_429(r, 1, 60) for r in rs if r.status != 200),
              "the rest 429 rate_limited with Retry-After 1-60")
        check(S.fake.stats()["jscode2session"] - n0 == len(ok),
              "refused logins never reach WeChat")
        deadline = time.monotonic() + 5
        while counter_now(S, key) < 100 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.2)     # one more flush: nothing is counted twice
        check(counter_now(S, key) == 100, "every attempt counted once: %d" % counter_now(S, key))
        # A fresh address's first login is counted ahead too, and written
        # by the maintenance thread within a second or two.
        b = "10.80.%d.%d" % (os.getpid() % 250, int(time.time()) % 250)
        r = login_code(base, S.fake.code()["code"], {"X-Forwarded-For": b})
        check(r.status == 200, "a first login (%d)" % r.status)
        deadline = time.monotonic() + 5
        while counter_now(S, "login_ip:" + b) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.2)
        check(counter_now(S, "login_ip:" + b) == 1, "written once within a second or two")
    finally:
        S.stack.stop_pool("lim_ahead")


def t_limit_login_user(S):
    base = pool(S, "lim_user", WXAUTH_LIMIT_LOGIN_USER="3")
    try:
        fresh_window()
        openid = "olimit%d%d" % (os.getpid(), int(time.time() * 1000))
        n0 = S.fake.stats()["jscode2session"]
        rs = parallel(lambda c: login_code(base, c), [S.fake.code(openid=openid)["code"]
                                                      for _ in range(6)])
        check(statuses(rs) == [200] * 3 + [429] * 3, "login per openid: 3 of 6: %r" % statuses(rs))
        check(all(is_429(r, 1, 60) for r in rs if r.status != 200), "429 with Retry-After")
        check(S.fake.stats()["jscode2session"] - n0 == 6, "each code was exchanged once")
        other = login_code(base, S.fake.code()["code"])
        check(other.status == 200, "another user is not limited")
        n = psql(S, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                    "WHERE u.openid = '%s'" % openid)
        check(n == "3", "no session for the refused logins (%s)" % n)
    finally:
        S.stack.stop_pool("lim_user")


def t_limit_phone(S):
    base = pool(S, "lim_phone", WXAUTH_LIMIT_PHONE_USER="2")
    try:
        c, r = H.login(base, S.fake)
        tok = r.res["token"]
        g0 = S.fake.stats()["getuserphonenumber"]
        # A failed bind gives its reservation back.
        r = request(base, "POST", "/api/user/bind_wx_phone_number", {"code": "nosuchcode"},
                    headers=bearer(tok))
        check(r.status == 400 and r.slug == "invalid_code", "a refused code: invalid_code")
        codes = [S.fake.phone_code()["code"] for _ in range(5)]
        rs = parallel(lambda cd: request(base, "POST", "/api/user/bind_wx_phone_number",
                                         {"code": cd}, headers=bearer(tok)), codes)
        check(statuses(rs) == [200] * 2 + [429] * 3, "phone binds per user per day: 2 of 5: %r" %
              statuses(rs))
        check(all(is_429(r, 1, 86400) for r in rs if r.status != 200), "429 with Retry-After to the day's end")
        check(S.fake.stats()["getuserphonenumber"] - g0 == 1 + 2,
              "WeChat (which bills each) asked only for the allowed ones")
        uid = r.res.get("user", {}).get("id") or request(base, "GET", "/api/user/info",
                                                          headers=bearer(tok)).res["user"]["id"]
        check(counter(S, "phone_user:%s" % uid) == 2, "exactly the successful binds counted")
        # Another user has a day of their own.
        _, r2 = H.login(base, S.fake)
        r = request(base, "POST", "/api/user/bind_wx_phone_number",
                    {"code": S.fake.phone_code()["code"]}, headers=bearer(r2.res["token"]))
        check(r.status == 200, "another user binds")
    finally:
        S.stack.stop_pool("lim_phone")


def t_limit_decrypt_fail(S):
    base = pool(S, "lim_dec", WXAUTH_LIMIT_DECRYPT_FAIL="3")
    try:
        fresh_window()
        c, r = H.login(base, S.fake)
        tok = r.res["token"]
        c2 = S.fake.code(openid=c["openid"], session_key=c["session_key"])
        tok2 = login_code(base, c2["code"]).res["token"]
        appid = S.stack.env["WX_APPID"]
        good = S.fake.encrypt(c["session_key"], {"nickName": "Ok", "watermark": {"appid": appid}})
        bad = dict(good, encrypted_data="AAAA" + good["encrypted_data"][4:])
        q = lambda e, t: request(base, "POST", "/api/user/update_base_info",
                                 {"encrypted_data": e["encrypted_data"], "encrypt_iv": e["iv"]},
                                 headers=bearer(t))
        rs = parallel(lambda _: q(bad, tok), range(3), n=3)
        check([r.slug for r in rs] == ["decrypt_failed"] * 3, "3 failures: decrypt_failed")
        r = q(good, tok)
        check(is_429(r, 1, 60), "the 4th attempt, even with good data: 429 (%d %s)" % (r.status, r.slug))
        sig = request(base, "POST", "/api/user/update_base_info",
                      {"raw_data": "{}", "signature": "0" * 40}, headers=bearer(tok))
        check(sig.status == 429, "signatures are refused too while over (%d)" % sig.status)
        r = q(good, tok2)
        check(r.status == 200 and r.res["user"]["nick_name"] == "Ok",
              "another session of the user is not limited (%d)" % r.status)
        r = request(base, "GET", "/api/user/info", headers=bearer(tok))
        check(r.status == 200, "the limited session still reads")
    finally:
        S.stack.stop_pool("lim_dec")


def t_limits_off(S):
    _, r = H.login(S.main, S.fake)
    openid = r.res["user"]["openid"]
    check(counter(S, "login_user:" + openid) == 0, "a limit of 0 counts nothing")


def t_purge(S):
    # An expired session, an idle one, a live one; an old counter, a new one.
    _, r = H.login(S.main, S.fake)
    uid = int(r.res["user"]["id"])
    live = r.res["token"]
    psql(S, "DELETE FROM sessions WHERE token_hash IN (sha256('purge-a'::bytea), "
            "sha256('purge-b'::bytea), sha256('purge-c'::bytea))")
    psql(S, "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES "
            "(sha256('purge-a'::bytea), %d, now() - interval '1 s'), "
            "(sha256('purge-b'::bytea), %d, now() + interval '1 day')" % (uid, uid))
    psql(S, "UPDATE sessions SET last_seen = now() - interval '2 days' "
            "WHERE token_hash = sha256('purge-b'::bytea)")
    tag = "%d.%d" % (os.getpid(), int(time.time() * 1000))
    psql(S, "INSERT INTO rate_counters VALUES ('purge:old:%s', now() - interval '3 days', 5), "
            "('purge:new:%s', now(), 1)" % (tag, tag))
    env = dict(S.stack.pools["main"]["env"])
    p = subprocess.run([S.stack.binary, "purge"], env=env, capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0 and re.search(r"\d+ rows deleted", p.stderr), "wxauth purge: %r" %
          p.stderr[-200:])
    left = psql(S, "SELECT count(*) FROM sessions WHERE token_hash IN "
                   "(sha256('purge-a'::bytea), sha256('purge-b'::bytea))")
    check(left == "0", "expired and idle sessions purged (%s left)" % left)
    check(psql(S, "SELECT count(*) FROM rate_counters WHERE key = 'purge:old:%s'" % tag) == "0" and
          psql(S, "SELECT count(*) FROM rate_counters WHERE key = 'purge:new:%s'" % tag) == "1",
          "old counters purged, current ones kept")
    check(request(S.main, "GET", "/api/user/info", headers=bearer(live)).status == 200,
          "live sessions kept")
    # And the workers do it by themselves.
    base = pool(S, "purger", workers=2, WXAUTH_PURGE_INTERVAL="1")
    try:
        psql(S, "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES "
                "(sha256('purge-c'::bytea), %d, now() - interval '1 s')" % uid)
        gone = False
        t0 = time.monotonic()
        while time.monotonic() - t0 < 6:
            if psql(S, "SELECT count(*) FROM sessions WHERE token_hash = "
                       "sha256('purge-c'::bytea)") == "0":
                gone = True
                break
            time.sleep(0.2)
        check(gone, "the pool purges by itself (WXAUTH_PURGE_INTERVAL=1): %.1f s" %
              (time.monotonic() - t0))
        check(request(base, "GET", "/healthz").status == 200, "and serves meanwhile")
    finally:
        S.stack.stop_pool("purger")


TESTS = [t_limit_login_ip, t_limit_login_ip_ahead, t_limit_trusted_proxy, t_limit_login_user, t_limit_phone,
         t_limit_decrypt_fail, t_limits_off, t_purge]
