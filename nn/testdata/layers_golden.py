#!/usr/bin/python3
"""Golden values for package nn's PyTorch-compatibility tests.

Run from this directory with Debian's python3-torch (1.13, CPU):

    /usr/bin/python3 layers_golden.py

It writes two safetensors files with an independent, hand-written
safetensors writer (below), so the Go tests also check that ingot reads a
file it did not write:

  layers.safetensors        inputs, parameters, outputs and gradients of
                            Linear, Conv2d, ConvTranspose2d, BatchNorm2d
                            (train for two steps, then eval), BatchNorm1d,
                            LayerNorm and the losses;
  layers_model.safetensors  the state_dict of a small Sequential model
                            (num_batches_tracked as I64, like PyTorch),
                            whose input and eval output are in
                            layers.safetensors under "model.x"/"model.y".

Gradients are of sum(y * gy) for a random upstream gradient gy.
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20261128)
out = {}


def put(name, t):
    out[name] = t.detach().contiguous()


def rnd(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def grads(prefix, mod, x, y):
    gy = rnd(*y.shape)
    (y * gy).sum().backward()
    put(prefix + ".gy", gy)
    put(prefix + ".dx", x.grad)
    for n, p in mod.named_parameters():
        put(prefix + ".d" + n, p.grad)


# Linear(5 -> 3).
lin = nn.Linear(5, 3)
x = rnd(4, 5).requires_grad_()
y = lin(x)
put("linear.x", x); put("linear.weight", lin.weight); put("linear.bias", lin.bias); put("linear.y", y)
grads("linear", lin, x, y)

# Conv2d with rectangular kernel, stride, padding and dilation.
conv = nn.Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
x = rnd(2, 3, 7, 8).requires_grad_()
y = conv(x)
put("conv.x", x); put("conv.weight", conv.weight); put("conv.bias", conv.bias); put("conv.y", y)
grads("conv", conv, x, y)

# ConvTranspose2d: the DCGAN-style upsampler, and a rectangular one.
for name, m, xs in [
    ("convt", nn.ConvTranspose2d(3, 2, kernel_size=3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    ("convt2", nn.ConvTranspose2d(2, 3, kernel_size=(2, 3), stride=(1, 2), padding=(0, 1), output_padding=(0, 1), dilation=(2, 1)), (1, 2, 3, 4)),
]:
    x = rnd(*xs).requires_grad_()
    y = m(x)
    put(name + ".x", x); put(name + ".weight", m.weight); put(name + ".bias", m.bias); put(name + ".y", y)
    grads(name, m, x, y)

# BatchNorm2d: two training steps (running statistics), then eval.
bn = nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.copy_(rnd(3)); bn.bias.copy_(rnd(3))
put("bn.weight", bn.weight); put("bn.bias", bn.bias)
bn.train()
x1 = (rnd(4, 3, 5, 6) * 2 + 1).requires_grad_()
y1 = bn(x1)
put("bn.x1", x1); put("bn.y1", y1)
grads("bn", bn, x1, y1)
x2 = rnd(4, 3, 5, 6) * 0.5 - 1
y2 = bn(x2)
put("bn.x2", x2); put("bn.y2", y2)
put("bn.running_mean", bn.running_mean); put("bn.running_var", bn.running_var)
put("bn.num_batches_tracked", bn.num_batches_tracked)
bn.eval()
x3 = rnd(2, 3, 5, 6)
put("bn.x3", x3); put("bn.y3", bn(x3))

# Losses.
logits = (rnd(5, 4) * 3).requires_grad_()
target = torch.tensor([0, 3, 1, 1, 2], dtype=torch.int64)
ce = F.cross_entropy(logits, target)
ce.backward()
put("ce.logits", logits); put("ce.target", target.to(torch.int32)); put("ce.mean", ce)
put("ce.sum", F.cross_entropy(logits, target, reduction="sum")); put("ce.none", F.cross_entropy(logits, target, reduction="none"))
put("ce.dlogits", logits.grad)

z = torch.tensor([-30.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0, 100.0]).requires_grad_()
t = torch.tensor([0.0, 1.0, 0.3, 1.0, 0.0, 1.0, 0.0, 1.0])
b = F.binary_cross_entropy_with_logits(z, t)
b.backward()
put("bcel.x", z); put("bcel.t", t); put("bcel.mean", b)
put("bcel.none", F.binary_cross_entropy_with_logits(z, t, reduction="none")); put("bcel.dx", z.grad)

p = torch.tensor([0.0, 1e-3, 0.2, 0.5, 0.9, 1.0])
t = torch.tensor([0.0, 1.0, 1.0, 0.5, 0.0, 1.0])
put("bce.p", p); put("bce.t", t); put("bce.none", F.binary_cross_entropy(p, t, reduction="none"))
# p = 1 with t = 0 hits the −100 clamp.
put("bce.clamp", F.binary_cross_entropy(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), reduction="none"))

# A small model: its state_dict goes to its own file.
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, stride=2, padding=1),
    nn.BatchNorm2d(4),
    nn.LeakyReLU(0.2),
    nn.Flatten(),
    nn.Linear(4 * 4 * 4, 3),
)
model.train()
with torch.no_grad():
    for _ in range(3):
        model(rnd(8, 1, 8, 8))  # move the running statistics
model.eval()
mx = rnd(3, 1, 8, 8)
put("model.x", mx); put("model.y", model(mx))

# BatchNorm1d on [N, C, L] (train step, then eval) and LayerNorm over the
# last two dimensions (forward and gradients).
bn1 = nn.BatchNorm1d(4)
with torch.no_grad():
    bn1.weight.copy_(rnd(4)); bn1.bias.copy_(rnd(4))
put("bn1.weight", bn1.weight); put("bn1.bias", bn1.bias)
x = (rnd(3, 4, 5) * 1.5 + 0.5).requires_grad_()
y = bn1(x)
put("bn1.x", x); put("bn1.y", y)
grads("bn1", bn1, x, y)
put("bn1.running_mean", bn1.running_mean); put("bn1.running_var", bn1.running_var)
bn1.eval()
x = rnd(2, 4, 5)
put("bn1.x2", x); put("bn1.y2", bn1(x))

ln = nn.LayerNorm([3, 4])
with torch.no_grad():
    ln.weight.copy_(rnd(3, 4)); ln.bias.copy_(rnd(3, 4))
x = (rnd(2, 3, 4) * 2).requires_grad_()
y = ln(x)
put("ln.x", x); put("ln.weight", ln.weight); put("ln.bias", ln.bias); put("ln.y", y)
grads("ln", ln, x, y)

DT = {torch.float32: ("F32", "<f4"), torch.int32: ("I32", "<i4"), torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors, metadata):
    """A minimal safetensors writer, independent of ingot's."""
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dt, _ = DT[t.dtype]
        data = t.numpy().tobytes()  # little-endian on every platform Debian builds torch for
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


write_safetensors("layers.safetensors", out, {"torch": torch.__version__})
write_safetensors("layers_model.safetensors", model.state_dict(),
                  {"ingot.family": "test", "format": "pt", "torch": torch.__version__})
print("wrote", len(out), "golden tensors and", len(model.state_dict()), "model tensors")
