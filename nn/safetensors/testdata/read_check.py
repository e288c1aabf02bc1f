#!/usr/bin/env python3
"""An independent strict safetensors reader (standard library only), used by
the Go tests to check that files the Go package writes follow the format.

usage: read_check.py [--aligned] FILE

Prints JSON {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}
with float values as float.hex() strings (exact, and inf/nan survive), or exits
non-zero naming the first violation. --aligned also requires what the Go writer
promises beyond the format: a header padded with spaces to a multiple of 8 and
every tensor starting at a multiple of its element size."""
import json
import struct
import sys

FORMATS = {"F64": "d", "F32": "f", "F16": "e", "I64": "q", "I32": "i", "I16": "h",
           "I8": "b", "U64": "Q", "U32": "I", "U16": "H", "U8": "B", "BOOL": "?"}
SIZES = {"BF16": 2, **{k: struct.calcsize("<" + v) for k, v in FORMATS.items()}}


def fail(msg):
    sys.exit("read_check: " + msg)


def no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            fail("duplicate key %r" % k)
        out[k] = v
    return out


def decode(dtype, count, data):
    if dtype == "BF16":
        vals = [struct.unpack("<f", b"\0\0" + data[2 * i:2 * i + 2])[0] for i in range(count)]
    else:
        vals = list(struct.unpack("<%d%s" % (count, FORMATS[dtype]), data))
    if dtype in ("F64", "F32", "F16", "BF16"):
        return [float(v).hex() for v in vals]
    if dtype == "BOOL":
        return vals
    return [int(v) for v in vals]


def main():
    args = sys.argv[1:]
    aligned = "--aligned" in args
    args = [a for a in args if a != "--aligned"]
    with open(args[0], "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        fail("header length %d beyond the file" % n)
    hb = raw[8:8 + n]
    if hb[:1] != b"{":
        fail("header does not start with '{'")
    text = hb.decode("utf-8")
    stripped = text.rstrip(" ")
    header = json.loads(stripped, object_pairs_hook=no_duplicates)
    if aligned and n % 8 != 0:
        fail("header length %d not a multiple of 8" % n)
    buf = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        fail("__metadata__ is not a map of strings")
    pos = 0
    out = {}
    for name, t in sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        if set(t) != {"dtype", "shape", "data_offsets"}:
            fail("tensor %r has fields %r" % (name, sorted(t)))
        dtype, shape, (b, e) = t["dtype"], t["shape"], t["data_offsets"]
        if dtype not in SIZES:
            fail("tensor %r: unknown dtype %r" % (name, dtype))
        count = 1
        for d in shape:
            if not isinstance(d, int) or d < 0:
                fail("tensor %r: bad shape %r" % (name, shape))
            count *= d
        if b != pos:
            fail("tensor %r: begins at %d, expected %d" % (name, b, pos))
        if e - b != count * SIZES[dtype]:
            fail("tensor %r: %d bytes for %d elements of %s" % (name, e - b, count, dtype))
        if aligned and b % SIZES[dtype] != 0:
            fail("tensor %r: offset %d not aligned to %d" % (name, b, SIZES[dtype]))
        pos = e
        out[name] = {"dtype": dtype, "shape": shape, "values": decode(dtype, count, buf[b:e])}
    if pos != len(buf):
        fail("buffer has %d bytes, tensors cover %d" % (len(buf), pos))
    json.dump({"metadata": meta, "tensors": out}, sys.stdout, sort_keys=True)


main()
