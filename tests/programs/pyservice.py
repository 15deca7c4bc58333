# A service whose retained records and temporary replies are built by the
# same function, on the same line: only the caller tells them apart. One
# request in three keeps its record in a history that is never pruned.
# usage: pyservice.py SECONDS [REQUESTS_PER_S] [BYTES]
import sys
import time

HISTORY = []


def build(kind, n):
    return {"kind": kind, "body": kind[0] * n}


def send(reply):
    return len(reply["body"])


def handle(req, n):
    reply = build("reply", n)
    send(reply)
    if req % 3 == 0:
        HISTORY.append(build("record", n))


def main():
    seconds = float(sys.argv[1])
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 300
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    start = time.monotonic()
    req = 0
    while time.monotonic() - start < seconds:
        for _ in range(int(rate / 50)):
            handle(req, n)
            req += 1
        time.sleep(0.02)
    print(len(HISTORY) > 0)


main()
