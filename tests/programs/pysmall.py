# A leak of small objects: a registry of small dicts that only grows, one
# entry every few milliseconds (each dict and its str under 512 bytes: with
# pymalloc they come from its arenas, never from malloc).
# usage: pysmall.py SECONDS [PER_SECOND]
import sys
import time

REGISTRY = {}


def register(i):
    REGISTRY[i] = {"id": i, "name": "user-%d" % i, "tags": ["a", "b"]}


def main():
    seconds = float(sys.argv[1])
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 4000
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < seconds:
        for _ in range(int(rate / 100)):
            register(i)
            i += 1
        time.sleep(0.01)
    print(len(REGISTRY) > 0)


main()
