#!/usr/bin/env python3
"""PyTorch twin of ingot's MLP GAN (`ingot bench train gan`), for side-by-side
step timings.

The model, loss and step are ingot's (package gan): G noise 100 -> 256 -> 512
-> 784 with LeakyReLU(0.2) and tanh; D 784 -> 512 -> 256 -> 1 with
LeakyReLU(0.2); non-saturating BCE-with-logits losses; Adam lr 2e-4,
betas (0.5, 0.999) for each network. One step = one discriminator update on a
real and a generated batch, then one generator update against the updated
discriminator, reusing the same generated batch (as ingot does). Parameter
names match ingot's weight files (generator.0.weight, discriminator.1.bias…).

  python3 bench/pytorch/gan.py --threads 1 --steps 50
  python3 bench/pytorch/gan.py --threads 2 --json

PyTorch's best configuration on Linux: OpenBLAS with as many threads as
torch (it ignores torch.set_num_threads) and glibc keeping freed memory:

  OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=4294967296 \
      MALLOC_TRIM_THRESHOLD_=4294967296 python3 bench/pytorch/gan.py --threads 1
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


class GAN(nn.Module):
    def __init__(self, noise=100):
        super().__init__()
        self.noise = noise
        self.generator = nn.Sequential(
            nn.Linear(noise, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
        self.discriminator = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1))


def make_step(model, batch, freeze_d=False):
    """Returns a function running one training step on a real batch. With
    freeze_d, D's parameters stop requiring gradients during G's update (as
    ingot does), so no gradients are computed for them there."""
    G, D = model.generator, model.discriminator
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step(real):
        fake = G(torch.randn(batch, model.noise))
        opt_d.zero_grad(set_to_none=False)
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=False)
        if freeze_d:
            D.requires_grad_(False)
        g_loss = bce(D(fake), ones)
        g_loss.backward()
        if freeze_d:
            D.requires_grad_(True)
        opt_g.step()
        return d_loss.item(), g_loss.item()
    return step


def bench(name, model, args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    step = make_step(model, args.batch, args.freeze_d)
    real = torch.rand(args.batch, 1, 28, 28) * 2 - 1  # timing only: values do not matter
    for _ in range(args.warmup):
        step(real)
    ms = []
    cpu0 = time.process_time()
    for _ in range(args.steps):
        t = time.perf_counter()
        step(real)
        ms.append((time.perf_counter() - t) * 1000)
    r = {"model": name, "framework": "pytorch " + torch.__version__, "batch": args.batch,
         "threads": torch.get_num_threads(), "steps": args.steps,
         "ms_median": statistics.median(ms), "ms_min": min(ms),
         # process CPU time per step (all threads): what a step costs on a shared machine
         "cpu_ms_per_step": (time.process_time() - cpu0) * 1000 / args.steps}
    r["images_per_second"] = args.batch / r["ms_median"] * 1000
    if args.json:
        print(json.dumps(r))
    else:
        print("pytorch %s batch %d, %d threads: median %.2f ms/step (min %.2f) over %d steps, %.0f images/s; CPU time %.2f ms/step" % (
            name, r["batch"], r["threads"], r["ms_median"], r["ms_min"], r["steps"], r["images_per_second"], r["cpu_ms_per_step"]))


def parse(desc):
    p = argparse.ArgumentParser(description=desc)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--freeze-d", action="store_true", help="D does not require gradients during G's update (as ingot)")
    return p.parse_args()


if __name__ == "__main__":
    bench("gan", GAN(), parse(__doc__.splitlines()[0]))
