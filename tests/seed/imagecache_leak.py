"""The seed scenario, scaled down: lru_cache on a method pins every
ImageCache (and its buffer) in one class-wide cache, so the retained set
grows with every upload, yet all of it is freed at interpreter shutdown.

usage: imagecache_leak.py [UPLOADS] [INTERVAL_S] [BUFFER_BYTES] [MAXSIZE]
       (defaults 80 uploads, 0.25 s apart, 1 MiB buffers, the cache's
       bound 256 entries: three an upload)
"""
import sys
import time
from functools import lru_cache


class ImageCache:
    def __init__(self, source_path, size):
        self.source_path = source_path
        self.buffer = bytearray(size)

    @lru_cache(maxsize=256)
    def thumbnail(self, size):
        return self._render(size)

    def _render(self, size):
        return bytes(self.buffer[:size])


def send(data):
    return len(data)


def process_uploads(paths, interval, size):
    for path in paths:
        cache = ImageCache(path, size)
        for thumb in (64, 128, 256):
            send(cache.thumbnail(thumb))
        # cache goes out of scope here. Right?
        time.sleep(interval)


def main(argv):
    uploads = int(argv[1]) if len(argv) > 1 else 80
    interval = float(argv[2]) if len(argv) > 2 else 0.25
    size = int(argv[3]) if len(argv) > 3 else 1 << 20
    if len(argv) > 4:  # the same class-wide cache, another bound
        ImageCache.thumbnail = lru_cache(maxsize=int(argv[4]))(ImageCache.thumbnail.__wrapped__)
    process_uploads(("upload-%d.png" % i for i in range(uploads)), interval, size)


if __name__ == "__main__":
    main(sys.argv)
