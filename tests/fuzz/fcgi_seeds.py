#!/usr/bin/python3
"""Write the seed corpus of fuzz_fcgi (tests/fuzz/corpus/fcgi/): whole
FastCGI connections as lighttpd, Apache or nginx would send them, for every
route, and a few a web server would not (keep-alive with two requests,
management records, an abort, parameters in the long length form, a body
in many chunks).  Run it again after changing it; the files are committed."""

import base64
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fcgi")
BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES = range(1, 10)
TOKEN = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
ENC = ("CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC"
       "+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poO"
       "FtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8"
       "xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB"
       "6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJd"
       "NiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOy"
       "uxINew==")


def rec(typ, rid, content=b"", pad=0):
    return struct.pack(">BBHHBx", 1, typ, rid, len(content), pad) + content + b"\0" * pad


def nv(name, value, long_form=False):
    n, v = name.encode(), value.encode()
    def ln(x):
        return struct.pack(">I", x | 0x80000000) if long_form or x > 127 else bytes([x])
    return ln(len(n)) + ln(len(v)) + n + v


def begin(rid, keep=False, role=1):
    return rec(BEGIN, rid, struct.pack(">HB5x", role, 1 if keep else 0))


def request(method, uri, body=b"", ctype=None, headers=(), rid=1, keep=False, chunks=1,
            long_form=False, split_params=False):
    path, _, query = uri.partition("?")
    p = [("GATEWAY_INTERFACE", "CGI/1.1"), ("SERVER_SOFTWARE", "lighttpd/1.4.69"),
         ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_METHOD", method), ("REQUEST_URI", uri),
         ("SCRIPT_NAME", path), ("QUERY_STRING", query), ("REMOTE_ADDR", "127.0.0.1"),
         ("REMOTE_PORT", "51234"), ("SERVER_NAME", "127.0.0.1"), ("SERVER_PORT", "8080")]
    if body or method == "POST":
        p.append(("CONTENT_LENGTH", str(len(body))))
    if ctype:
        p.append(("CONTENT_TYPE", ctype))
    p.extend(headers)
    pb = b"".join(nv(k, v, long_form) for k, v in p)
    out = begin(rid, keep)
    if split_params:
        half = len(pb) // 2
        out += rec(PARAMS, rid, pb[:half]) + rec(PARAMS, rid, pb[half:], pad=3)
    else:
        out += rec(PARAMS, rid, pb)
    out += rec(PARAMS, rid)
    step = max(1, -(-len(body) // chunks)) if body else 1
    for i in range(0, len(body), step):
        out += rec(STDIN, rid, body[i:i + step])
    return out + rec(STDIN, rid)


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
AUTH = [("HTTP_AUTHORIZATION", "Bearer " + TOKEN)]
SEEDS = {
    "healthz": request("GET", "/healthz"),
    "login_get": request("GET", "/api/user/auth_login?code=061Xyz000Abc",
                         headers=[("HTTP_X_REQUEST_ID", "seed-login")]),
    "login_post_form": request("POST", "/api/user/auth_login", b"code=061Xyz000Abc", FORM),
    "login_post_json_cookie": request("POST", "/api/user/auth_login", b'{"code":"061Xyz000Abc"}',
                                      JSON, [("HTTP_COOKIE", "lang=zh_CN; sid=" + TOKEN)]),
    "info_bearer": request("GET", "/api/user/info", headers=AUTH),
    "info_xwx": request("GET", "/api/user/info", headers=[("HTTP_X_WX_SESSION", TOKEN)]),
    "check_session_remote": request("GET", "/api/user/check_session?remote=1", headers=AUTH),
    "logout": request("POST", "/api/user/logout", headers=AUTH),
    "update_json": request("POST", "/api/user/update_base_info", json.dumps(
        {"nick_name": "张三", "gender": 1, "city": "Guangzhou", "encrypted_data": ENC,
         "encrypt_iv": "r7BXXKkLb8qrSNn05n0qiA=="}, ensure_ascii=False).encode(), JSON, AUTH,
        chunks=7),
    "phone_form": request("POST", "/api/user/bind_wx_phone_number",
                          b"code=e31968a7f94cc5ee25fafc2aef2773f0", FORM, AUTH),
    "not_found": request("GET", "/nope?x=1"),
    "wrong_method": request("DELETE", "/api/user/info", headers=AUTH),
    "too_large": request("POST", "/api/user/auth_login", b"code=" + b"a" * 70000, FORM,
                         chunks=3)[:2000],
    "long_form_params": request("GET", "/healthz", long_form=True, split_params=True),
    "keep_conn_two": request("GET", "/healthz", rid=1, keep=True) +
                     request("GET", "/api/user/info", rid=1, keep=True, headers=AUTH),
    "interleaved_ids": begin(1) + begin(2) + rec(PARAMS, 2, nv("REQUEST_METHOD", "GET")) +
                       rec(PARAMS, 1, nv("REQUEST_URI", "/healthz")) + rec(PARAMS, 1) +
                       rec(PARAMS, 2) + rec(STDIN, 2) + rec(STDIN, 1),
    "abort": begin(1) + rec(PARAMS, 1, nv("REQUEST_URI", "/healthz")) + rec(ABORT, 1),
    "get_values": rec(GET_VALUES, 0, nv("FCGI_MAX_CONNS", "") + nv("FCGI_MAX_REQS", "") +
                      nv("FCGI_MPXS_CONNS", "")) + request("GET", "/healthz"),
    "unknown_type": rec(0x42, 0, b"xyz") + request("GET", "/healthz"),
    "role_filter": begin(1, role=3) + rec(PARAMS, 1) + rec(STDIN, 1) + rec(DATA, 1, b"d") +
                   rec(DATA, 1),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("fcgi_seeds: %d seeds in %s" % (len(SEEDS), OUT))


if __name__ == "__main__":
    main()
