#!/usr/bin/env python3
"""Takes real traces apart and builds damaged or hostile ones, for the tests
of the analyzer against bad input (t1710-damaged-traces.sh). It knows the
framing of docs/trace-format.md and nothing of what the records mean, so
it can say things the shim never would.

usage:
  tracetool.py chunks TRACE                 offset and stored size of every chunk
  tracetool.py cut TRACE OFFSET OUT         the first OFFSET bytes
  tracetool.py flip TRACE SEED N OUT        N random bytes changed (seeded)
  tracetool.py flips TRACE N FIX PREFIX      PREFIX.1 ... PREFIX.N: copy k with
                                            k % 8 + 1 bytes changed (seed k); with
                                            FIX=1 the checksums made right again
  tracetool.py recrc TRACE OUT              every chunk's checksum made right
                                            again (after flip: the damage then
                                            reaches the records)
  tracetool.py hostile CASE TRACE OUT       TRACE's chunks, then one crafted
                                            chunk (stored, checksum right);
                                            CASE is one of `tracetool.py cases`
  tracetool.py inside CASE TRACE OUT        the same chunk put before TRACE's last
                                            chunk (its END): inside a complete run
  tracetool.py cases                        the hostile cases, one a line
"""
import random
import struct
import sys

MAGIC = b"HCTRACE\0"
CHUNK_MAGIC = 0x4B434348
HDR = 20
FILE_HDR = 16

# record types (include/heapcreep/trace.h)
HEADER, MODULES, STACK, THREAD, BLOCK, FREE, SNAPSHOT = 1, 2, 3, 4, 5, 6, 7
EXIT, END, NOTE, EXEC, SITES, SYMBOLS = 8, 9, 10, 11, 12, 13


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


TABLE = _table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ TABLE[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def chunk_crc(header, payload):
    return crc32c(payload, crc32c(header[4:16]))


def chunks(data):
    """(offset, codec, stored, raw) of each whole chunk header in data."""
    out = []
    off = FILE_HDR
    while off + HDR <= len(data):
        magic, codec, stored, raw = struct.unpack_from("<IB3xII", data, off)
        if magic != CHUNK_MAGIC:
            break
        out.append((off, codec, stored, raw))
        off += HDR + stored
    return out


def uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(v):
    return (v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1


def string(s):
    if isinstance(s, str):
        s = s.encode()
    return uvarint(len(s)) + s


def record(rtype, body):
    return uvarint(rtype) + uvarint(len(body)) + body


def u(*vals):
    return b"".join(uvarint(v) for v in vals)


def chunk(payload, stored=None, raw=None, codec=0):
    """A stored chunk whose header may lie about its sizes; checksum right
    for what it declares over what follows."""
    stored = len(payload) if stored is None else stored
    raw = len(payload) if raw is None else raw
    h = bytearray(struct.pack("<IB3xIII", CHUNK_MAGIC, codec, stored, raw, 0))
    struct.pack_into("<I", h, 16, chunk_crc(bytes(h), payload))
    return bytes(h) + payload


BIG = 1 << 60


def hostile_cases():
    """name -> bytes appended after the real trace's chunks."""
    snap = record(SNAPSHOT, u(10**9, 4096, 100, 1, 100, 1, 0, 100, 1, 0, 0, 0, 4096))
    site = u(1, 100, 1, 1, 0, 100, 100, 0)
    return {
        # chunk framing
        "stored-2g": chunk(b"", stored=1 << 31, raw=1 << 31),
        "stored-4g-1": chunk(b"", stored=(1 << 32) - 1, raw=(1 << 32) - 1),
        "stored-16m-unbacked": chunk(b"x" * 100, stored=16 << 20, raw=16 << 20),
        "raw-16m-zstd-lie": chunk(b"\x28\xb5\x2f\xfd" + b"\0" * 20, raw=16 << 20, codec=1),
        "raw-differs": chunk(record(NOTE, u(0, 0) + string("hi")), raw=5),
        "codec-9": chunk(b"abc", codec=9),
        "record-len-2g": chunk(uvarint(NOTE) + uvarint(1 << 31) + b"abc"),
        "record-len-2-60": chunk(uvarint(NOTE) + uvarint(BIG) + b"abc"),
        "varint-endless": chunk(b"\xff" * 64),
        # counts and lengths inside records
        "sites-count-2-60": chunk(snap + record(SITES, uvarint(BIG) + site)),
        "sites-count-2-31": chunk(snap + record(SITES, uvarint(1 << 31) + site)),
        "sites-nhist-huge": chunk(snap + record(SITES, u(1, 1, 100, 1, 1, 0, 100, 100, BIG))),
        "sites-bucket-99": chunk(snap + record(SITES, u(1, 1, 100, 1, 1, 0, 100, 100, 1, 99, 1))),
        "stack-nframes-2-60": chunk(record(STACK, u(1, BIG) + uvarint(zigzag(4096)) * 3)),
        "stack-nframes-4096": chunk(record(STACK, u(1, 4096) + uvarint(zigzag(4096)) * 3)),
        "code-id-2-29": chunk(record(14, u(1 << 29, zigzag(1), 0) + string(b"q") + string(b"f") + string(b""))),
        "stack-id-2-29": chunk(record(STACK, u(1 << 29, 1) + uvarint(zigzag(4096)))),
        "stack-id-2-20": chunk(record(STACK, u(1 << 20, 1) + uvarint(zigzag(4096)))),
        "stack-id-2-63": chunk(record(STACK, u(1 << 63, 1) + uvarint(zigzag(4096)))),
        "sites-stack-2-29": chunk(snap + record(SITES, u(1, 1 << 29, 100, 1, 1, 0, 100, 100, 0))),
        "modules-count-2-60": chunk(record(MODULES, u(0, BIG, 0x1000, 0x2000, 0) + string("/x") + string(""))),
        "module-path-beyond": chunk(record(MODULES, u(0, 1, 0x1000, 0x2000, 0) + uvarint(1 << 40) + b"/x")),
        "note-len-beyond": chunk(record(NOTE, u(0, 2) + uvarint(1 << 31) + b"short")),
        "note-len-2-63": chunk(record(NOTE, u(0, 2) + uvarint(1 << 63) + b"short")),
        "header-second": chunk(record(HEADER, u(1, 1, 1, 0, 0, 0, 4096, 0, 0, 0, 0, 0) + uvarint(1 << 40))),
        "thread-name-beyond": chunk(record(THREAD, u(0, 1) + uvarint(1 << 31) + b"n")),
        "exec-path-beyond": chunk(record(EXEC, u(0) + uvarint(1 << 31) + b"/bin/sh")),
        "symbols-count-2-60": chunk(record(SYMBOLS, u(BIG, 0x1000, 1) + string("f") + string("x.c") + u(1))),
        "symbols-nframes-2-60": chunk(record(SYMBOLS, u(1, 0x1000, BIG) + string("f") + string("x.c") + u(1))),
        "symbol-name-beyond": chunk(record(SYMBOLS, u(1, 0x1000, 1) + uvarint(1 << 31) + b"f")),
        "block-id-2-63": chunk(record(BLOCK, u(1 << 63, 1, 100, 10**9, 0x1000)) + record(FREE, u(1 << 63, 2 * 10**9))),
        "block-size-2-63": chunk(record(BLOCK, u(1, 1, 1 << 63, 10**9, 0x1000))),
        # ids that skip a page, or 256 pages, each time: the analyzer's
        # pages of consecutive ids must not grow with the ids skipped
        "block-ids-stride-page": chunk(record(BLOCK, u(4097, 1, 100, 10**7, 0x1000)) * 20000),
        "block-ids-stride-far": chunk(record(BLOCK, u(1 << 20, 1, 100, 10**7, 0x1000)) * 20000),
        "free-unknown": chunk(record(FREE, u(BIG, 2 * 10**9)) * 1000),
        "snapshot-ts-2-63": chunk(record(SNAPSHOT, u(1 << 63, 1 << 63, 1 << 63, 1 << 63, 1 << 63, 1 << 63, 1 << 63, 1 << 63, 0, 0, 0, 0, 0))),
        "snapshot-short": chunk(record(SNAPSHOT, u(1, 2))),
        "end-then-more": chunk(record(END, u(0, 0)) + snap),
        "unknown-types": chunk(record(1 << 40, b"zzz") + record(99, b"") + record(14, b"\xff" * 100)),
        "empty-chunk": chunk(b""),
        "many-empty-records": chunk(record(99, b"") * 100000),
    }


def flip(data, seed, n):
    rng = random.Random(seed)
    buf = bytearray(data)
    for _ in range(n):
        i = rng.randrange(FILE_HDR, len(buf)) if len(buf) > FILE_HDR else 0
        buf[i] ^= rng.randrange(1, 256)
    return bytes(buf)


def recrc(data):
    buf = bytearray(data)
    for off, codec, stored, raw in chunks(data):
        if off + HDR + stored > len(buf):
            break
        crc = chunk_crc(bytes(buf[off : off + HDR]), bytes(buf[off + HDR : off + HDR + stored]))
        struct.pack_into("<I", buf, off + 16, crc)
    return bytes(buf)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "cases":
        print("\n".join(hostile_cases()))
        return 0
    data = open(argv[3 if cmd in ("hostile", "inside") else 2], "rb").read()
    if cmd == "chunks":
        for off, codec, stored, raw in chunks(data):
            print(off, codec, stored, raw)
        return 0
    if cmd == "cut":
        open(argv[4], "wb").write(data[: int(argv[3])])
        return 0
    if cmd == "flip":
        open(argv[5], "wb").write(flip(data, int(argv[3]), int(argv[4])))
        return 0
    if cmd == "flips":
        for k in range(1, int(argv[3]) + 1):
            buf = flip(data, k, k % 8 + 1)
            if argv[4] == "1":
                buf = recrc(buf)
            open("%s.%d" % (argv[5], k), "wb").write(buf)
        return 0
    if cmd == "recrc":
        open(argv[3], "wb").write(recrc(data))
        return 0
    if cmd in ("hostile", "inside"):
        cases = hostile_cases()
        if argv[2] not in cases:
            sys.stderr.write("tracetool: unknown case '%s'\n" % argv[2])
            return 2
        cs = chunks(data)
        end = cs[-1][0] + HDR + cs[-1][2] if cs else FILE_HDR
        if cmd == "hostile":
            # After the last whole chunk (an END, for a complete trace: the
            # readers go on past it, as after a failed exec).
            out = data[:end] + cases[argv[2]]
        else:
            last = cs[-1][0] if cs else FILE_HDR
            out = data[:last] + cases[argv[2]] + data[last:end]
        open(argv[4], "wb").write(out)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
