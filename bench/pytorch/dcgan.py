#!/usr/bin/env python3
"""PyTorch twin of ingot's DCGAN (`ingot bench train dcgan`), for side-by-side
step timings.

The architecture is ingot's default DCGAN (package gan, features F = 32):

  G: Linear(100, 2F*7*7, bias=False), BatchNorm1d, ReLU, Unflatten(2F,7,7),
     ConvTranspose2d(2F, F, 4, 2, 1, bias=False), BatchNorm2d, ReLU,
     ConvTranspose2d(F, 1, 4, 2, 1), Tanh                      -> 1x28x28
  D: Conv2d(1, F, 4, 2, 1), LeakyReLU(0.2), Conv2d(F, 2F, 4, 2, 1, bias=False),
     BatchNorm2d, LeakyReLU(0.2), Flatten, Linear(2F*7*7, 1)   -> logit

with the step of gan.py (non-saturating BCE with logits, Adam 2e-4, betas
(0.5, 0.999)). Parameter names match ingot's weight files.

  python3 bench/pytorch/dcgan.py --threads 1 --steps 20
"""
import torch.nn as nn

from gan import bench, parse


class DCGAN(nn.Module):
    def __init__(self, noise=100, f=32):
        super().__init__()
        self.noise = noise
        self.generator = nn.Sequential(
            nn.Linear(noise, 2 * f * 49, bias=False), nn.BatchNorm1d(2 * f * 49), nn.ReLU(),
            nn.Unflatten(1, (2 * f, 7, 7)),
            nn.ConvTranspose2d(2 * f, f, 4, 2, 1, bias=False), nn.BatchNorm2d(f), nn.ReLU(),
            nn.ConvTranspose2d(f, 1, 4, 2, 1), nn.Tanh())
        self.discriminator = nn.Sequential(
            nn.Conv2d(1, f, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * f * 49, 1))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(m.weight, 1, 0.02)
                nn.init.zeros_(m.bias)


if __name__ == "__main__":
    bench("dcgan", DCGAN(), parse(__doc__.splitlines()[0]))
