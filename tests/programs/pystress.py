# Stress for the Python frame walker: every allocation walked while
# threads run JSON, regex, zlib and sqlite3 (which releases the GIL around
# its C calls), the cycle collector runs, finalizers allocate, a forked
# child allocates and exits, and a daemon thread is still allocating when
# the interpreter finalizes. Prints a digest that does not depend on timing,
# so that the output with the shim must equal the output without it.
# usage: pystress.py SECONDS
import gc
import hashlib
import json
import os
import re
import sqlite3
import sys
import threading
import time
import zlib

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
N = 6


class Finalized:
    made = 0

    def __init__(self, n):
        self.data = [n] * 8
        self.me = self  # a cycle: only the collector frees it

    def __del__(self):
        Finalized.made += 1
        _ = bytearray(600)  # a finalizer that allocates


def worker(k, out):
    h = hashlib.sha256()
    db = sqlite3.connect(":memory:")
    db.execute("create table t (a integer, b text)")
    deadline = time.monotonic() + SECONDS
    i = 0
    while time.monotonic() < deadline or i < 200:
        doc = {"k": k, "i": i, "s": "x" * (i % 50), "l": list(range(i % 20))}
        text = json.dumps(doc, sort_keys=True)
        if i < 200:  # the digest covers a fixed amount of work
            h.update(text.encode())
            h.update(zlib.compress(text.encode() * 4))
            h.update(str(re.findall(r"\d+", text)).encode())
            db.execute("insert into t values (?, ?)", (i, text))
        Finalized(i)
        if i % 50 == 0:
            gc.collect()
        i += 1
    rows = db.execute("select count(*), sum(a) from t").fetchone()
    h.update(repr(rows).encode())
    out[k] = h.hexdigest()[:16]


def daemon():
    while True:  # still allocating when the interpreter finalizes
        _ = [bytearray(700) for _ in range(10)]
        time.sleep(0.001)


def main():
    threading.Thread(target=daemon, daemon=True).start()
    out = [None] * N
    threads = [threading.Thread(target=worker, args=(k, out)) for k in range(N)]
    for t in threads:
        t.start()
    pid = os.fork()
    if pid == 0:
        child = [bytearray(900 + i) for i in range(100)]
        os._exit(0 if sum(map(len, child)) == 94950 else 1)
    for t in threads:
        t.join()
    _, status = os.waitpid(pid, 0)
    print("workers", " ".join(out))
    print("child", os.waitstatus_to_exitcode(status))
    print("finalized", Finalized.made > 0)


main()
