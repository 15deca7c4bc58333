"""Python workload families for the detection evaluation (tests/eval-detect.sh).

Each family draws its parameters from wide ranges with SEED, runs for
SECONDS of virtual time at SPEED times real time, and writes what is true of
it as one JSON line to $FAMILIES_TRUTH (or stderr), like families.c. Objects
are made large enough (over 512 bytes) to reach malloc: pymalloc serves the
small ones from its own arenas.

usage: families.py FAMILY SEED SECONDS [SPEED]; families.py --list
FAMILIES_RATE, FAMILIES_KEPT and FAMILIES_EVICT replace py_history's drawn
retained rate (bytes a virtual second), share of records kept and share of
requests that evict one, for a case made to order.
"""
import functools
import gc
import json
import os
import random
import sys
import time
import weakref

HERE = os.path.dirname(os.path.abspath(__file__))
THRESHOLD_BPS = 64 * 1024 * 1024 / 86400


def logu(rng, lo, hi):
    return lo * (hi / lo) ** rng.random()


class Family:
    leak = False

    def __init__(self, rng, seconds):
        self.rng = rng
        self.seconds = seconds
        self.rate = 0.0
        self.onset = 0.0
        self.params = {}
        self.excluded = None  # why the drawn case is not of its family

    def step(self, t):
        pass


class History(Family):
    """A service answering requests: a reply string (temporary) and a
    record string, 30% of which go to a history, through the same native
    stack; a share of requests evicts a random history entry."""
    leak = True

    def __init__(self, rng, seconds):
        super().__init__(rng, seconds)
        self.size = int(logu(rng, 600, 16384))
        self.kept = float(os.environ.get("FAMILIES_KEPT") or rng.uniform(0.05, 0.6))
        self.evict = float(os.environ.get("FAMILIES_EVICT") or rng.uniform(0, 0.1) * self.kept)
        retained = float(os.environ.get("FAMILIES_RATE") or logu(rng, 3e3, 3e5))
        self.reqs = retained / (self.size * (self.kept - self.evict))
        self.rate = self.reqs * self.size * (self.kept - self.evict)
        self.history = []
        self.done = 0
        self.params = dict(size=self.size, kept=round(self.kept, 3),
                           evict=round(self.evict, 4), requests_per_s=round(self.reqs, 1))

    def step(self, t):
        rng = self.rng
        while self.done < self.reqs * t:
            self.done += 1
            reply = "r" * self.size
            record = "h" * self.size
            if rng.random() < self.kept:
                self.history.append(record)
            if self.history and rng.random() < self.evict:
                self.history[rng.randrange(len(self.history))] = None
            del reply


class Registry(Family):
    """A dict of per-request results keyed by unique ids, never pruned."""
    leak = True

    def __init__(self, rng, seconds):
        super().__init__(rng, seconds)
        self.size = int(logu(rng, 600, 65536))
        self.rate = logu(rng, 3e3, 3e5)
        self.table = {}
        self.done = 0
        self.params = dict(size=self.size)

    def step(self, t):
        while self.done * self.size < self.rate * t:
            self.table["req-%d" % self.done] = bytearray(self.size)
            self.done += 1
            tmp = bytes(self.size)
            del tmp


class BoundedCache(Family):
    """functools.lru_cache at capacity: unique keys, the oldest evicted."""

    def __init__(self, rng, seconds):
        super().__init__(rng, seconds)
        self.size = int(logu(rng, 600, 65536))
        self.maxsize = int(logu(rng, 50, 5000))
        life = seconds * rng.uniform(0.02, 0.3)
        self.per_s = self.maxsize / life
        self.done = 0

        @functools.lru_cache(maxsize=self.maxsize)
        def render(key):
            return bytes(self.size)

        self.render = render
        self.params = dict(size=self.size, maxsize=self.maxsize, entry_life_s=round(life, 1))

    def step(self, t):
        while self.done < self.per_s * t:
            self.render(self.done)
            self.done += 1


class Cycles(Family):
    """Objects in reference cycles holding buffers: freed when the cycle
    collector runs (a sawtooth)."""

    class Node:
        def __init__(self, size):
            self.buf = bytearray(size)
            self.me = self

    def __init__(self, rng, seconds):
        super().__init__(rng, seconds)
        self.size = int(logu(rng, 600, 65536))
        self.per_s = logu(rng, 100, 5000)
        self.done = 0
        self.params = dict(size=self.size, per_s=round(self.per_s, 1))

    def step(self, t):
        while self.done < self.per_s * t:
            Cycles.Node(self.size)
            self.done += 1


class Expiring(Family):
    """A dict whose entries expire after a TTL."""

    def __init__(self, rng, seconds):
        super().__init__(rng, seconds)
        self.size = int(logu(rng, 600, 16384))
        self.per_s = logu(rng, 3e3, 3e5) / self.size
        self.ttl = seconds * rng.uniform(0.02, 0.3)
        self.table = {}
        self.order = []
        self.done = 0
        self.params = dict(size=self.size, per_s=round(self.per_s, 1), ttl_s=round(self.ttl, 1))

    def step(self, t):
        while self.done < self.per_s * t:
            self.table[self.done] = (t, bytearray(self.size))
            self.order.append(self.done)
            self.done += 1
        while self.order and self.table[self.order[0]][0] + self.ttl <= t:
            del self.table[self.order.pop(0)]


def seed_module(name):
    sys.path.insert(0, os.path.join(HERE, "..", "seed"))
    return __import__(name)


class Seed(Family):
    """The seed scenario (tests/seed/imagecache_leak.py): uploads, interval
    and buffer size drawn; the class-wide lru_cache bound (3 entries an
    upload) above the run: a leak."""
    leak = True
    bounded = False
    min_uploads = 40

    def __init__(self, rng, seconds):
        super().__init__(rng, seconds)
        self.uploads = int(rng.uniform(self.min_uploads, 300))
        self.interval = seconds / self.uploads
        self.size = int(min(logu(rng, 64 << 10, 4 << 20), (300 << 20) / self.uploads))
        if self.bounded:  # the bound reached within the first 10..40% of the run
            self.maxsize = 3 * max(2, int(self.uploads * rng.uniform(0.1, 0.4)))
        else:
            self.maxsize = 3 * self.uploads + 3
        self.rate = self.size / self.interval if self.leak else 0
        self.params = dict(uploads=self.uploads, interval_s=round(self.interval, 3),
                           buffer=self.size, maxsize=self.maxsize)

    module = "imagecache_leak"

    def run(self, speed):
        mod = seed_module(self.module)
        # the same class-wide cache, with the drawn bound
        mod.ImageCache.thumbnail = functools.lru_cache(maxsize=self.maxsize)(
            mod.ImageCache.thumbnail.__wrapped__)
        mod.process_uploads(("upload-%d.png" % i for i in range(self.uploads)),
                            self.interval / speed, self.size)


class SeedBounded(Seed):
    """The seed with its cache bound reached early: the retained set
    plateaus, as a full LRU does."""
    leak = False
    bounded = True


class SeedFixed(Seed):
    """The seed's fix: per-instance caches in reference cycles, freed by the
    cycle collector (a sawtooth); uploads drawn so that collections happen."""
    leak = False
    module = "imagecache_fixed"
    min_uploads = 90  # the cycle collector runs every ~40 uploads: two at least

    def run(self, speed):
        # The family is the fix wherever the cycle collector frees the
        # buffers twice or more in the run; a draw where it does not is a
        # retained set that grows for all the run can tell, and is left out.
        mod = seed_module(self.module)
        made, freed, before, collections = [0], [0], [0], [0]
        init = mod.ImageCache.__init__

        def counted(obj, *args):
            init(obj, *args)
            made[0] += 1
            weakref.finalize(obj, lambda: freed.__setitem__(0, freed[0] + 1))

        def collected(phase, info):
            if phase == "start":
                before[0] = freed[0]
            elif freed[0] - before[0] >= max(2, 0.3 * (made[0] - before[0])):
                collections[0] += 1  # it freed a third of the instances or more

        mod.ImageCache.__init__ = counted
        gc.callbacks.append(collected)
        mod.process_uploads(("upload-%d.png" % i for i in range(self.uploads)),
                            self.interval / speed, self.size)
        self.params["collections"] = collections[0]
        if collections[0] < 2:
            self.excluded = "fewer than two collections in the run (%d)" % collections[0]


FAMILIES = {
    "py_history": History, "py_registry": Registry, "py_lru": BoundedCache,
    "py_cycles": Cycles, "py_ttl": Expiring, "seed_leak": Seed,
    "seed_bounded": SeedBounded, "seed_fixed": SeedFixed,
}


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        for name, cls in FAMILIES.items():
            print(name, "leak" if cls.leak else "benign")
        return 0
    if len(argv) not in (4, 5) or argv[1] not in FAMILIES:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    name, seed, seconds = argv[1], int(argv[2]), float(argv[3])
    speed = float(argv[4]) if len(argv) == 5 else 1.0
    rng = random.Random(seed)
    fam = FAMILIES[name](rng, seconds)
    if isinstance(fam, Seed):
        fam.run(speed)
    else:
        t0 = time.monotonic()
        while True:
            t = (time.monotonic() - t0) * speed
            if t >= seconds:
                break
            fam.step(t)
            time.sleep(0.01)
    truth = dict(family=name, seed=seed, seconds=seconds, speed=speed, leak=fam.leak,
                 sites=None, rate=fam.rate, onset_s=fam.onset, params=fam.params,
                 excluded=fam.excluded)
    line = json.dumps(truth)
    path = os.environ.get("FAMILIES_TRUTH")
    if path:
        with open(path, "w") as f:
            f.write(line + "\n")
    else:
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
