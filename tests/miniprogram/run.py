#!/usr/bin/python3
"""The mini program client (miniprogram/wxauth.js) under Node, against the real
stack: PostgreSQL, migrations, the fake WeChat over HTTPS, the worker pool
behind the web server (WEB, default lighttpd), started as the integration
tests start them (deploy/dev/devstack.py), plus a second pool whose sessions
last 2 s.  Then `node tests/miniprogram/test.js`, which prints one line per
journey and "miniprogram: N passed, M failed"; its exit status is ours.
Everything started is stopped, whatever happens.

    tests/miniprogram/run.py [journey ...]      (default: all of them)

State in WXAUTH_TEST_STATE (default .state/test-miniprogram).  Needs build/
(make all) and Node 18 or later.  Standard library only.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "deploy", "dev"))
import devstack  # noqa: E402

STATE = os.environ.get("WXAUTH_TEST_STATE") or os.path.join(ROOT, ".state", "test-miniprogram")
LOG = os.path.join(STATE, "workers.log")
NODE_TIMEOUT = 600


def fail(why):
    print("FAIL: " + why, flush=True)
    print("miniprogram: 0 passed, 1 failed", flush=True)
    return 1


def main():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        return fail("no node (Debian 12: apt-get install nodejs)")
    if not os.path.exists(os.path.join(ROOT, os.environ.get("WXAUTH_BUILD", "build"), "wxauth")):
        return fail("build/wxauth is missing: run make all first")
    os.makedirs(STATE, exist_ok=True)
    if os.path.exists(LOG):
        os.unlink(LOG)
    stack = devstack.Stack(state=STATE, log_to=LOG)
    try:
        stack.start_pg()
        stack.migrate()
        stack.start_fakewx()
        base = stack.start_pool("main")
        ttl = stack.start_pool("ttl", workers=1, env={"WXAUTH_SESSION_TTL": "2"})
        env = dict(os.environ, WXAUTH_BASE_URL=base, WXAUTH_TTL_BASE_URL=ttl,
                   WXAUTH_FAKE_URL=stack.fakewx_url, WXAUTH_FAKE_CA=stack.env["WX_CA_FILE"],
                   WXAUTH_APPID=devstack.DEV_APPID)
        try:
            p = subprocess.run([node, os.path.join(HERE, "test.js")] + sys.argv[1:],
                               cwd=ROOT, env=env, timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired:
            return fail("test.js did not finish in %d s" % NODE_TIMEOUT)
        return p.returncode
    except Exception as e:  # the stack did not start: say so in the tally's form
        return fail("%s: %s (see %s)" % (type(e).__name__, e, STATE))
    finally:
        stack.stop_all()


if __name__ == "__main__":
    sys.exit(main())
