#!/usr/bin/python3
"""A mixed load generator, run as a second process by tests/integration/faults.py:
CONC client threads, each with a keep-alive connection to the web server, send
a weighted mix of requests until SECONDS have passed:

    login    mint a fresh code at the fake WeChat, GET /api/user/auth_login
    info     GET /api/user/info            (one of the given tokens)
    check    GET /api/user/check_session   (one of the given tokens)
    update   POST /api/user/update_base_info, plain fields (one of the given tokens)
    healthz  GET /healthz

The configuration comes as one JSON object on stdin:
    {"url": "http://127.0.0.1:N", "secs": 60, "conc": 8, "tokens": [...],
     "mix": {"login": 2, "info": 3, ...}, "fake": "https://...", "ca": "ca.pem"}
("fake" and "ca" only when the mix has logins).

Prints one JSON object: "records", one [t, kind, status, slug, envelope_ok,
has_request_id, seconds] per request (t: time.monotonic() when it ended, which
is the system-wide CLOCK_MONOTONIC, comparable with the caller's; status 0 for
a transport error), "issued": [t, token] per successful login, "session_keys"
of the codes it minted, and "leaks": responses that held one of those
session_keys (base64 or hex) or a minted code.  Standard library only."""

import base64
import http.client
import json
import random
import re
import ssl
import sys
import threading
import time

CTYPE = "application/json; charset=utf-8"
B64_24 = re.compile(rb"[A-Za-z0-9+/]{22}==")
HEX_32 = re.compile(rb"[0-9a-fA-F]{32}")


def envelope_ok(status, ctype, raw):
    if ctype != CTYPE:
        return False
    try:
        obj = json.loads(raw.decode("utf-8"))
    except ValueError:
        return False
    if not isinstance(obj, dict) or not isinstance(obj.get("code"), int) or \
            not isinstance(obj.get("msg"), str):
        return False
    if status == 200:
        return obj["code"] == 0 and isinstance(obj.get("res"), dict)
    return obj["code"] != 0 and isinstance(obj.get("error"), str)


def main():
    cfg = json.loads(sys.stdin.read())
    host, port = cfg["url"].replace("http://", "").split(":")
    port = int(port)
    tokens = cfg.get("tokens") or []
    mix = cfg["mix"]
    kinds = [k for k, w in mix.items() for _ in range(int(w))]
    stop = time.monotonic() + float(cfg["secs"])
    lock = threading.Lock()
    records, issued, keys, leaks = [], [], set(), []
    if "fake" in cfg:
        fhost, fport = cfg["fake"].replace("https://", "").split(":")
        fctx = ssl.create_default_context(cafile=cfg["ca"])

    def scan(raw, hdrs):
        """Any session_key this process minted, in a response?"""
        blob = raw + hdrs
        with lock:
            known = set(keys)
        hits = [m for m in B64_24.findall(blob) if m.decode() in known]
        for h in HEX_32.findall(blob):
            try:
                b = base64.b64encode(bytes.fromhex(h.decode())).decode()
            except ValueError:
                continue
            if b in known:
                hits.append(h)
        return hits

    def client(n):
        rnd = random.Random(n)
        c = None
        fc = None
        while time.monotonic() < stop:
            kind = rnd.choice(kinds)
            tok = rnd.choice(tokens) if tokens else None
            hdrs = {"Authorization": "Bearer " + tok} if tok else {}
            body = None
            method = "GET"
            if kind == "login":
                try:
                    if fc is None:
                        fc = http.client.HTTPSConnection(fhost, int(fport), context=fctx,
                                                         timeout=10)
                    fc.request("POST", "/_fake/code", body=b"{}",
                               headers={"Content-Type": "application/json"})
                    code = json.loads(fc.getresponse().read())
                except (OSError, http.client.HTTPException, ValueError):
                    fc = None
                    continue
                with lock:
                    keys.add(code["session_key"])
                path, hdrs = "/api/user/auth_login?code=" + code["code"], {}
            elif kind == "info":
                path = "/api/user/info"
            elif kind == "check":
                path = "/api/user/check_session"
            elif kind == "update":
                method, path = "POST", "/api/user/update_base_info"
                body = json.dumps({"nick_name": "load%d" % rnd.randrange(1000),
                                   "gender": rnd.randrange(3), "city": "Guangzhou"}).encode()
                hdrs = dict(hdrs, **{"Content-Type": "application/json"})
            else:
                path = "/healthz"
            t0 = time.monotonic()
            status, slug, ok, rid, raw = 0, "", 0, 0, b""
            try:
                if c is None:
                    c = http.client.HTTPConnection(host, port, timeout=10)
                c.request(method, path, body=body, headers=hdrs)
                r = c.getresponse()
                raw = r.read()
                status = r.status
                ok = 1 if envelope_ok(status, r.getheader("content-type"), raw) else 0
                rid = 1 if r.getheader("x-request-id") else 0
                hblob = "\n".join("%s: %s" % kv for kv in r.getheaders()).encode()
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except ValueError:
                    obj = None
                if isinstance(obj, dict):
                    slug = obj.get("error") or ""
                    if kind == "login" and status == 200:
                        with lock:
                            issued.append([time.monotonic(), obj["res"]["token"]])
                bad = scan(raw, hblob)
                if bad or (kind == "login" and code["code"].encode() in raw):
                    with lock:
                        leaks.append([kind, status, raw[:200].decode("utf-8", "replace")])
                if (r.getheader("connection") or "").lower() == "close":
                    c.close()
                    c = None
            except (OSError, http.client.HTTPException):
                if c is not None:
                    c.close()
                c = None
            t1 = time.monotonic()
            with lock:
                records.append([round(t1, 4), kind, status, slug, ok, rid, round(t1 - t0, 4)])

    ts = [threading.Thread(target=client, args=(i,)) for i in range(int(cfg["conc"]))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"records": records, "issued": issued, "session_keys": sorted(keys),
                      "leaks": leaks}))


if __name__ == "__main__":
    main()
