#!/usr/bin/env python3
"""Writes golden.safetensors with an independent, hand-rolled safetensors writer
(struct + json from the standard library only; it shares no code with the Go
package). Run from this directory:  /usr/bin/python3 make_golden.py

Deliberate differences from the Go writer, which the Go reader must accept:
json.dumps' default ", "/": " separators and \\u escapes of non-ASCII text
(including a surrogate pair), header keys in reverse order with __metadata__
last, the buffer laid out by name rather than by dtype alignment, and no
padding of the header (so the buffer is not 8-byte aligned).
The values are mirrored in golden_test.go."""
import json
import struct


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


def bf16(vals):
    # Only values exactly representable in bfloat16: the upper half of the float32.
    out = b""
    for v in vals:
        b = struct.pack("<f", v)
        assert b[:2] == b"\0\0", v
        out += b[2:]
    return out


tensors = {
    "dense.weight": ("F32", [2, 3], f32([0.5, -1.25, 3.0, 1e-3, -65504.0, 1.0 / 3])),
    "half.values": ("F16", [4], struct.pack("<4e", 1.0, -2.5, 0.1, 65504.0)),
    "bf.values": ("BF16", [3], bf16([1.0, -0.15625, 3.140625])),
    "steps": ("I64", [], struct.pack("<q", 1234567890123)),
    "labels": ("I32", [2, 2], struct.pack("<4i", -1, 0, 7, 2147483647)),
    "empty": ("F32", [0, 3], b""),
    "mask": ("BOOL", [3], bytes([1, 0, 1])),
    "double": ("F64", [2], struct.pack("<2d", 0.1, -2.0)),
    "bytes": ("U8", [4], bytes([0, 1, 128, 255])),
}
metadata = {
    "format": "pt",
    "ingot.config": json.dumps({"hidden": 16, "layers": [1, 2]}),
    "vocab": "a\u00e9\u20ac\U0001F600",
}

buf = b""
info = {}
for name in sorted(tensors):
    dtype, shape, data = tensors[name]
    info[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(buf), len(buf) + len(data)]}
    buf += data

header = {name: info[name] for name in sorted(info, reverse=True)}
header["__metadata__"] = metadata
hb = json.dumps(header).encode("utf-8")
with open("golden.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + buf)
