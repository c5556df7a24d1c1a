#!/usr/bin/python3
"""Integration tests of the avatar upload (POST /api/user/avatar, multipart
as wx.uploadFile sends it) and of GET /api/avatar/<id>.  Run by run.py."""

import os
import struct
import uuid
import zlib

import harness as H
from harness import bearer, check, psql, request


def png(w=1, h=1, seed=0):
    """A real PNG of w x h grey pixels (seed changes the grey)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = b"".join(b"\x00" + bytes([seed % 256]) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + \
    b"\xff\xdb\x00\x43\x00" + bytes(range(64)) + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00" \
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"


def multipart(parts, boundary=None):
    """(body, content type) of a multipart/form-data body as wx.uploadFile
    makes it: parts are (name, filename or None, content type or None,
    bytes)."""
    b = boundary or "----WebKitFormBoundary" + uuid.uuid4().hex[:16]
    out = b""
    for name, filename, ctype, data in parts:
        out += b"--" + b.encode() + b"\r\n"
        disp = 'Content-Disposition: form-data; name="%s"' % name
        if filename is not None:
            disp += '; filename="%s"' % filename
        out += disp.encode() + b"\r\n"
        if ctype:
            out += b"Content-Type: " + ctype.encode() + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + b.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + b


def upload(S, tok, data, filename="tmp_avatar.png", ctype="image/png", extra=()):
    body, ct = multipart([("file", filename, ctype, data)] + list(extra))
    return request(S.main, "POST", "/api/user/avatar", body=body, headers=bearer(tok), ctype=ct)


def t_avatar_upload_and_get(S):
    _, r = H.login(S.main, S.fake)
    tok = r.res["token"]
    img = png(3, 2, seed=77)
    u = upload(S, tok, img)
    check(u.status == 200, "upload a PNG: %d %r" % (u.status, u.raw[:120]))
    url = u.res.get("avatar_url", "")
    check(url.startswith("/api/avatar/") and len(url) == len("/api/avatar/") + 32,
          "avatar_url is /api/avatar/<id>: %r" % url)
    check(u.res.get("user", {}).get("avatar_url") == url, "the profile points there")
    i = request(S.main, "GET", "/api/user/info", headers=bearer(tok))
    check(i.res.get("user", {}).get("avatar_url") == url, "info shows the new avatar_url")
    g = request(S.main, "GET", url)
    check(g.status == 200 and g.raw == img, "GET gives the same bytes (%d, %d bytes)" %
          (g.status, len(g.raw)))
    check(g.h("content-type") == "image/png", "its content type: %r" % g.h("content-type"))
    etag = g.h("etag") or ""
    check(etag == '"%s"' % url.rsplit("/", 1)[1], "a strong ETag, the id: %r" % etag)
    n = request(S.main, "GET", url, headers={"If-None-Match": etag})
    check(n.status == 304 and n.raw == b"", "If-None-Match: 304, no body (%d)" % n.status)
    n = request(S.main, "GET", url, headers={"If-None-Match": '"other", W/' + etag})
    check(n.status == 304, "If-None-Match with a list (weak form too): 304 (%d)" % n.status)
    n = request(S.main, "GET", url, headers={"If-None-Match": '"other"'})
    check(n.status == 200 and n.raw == img, "another ETag: the image (%d)" % n.status)
    # No session needed to read one; the id itself is the secret.
    bad = request(S.main, "GET", "/api/avatar/" + "0" * 32)
    check(bad.status == 404 and bad.slug == "not_found", "an unknown id: 404 not_found")
    for p in ("/api/avatar/xyz", "/api/avatar/" + "A" * 32, "/api/avatar/",
              "/api/avatar/" + "0" * 32 + "/x"):
        b = request(S.main, "GET", p)
        check(b.status == 404 and b.slug == "not_found", "%s: 404 (%d)" % (p, b.status))
    m = request(S.main, "POST", url)
    check(m.status == 405, "POST to an avatar: 405 (%d)" % m.status)


def t_avatar_content_decides(S):
    _, r = H.login(S.main, S.fake)
    tok = r.res["token"]
    for data, want in ((JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"),
                       (png(2, 2, seed=5), "image/png")):
        # The declared type and the file name say otherwise: the bytes win.
        u = upload(S, tok, data, filename="avatar.txt", ctype="text/plain")
        check(u.status == 200, "upload %s named .txt: %d %r" % (want, u.status, u.raw[:100]))
        g = request(S.main, "GET", u.res.get("avatar_url", "/api/avatar/none"))
        check(g.status == 200 and g.h("content-type") == want and g.raw == data,
              "served as %s (%r)" % (want, g.h("content-type")))
    for data, what in ((b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
                       (b"GIF8", "a cut GIF header"), (b"", "an empty file"),
                       (b"%PDF-1.4\n", "a PDF"), (b"\x89PNG\r\n", "a cut PNG signature")):
        u = upload(S, tok, data, filename="x.png", ctype="image/png")
        check(u.status == 400 and u.slug == "bad_request", "%s refused: %d %s" %
              (what, u.status, u.slug))


def t_avatar_dedup(S):
    img = png(4, 4, seed=201)
    urls = []
    for _ in range(3):
        _, r = H.login(S.main, S.fake)
        u = upload(S, r.res["token"], img)
        urls.append(u.res.get("avatar_url"))
    check(len(set(urls)) == 1 and urls[0], "three users, one image: one url (%r)" % urls)
    n = psql(S, "SELECT count(*) FROM avatars WHERE id = '%s'" % urls[0].rsplit("/", 1)[1])
    check(n == "1", "stored once (%s rows)" % n)
    # The id is keyed: not the plain hash of the bytes.
    import hashlib
    check(urls[0].rsplit("/", 1)[1] != hashlib.sha256(img).hexdigest()[:32],
          "the id is not the image's plain SHA-256")


def t_avatar_limits(S):
    _, r = H.login(S.main, S.fake)
    tok = r.res["token"]
    big = png(1, 1) + b"\x00" * (1024 * 1024 - len(png(1, 1)))
    u = upload(S, tok, big)
    check(u.status == 200, "exactly 1 MiB: accepted (%d %s)" % (u.status, u.slug))
    u = upload(S, tok, big + b"\x00")
    check(u.status == 413 and u.slug == "payload_too_large", "1 MiB + 1 byte: 413 (%d %s)" %
          (u.status, u.slug))
    u = upload(S, tok, big * 2)
    check(u.status == 413, "2 MiB: 413 (%d)" % u.status)
    # Not multipart, no file part, two file parts, a broken body.
    u = request(S.main, "POST", "/api/user/avatar", body=png(), headers=bearer(tok),
                ctype="image/png")
    check(u.status == 400 and u.slug == "bad_request", "a bare image body: 400 (%d)" % u.status)
    body, ct = multipart([("avatar", "a.png", "image/png", png())])
    u = request(S.main, "POST", "/api/user/avatar", body=body, headers=bearer(tok), ctype=ct)
    check(u.status == 400, "no part named file: 400 (%d)" % u.status)
    body, ct = multipart([("file", "a.png", "image/png", png()),
                          ("file", "b.png", "image/png", png(seed=9))])
    u = request(S.main, "POST", "/api/user/avatar", body=body, headers=bearer(tok), ctype=ct)
    check(u.status == 400, "two file parts: 400 (%d)" % u.status)
    body, ct = multipart([("file", "a.png", "image/png", png())])
    u = request(S.main, "POST", "/api/user/avatar", body=body[:-20], headers=bearer(tok),
                ctype=ct)
    check(u.status == 400, "no closing boundary: 400 (%d)" % u.status)
    # Form fields beside the file (wx.uploadFile's formData) are fine.
    u = upload(S, tok, png(seed=3), extra=[("nick_name", None, None, "小明".encode())])
    check(u.status == 200, "a formData field beside the file: 200 (%d)" % u.status)
    # Authentication first, and the method.
    u = upload(S, "not-a-token", png())
    check(u.status == 401 and u.slug == "unauthorized", "no session: 401 (%d)" % u.status)
    g = request(S.main, "GET", "/api/user/avatar", headers=bearer(tok))
    check(g.status == 405, "GET /api/user/avatar: 405 (%d)" % g.status)


TESTS = [t_avatar_upload_and_get, t_avatar_content_decides, t_avatar_dedup, t_avatar_limits]
