#!/usr/bin/python3
"""docs/openapi.yaml against the program: every route `wxauth routes`
prints is documented with its methods and nothing else is, and the running
stack answers each documented operation (not 404 or 405) and refuses the
undocumented methods of those paths (405).  Standard library only: the
document's paths and operations are read from its layout (two-space
indentation under "paths:").  Run by run.py."""

import os
import re
import subprocess

from harness import ROOT, check, request

DOC = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def documented():
    """{(METHOD, path)} of the document, templated segments as '{...}'."""
    ops, path, in_paths = set(), None, False
    for line in open(DOC, encoding="utf-8"):
        if re.match(r"^\S", line):
            in_paths = line.startswith("paths:")
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*$", line)
        if m:
            path = m.group(1)
            continue
        m = re.match(r"^    (\w+):", line)
        if m and path and m.group(1) in METHODS:
            ops.add((m.group(1).upper(), path))
    return ops


def served():
    """{(METHOD, path)} from `wxauth routes`, a prefix route as '<p>{...}'."""
    binary = os.path.join(ROOT, os.environ.get("WXAUTH_BUILD", "build"), "wxauth")
    out = subprocess.run([binary, "routes"], capture_output=True, text=True, check=True).stdout
    ops = set()
    for line in out.splitlines():
        method, path = line.split(" ", 1)
        ops.add((method, path + "{...}" if path.endswith("/") else path))
    return ops


def t_openapi(S):
    doc = {(m, re.sub(r"\{[^}]*\}", "{...}", p)) for m, p in documented()}
    prog = served()
    check(len(prog) >= 10, "wxauth routes lists the routes (%d)" % len(prog))
    check(doc - prog == set(), "documented but not served: %s" % sorted(doc - prog))
    check(prog - doc == set(), "served but not documented: %s" % sorted(prog - doc))
    # The running stack agrees, operation by operation.
    for method, path in sorted(doc):
        p = path.replace("{...}", "0" * 32)
        r = request(S.main, method, p, body="" if method == "POST" else None)
        check(r.status not in (404, 405) or (path.startswith("/api/avatar/") and
                                             r.status == 404 and r.slug == "not_found"),
              "%s %s is served (%d %s)" % (method, path, r.status, r.slug))
    for path in sorted({p for _, p in doc}):
        for method in ("GET", "POST"):
            if (method, path) in doc:
                continue
            r = request(S.main, method, path.replace("{...}", "0" * 32),
                        body="" if method == "POST" else None)
            check(r.status == 405 and r.slug == "method_not_allowed",
                  "%s %s (not documented) is refused: %d" % (method, path, r.status))


TESTS = [t_openapi]
