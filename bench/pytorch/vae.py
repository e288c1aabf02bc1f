#!/usr/bin/env python3
"""The PyTorch twin of ingot's default MLP VAE, for side-by-side figures.

Same architecture and parameter names as ingot's vae package (encoder.0,
fc_mu, fc_logvar, decoder.0, decoder.2: 784-400-20-400-784, ReLU, Bernoulli
decoder with logits), same loss (BCE with logits summed over pixels plus
beta * KL, per image), same optimiser (Adam 1e-3, betas 0.9/0.999, eps 1e-8)
and batch (128, shuffled, last short batch dropped), same evaluation
(reconstruction with z = mu plus KL, per image, on the test split).

Speed, the same step `ingot bench train vae` times:

    python3 bench/pytorch/vae.py --bench --threads 1
    go run ./cmd/ingot bench train vae --threads 1

PyTorch's CPU speed depends on its allocator returning memory to the OS;
its best configuration on Linux keeps freed memory with glibc's tunables:

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296 \
        python3 bench/pytorch/vae.py --bench --threads 1

Quality (10 epochs of full Fashion-MNIST, test loss per epoch):

    python3 bench/pytorch/vae.py --train --epochs 10 --data /usr/share/datasets/fashion-mnist
    go run ./cmd/ingot train vae --epochs 10 --data /usr/share/datasets/fashion-mnist

Needs torch (Debian: python3-torch) and numpy.
"""

import argparse
import gzip
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class VAE(nn.Module):
    def __init__(self, pixels=784, hidden=400, latent=20):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.ReLU())
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, pixels),
                                     nn.Unflatten(1, (1, 28, 28)))

    def encode(self, x):
        h = self.encoder(x.flatten(1))
        return self.fc_mu(h), self.fc_logvar(h)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


def losses(logits, x, mu, logvar, beta=1.0):
    n = x.shape[0]
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
    return recon + beta * kl, recon, kl


def read_idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        b = f.read()
    magic, = struct.unpack(">I", b[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def find(d, prefix, kind):
    for name in (f"{prefix}-{kind}-ubyte.gz", f"{prefix}-{kind}-ubyte"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    sys.exit(f"{d}: no {prefix}-{kind}-ubyte(.gz)")


def load(d):
    tr = read_idx(find(d, "train", "images-idx3"))
    te = read_idx(find(d, "t10k", "images-idx3"))
    to = lambda a: torch.from_numpy(a.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    return to(tr), to(te)


def step(model, opt, x, beta):
    logits, mu, logvar = model(x)
    loss, recon, kl = losses(logits, x, mu, logvar, beta)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item(), recon.item(), kl.item()


@torch.no_grad()
def evaluate(model, test):
    rs, ks = 0.0, 0.0
    for i in range(0, len(test), 500):
        x = test[i:i + 500]
        mu, logvar = model.encode(x)
        logits = model.decoder(mu)
        rs += F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item()
        ks += (-0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())).item()
    return (rs + ks) / len(test), rs / len(test), ks / len(test)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", action="store_true", help="time training steps")
    ap.add_argument("--train", action="store_true", help="train and report the test loss per epoch")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="MNIST-format directory")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    ap.add_argument("--steps", type=int, default=100, help="timed steps (--bench)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first (--bench)")
    a = ap.parse_args()
    if not (a.bench or a.train):
        ap.error("give --bench or --train")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)

    if a.bench:
        if os.path.isdir(a.data):
            train, _ = load(a.data)
        else:
            train = torch.rand(6000, 1, 28, 28)
        n = len(train) // a.batch
        perm = torch.randperm(len(train))
        times = []
        for i in range(a.warmup + a.steps):
            j = i % n
            x = train[perm[j * a.batch:(j + 1) * a.batch]]
            t = time.perf_counter()
            step(model, opt, x, a.beta)
            if i >= a.warmup:
                times.append((time.perf_counter() - t) * 1000)
        med = statistics.median(times)
        print(f"pytorch {torch.__version__} vae-mlp batch {a.batch} on cpu, {torch.get_num_threads()} threads: "
              f"median {med:.2f} ms/step (min {min(times):.2f}) over {a.steps} steps, {a.batch / med * 1000:.0f} images/s")

    if a.train:
        train, test = load(a.data)
        steps = len(train) // a.batch
        for e in range(1, a.epochs + 1):
            perm = torch.randperm(len(train))
            t = time.perf_counter()
            tot = 0.0
            for j in range(steps):
                x = train[perm[j * a.batch:(j + 1) * a.batch]]
                tot += step(model, opt, x, a.beta)[0]
            secs = time.perf_counter() - t
            loss, recon, kl = evaluate(model, test)
            print(f"epoch {e}/{a.epochs}  train loss {tot / steps:.2f}  test loss {loss:.2f} recon {recon:.2f} kl {kl:.2f}  "
                  f"{secs:.1f} s  {steps * a.batch / secs:.0f} img/s", flush=True)


if __name__ == "__main__":
    main()
