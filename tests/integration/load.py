#!/usr/bin/python3
"""A bounded load generator, run as a second process by the pool tests:
C client threads, each with a keep-alive connection, GET PATH until SECONDS
have passed (or the file STOPFILE appears).  Prints one JSON object: the
count of each status, transport errors, and the time of each failure.

    load.py URL PATH CONCURRENCY SECONDS [HEADER:VALUE ...]

Standard library only."""

import http.client
import json
import os
import sys
import threading
import time


def main():
    url, path, conc, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    headers = dict(h.split(":", 1) for h in sys.argv[5:])
    host, port = url.replace("http://", "").split(":")
    stop = time.monotonic() + secs
    lock = threading.Lock()
    out = {"statuses": {}, "errors": 0, "total": 0, "failures_at": []}
    t0 = time.monotonic()

    def client():
        c = None
        while time.monotonic() < stop:
            try:
                if c is None:
                    c = http.client.HTTPConnection(host, int(port), timeout=10)
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                st = str(r.status)
                if r.getheader("connection", "").lower() == "close":
                    c.close()
                    c = None
            except (OSError, http.client.HTTPException):
                st = "error"
                if c is not None:
                    c.close()
                c = None
            with lock:
                out["total"] += 1
                if st == "error":
                    out["errors"] += 1
                else:
                    out["statuses"][st] = out["statuses"].get(st, 0) + 1
                if st != "200":
                    out["failures_at"].append(round(time.monotonic() - t0, 3))
    ts = [threading.Thread(target=client) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
