"""The seed scenario's fix, under the same load: the cache lives on the
instance. The bound method in it refers back to the instance, a reference
cycle, so the buffers go only when the cycle collector runs: a sawtooth that
must not be called a leak.

usage: imagecache_fixed.py [UPLOADS] [INTERVAL_S] [BUFFER_BYTES]
"""
import sys
import time
from functools import lru_cache


class ImageCache:
    def __init__(self, source_path, size):
        self.source_path = source_path
        self.buffer = bytearray(size)
        # Per-instance cache: dies with self.
        self.thumbnail = lru_cache(maxsize=8)(self._thumbnail)

    def _thumbnail(self, size):
        return bytes(self.buffer[:size])


def send(data):
    return len(data)


def process_uploads(paths, interval, size):
    for path in paths:
        cache = ImageCache(path, size)
        for thumb in (64, 128, 256):
            send(cache.thumbnail(thumb))
        time.sleep(interval)


def main(argv):
    uploads = int(argv[1]) if len(argv) > 1 else 80
    interval = float(argv[2]) if len(argv) > 2 else 0.25
    size = int(argv[3]) if len(argv) > 3 else 1 << 20
    process_uploads(("upload-%d.png" % i for i in range(uploads)), interval, size)


if __name__ == "__main__":
    main(sys.argv)
