# Writes, for every code unit of thousands of code objects, the source line
# CPython's own co_lines() gives it, with each code object's raw co_linetable:
# the truth tests/programs/pylines_check compares analyzer/pylines.c against
# (tests/t0170-pylines.sh). Runs under CPython 3.10 to 3.13; deterministic.
# usage: pylines-dump.py [MAX_UNITS]  (the stdlib's share; default 800000)
#
# Output, one code object a line ('#' lines are comments):
#   MINOR FIRSTLINENO TABLE N LINE_0 ... LINE_N-1 LABEL
# TABLE is co_linetable in hex ('-' when empty), N the code units of co_code,
# LINE_i what co_lines() says of the unit at byte offset 2*i (None and units
# it does not cover: 0; other values as CPython gives them, even below 1),
# LABEL the rest of the line (file:qualname, for the mismatch report).
#
# The code objects: the interpreter's stdlib (tests excluded) compiled from
# source, every other file in path order, nested code objects too, up to
# MAX_UNITS code units; synthetic sources for the rare shapes (long
# functions, line jumps of 100000 both ways, lambdas, comprehensions,
# non-ASCII source, far columns, no-line code); and real code objects given
# random but well-formed tables, so that every entry form CPython can
# decode is checked, whether its compiler emits it or not, and tables cut
# short at any byte.
import os
import random
import sys
import sysconfig
import warnings

MINOR = sys.version_info[1]
CODE = type(compile("", "", "exec"))
out = sys.stdout


def walk(code):
    """The code object and every one nested in its constants, depth first."""
    stack = [code]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(reversed([k for k in c.co_consts if isinstance(k, CODE)]))


def write(code, label):
    n = len(code.co_code) // 2
    lines = [0] * n
    for start, end, line in code.co_lines():
        # the units whose byte offset 2*i lies in [start, end)
        lo, hi = max(0, (start + 1) // 2), min(n, (end + 1) // 2)
        if line is not None and lo < hi:
            lines[lo:hi] = [line] * (hi - lo)
    table = code.co_linetable.hex() or "-"
    name = getattr(code, "co_qualname", code.co_name)
    label = ("%s:%s" % (label, name)).replace("\n", "?").replace("\r", "?")
    out.write("%d %d %s %d %s %s\n" % (MINOR, code.co_firstlineno, table, n,
                                       " ".join(map(str, lines)), label))
    return n


def stdlib(max_units):
    """Every other stdlib source file in path order, tests excluded."""
    root = sysconfig.get_paths()["stdlib"]
    skip = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in skip)
        files += sorted(os.path.join(d, f) for f in names if f.endswith(".py"))
    files.sort()
    units = codes = 0
    sample = []
    for path in files[::2]:
        try:
            with open(path, "rb") as f:
                code = compile(f.read(), path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, OSError):
            continue  # lib2to3's Python 2 fixtures and the like
        rel = os.path.relpath(path, root)
        for c in walk(code):
            units += write(c, rel)
            codes += 1
            if codes % 16 == 0:
                sample.append(c)
        if units >= max_units:
            break
    return codes, units, sample


def synthetic_sources():
    """(label, source, mode): shapes the stdlib has few of, or none."""
    yield "long-function", "def long_function(y):\n" + "".join(
        "    x%d = %d * y + (y if y > %d else -y)\n" % (i, i, i) +
        ("    # a comment\n\n" if i % 7 == 0 else "") +
        ("    for k in range(%d):\n        y += k\n" % i if i % 50 == 0 else "")
        for i in range(600)) + "    return y\n", "exec"
    # one line of 600 bytes of bytecode (3.10: byte deltas beyond 254)
    yield "long-line", "def long_line(a):\n    return [" + ", ".join(
        "a + %d" % i for i in range(300)) + "]\n", "exec"
    # line 1, then line 100000; a call whose last argument is 99995 lines
    # below it (the call itself goes back up); a function starting there
    yield "line-jumps", "a = 1\n" + "\n" * 99998 + "b = 2\n", "exec"
    yield "line-jumps-back", "def f(*a):\n    return a\nx = f(\n1,\n" + "\n" * 99995 + \
        "2)\ny = 3\n", "exec"
    yield "first-line-100000", "\n" * 99999 + "def far(a):\n    b = a\n\n\n\n    return b\n" + \
        "\n" * 300 + "far(1)\n", "exec"
    # negative deltas: multi-line expressions evaluated out of order,
    # decorators, loops jumping back, chained comparisons, with, try
    yield "back-and-forth", '''
import functools
@functools.lru_cache(
    maxsize=None,
)
def decorated(a,
              b):
    total = (a
             + b
             * a)
    for i in range(
            a):
        while total > (
                i):
            total -= 1
        else:
            continue
    if (a <
            b <
            total):
        return [x
                for x in range(a)
                if x]
    try:
        with open(
                "/nonexistent") as f:
            f.read()
    except OSError as e:
        raise ValueError(
            "no") from e
    finally:
        total += 1
    return total
''', "exec"
    yield "lambdas-comprehensions", '''
square = lambda x: x * x
pairs = lambda *a, **k: (a,
                         k)
nums = [n * n for n in range(10) if n % 2]
table = {k: [v for v in range(k)] for k in range(5)}
uniq = {c for c in "abracadabra"}
gen = (x for x in nums
       if x > 1)
nested = [[lambda: (i, j) for j in range(3)] for i in range(3)]
async def agen():
    async for x in aiter_():
        yield [y async for y in x]
    await thing()
class K:
    attr = [m for m in range(3)]
    def method(self):
        return super().method()
    @property
    def prop(self):
        return (lambda: self)()
def closure():
    z = 1
    def inner():
        nonlocal z
        z += 1
        return z
    return inner
''', "exec"
    yield "match", '''
def m(cmd):
    match cmd:
        case [x, y, *rest] if x > y:
            return rest
        case {"k": v, **kw}:
            return v
        case str() | bytes():
            return 0
        case _:
            return None
''', "exec"
    # non-ASCII source: columns count UTF-8 bytes, so these go past 127 and
    # 255 (the location table's long form)
    yield "non-ascii", '''
café = "naïve ünïcödé — ∑ ∫ ∂ 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"; ü = café + "ß" * 3 + "日本語のテキスト日本語のテキスト日本語のテキスト"; ñ = ü.upper()
def größe(länge, ширина=1):
    """Größe — ширина × länge."""
    return länge * ширина + len("αβγδεζηθικλμνξοπρστυφχψω αβγδεζηθικλμνξοπρστυφχψω") + sum(ord(ch) for ch in "∮ E⋅da = Q") + größe(länge - 1)
''', "exec"
    yield "far-columns", "def wide(a):\n    return " + " + ".join(
        "a[%d]" % i for i in range(120)) + "\n", "exec"
    yield "eval", "(lambda q: q + 1)(2) if True else [\n 0]", "eval"
    yield "single", "for i in range(3): print(i)\n", "single"
    yield "empty", "", "exec"


def loc_varint(v):
    b = bytearray()
    while v >= 64:
        b.append(64 | (v & 63))
        v >>= 6
    b.append(v)
    return b


def loc_svarint(s):
    return loc_varint((-s) << 1 | 1 if s < 0 else s << 1)


def random_delta(rng, line):
    r = rng.random()
    if r < 0.05:
        return rng.randint(-200000, 200000)
    if r < 0.07:
        return -line + rng.randint(-2, 1)  # to line 0, -1, below: no source line
    return rng.randint(-5, 5)


def random_table(rng, units, firstlineno):
    """A well-formed table in this version's format, for `units` code units
    give or take a few (tables shorter and longer than the code)."""
    t = bytearray()
    covered, line, target = 0, firstlineno, max(0, units + rng.choice([0, 0, 0, -3, 4]))
    if MINOR == 10:
        while covered < target:
            bdelta = rng.choice([0, 1, 255] + [2 * rng.randint(1, 127)] * 8)
            ldelta = -128 if rng.random() < 0.1 else max(-127, min(127, random_delta(rng, line)))
            if ldelta != -128:
                line += ldelta
            t += bytes([bdelta, ldelta & 255])
            covered += bdelta // 2
        if t and t[-2] == 0:
            t[-2] = 2  # CPython reads past a table that ends in an empty range
        return bytes(t)
    while covered < target:
        n = rng.randint(1, 8)
        form = rng.choice(["none", "long", "nocol", "one", "short"])
        if form == "none":
            t.append(0x80 | 15 << 3 | (n - 1))
        elif form == "long":
            delta = random_delta(rng, line)
            line += delta
            t.append(0x80 | 14 << 3 | (n - 1))
            t += loc_svarint(delta) + loc_varint(rng.randint(0, 3)) + \
                loc_varint(rng.randint(0, 5000)) + loc_varint(rng.randint(0, 5000))
        elif form == "nocol":
            delta = random_delta(rng, line)
            line += delta
            t.append(0x80 | 13 << 3 | (n - 1))
            t += loc_svarint(delta)
        elif form == "one":
            delta = rng.randint(0, 2)
            line += delta
            t += bytes([0x80 | (10 + delta) << 3 | (n - 1), rng.randint(0, 127), rng.randint(0, 127)])
        else:
            t += bytes([0x80 | rng.randint(0, 9) << 3 | (n - 1), rng.randint(0, 127)])
        covered += n
    return bytes(t)


def main():
    warnings.simplefilter("ignore")  # invalid escapes and the like in old sources
    max_units = int(sys.argv[1]) if len(sys.argv) > 1 else 800000
    out.write("# pylines-dump: CPython %s\n" % sys.version.split()[0])
    codes, units, sample = stdlib(max_units)
    real = []
    for label, src, mode in synthetic_sources():
        for c in walk(compile(src, "<%s>" % label, mode, dont_inherit=True)):
            units += write(c, "synthetic/" + label)
            codes += 1
            real.append(c)
    # no line at all: an empty table, a table of no-location entries
    # (3.10: no-line pairs), a table covering half the code
    base = real[0]
    n = len(base.co_code) // 2
    if MINOR == 10:
        none = bytes([254, 0x80]) * (n // 127 + 1)
    else:
        none = bytes([0x80 | 15 << 3 | 7]) * (n // 8 + 1)
    for label, table in (("empty-table", b""), ("no-location", none),
                         ("half-table", base.co_linetable[:len(base.co_linetable) // 2 & ~1])):
        units += write(base.replace(co_linetable=table), "synthetic/" + label)
        codes += 1
    # random tables on real code objects of every size
    rng = random.Random(1000 + MINOR)
    for i, c in enumerate(real + sample[:: max(1, len(sample) // 300)][:300]):
        c = c.replace(co_linetable=random_table(rng, len(c.co_code) // 2, c.co_firstlineno))
        units += write(c, "random/%d" % i)
        codes += 1
    # tables cut short at any byte (a damaged copy): CPython reads on into
    # the NUL every bytes object ends with, which a decoder bounded by the
    # length must match; not after an empty 3.10 range, where CPython reads
    # on past the end
    for i, c in enumerate(sample[1:: max(1, len(sample) // 200)][:200]):
        t = c.co_linetable
        if len(t) < 2:
            continue
        k = rng.randint(1, len(t) - 1)
        if MINOR == 10 and t[(k - 1) & ~1] == 0:
            continue
        units += write(c.replace(co_linetable=t[:k]), "cut/%d" % i)
        codes += 1
    out.write("# %d code objects, %d code units\n" % (codes, units))


main()
