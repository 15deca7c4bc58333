# Allocates bytearrays of known sizes at known lines, in every shape Python
# code takes (functions, methods, closures, generators, coroutines,
# comprehensions, lambdas, exec'd code, threads, C calling back into Python,
# non-ASCII names, code objects made and freed in a loop), and records what
# sys._getframe() says at each: the frames the trace must show, exactly.
# usage: pygolden.py EXPECTED.jsonl
# Each line of EXPECTED: {"size": bytes malloc'd, "frames": [[function,
# file, line], ...] innermost first}. Every bytearray stays alive to the end,
# so that each one is written to the trace as a long-lived block.
import asyncio
import json
import sys
import threading
import time

KEEP = []
EXPECT = []
_size = [200003]


def size():
    """A size no other allocation of the run has: odd, above pymalloc's 512."""
    _size[0] += 64
    return _size[0]


_small = [40001]


def small_size():
    """Unique too, and small: made_and_freed's thousand rounds keep theirs."""
    _small[0] += 2
    return _small[0]


def name_of(code):
    return getattr(code, "co_qualname", code.co_name)


def K(buf, frame):
    """Keeps buf and records the stack of the line that made it."""
    frames = []
    f = frame
    while f is not None:
        frames.append([name_of(f.f_code), f.f_code.co_filename, f.f_lineno])
        f = f.f_back
    KEEP.append(buf)
    EXPECT.append({"size": len(buf) + 1, "frames": frames})


def plain():
    K(bytearray(size()), sys._getframe())


def deep(n):
    if n == 0:
        K(bytearray(size()), sys._getframe())
        return
    deep(n - 1)


class Record:
    def __init__(self):
        K(bytearray(size()), sys._getframe())

    def method(self):
        K(bytearray(size()), sys._getframe())

    @staticmethod
    def static():
        K(bytearray(size()), sys._getframe())


def closure():
    n = size()

    def inner():
        K(bytearray(n), sys._getframe())

    inner()


def gen():
    K(bytearray(size()), sys._getframe())
    yield 1
    K(bytearray(size()), sys._getframe())
    yield 2


async def coro_inner():
    await asyncio.sleep(0)
    K(bytearray(size()), sys._getframe())


async def coro_main():
    await coro_inner()
    K(bytearray(size()), sys._getframe())


def comprehension():
    return [K(bytearray(size()), sys._getframe()) for _ in range(2)]


def by_lambda():
    f = lambda: K(bytearray(size()), sys._getframe())  # noqa: E731
    f()


def keyed(x):
    K(bytearray(size()), sys._getframe())
    return -x


def c_calls_back():
    return sorted([3, 1, 2], key=keyed)


def café():
    K(bytearray(size()), sys._getframe())


class Δέλτα:
    def μέθοδος(self):
        K(bytearray(size()), sys._getframe())


def 𠀋x():
    K(bytearray(size()), sys._getframe())


DYN = """
def dynamic():
    K(bytearray(size()), sys._getframe())
dynamic()
"""


def exec_code():
    exec(compile(DYN, "<dyn>", "exec"), {"K": K, "size": size, "sys": sys})


def made_and_freed():
    # Code objects made, run and dropped: their addresses are reused by the
    # next ones, which start on other lines. Their line tables' addresses
    # too, now and then (3.10 under PYTHONMALLOC=malloc: 3 to 12 rounds in
    # a thousand, where the shim told code objects apart by the two).
    for i in range(1000):
        src = "\n" * (i % 7) + "def f%d():\n    K(bytearray(size()), sys._getframe())\n" % i
        ns = {"K": K, "size": small_size, "sys": sys}
        exec(compile(src, "<loop>", "exec"), ns)
        ns["f%d" % i]()
        del ns, src


def in_thread():
    t = threading.Thread(target=plain, name="golden")
    t.start()
    t.join()


def main():
    plain()
    deep(20)
    for _ in range(4):  # the call specialises after a few
        Record()
    Record().method()
    Record.static()
    closure()
    for _ in gen():
        pass
    asyncio.run(coro_main())
    comprehension()
    by_lambda()
    c_calls_back()
    café()
    Δέλτα().μέθοδος()
    𠀋x()
    exec_code()
    made_and_freed()
    in_thread()


main()
with open(sys.argv[1], "w", encoding="utf-8") as out:
    for e in EXPECT:
        out.write(json.dumps(e, ensure_ascii=False) + "\n")
time.sleep(0.3)  # every block past the promotion age (the test sets 10 ms)
