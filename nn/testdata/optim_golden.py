#!/usr/bin/python3
"""Writes optim_golden.json: PyTorch 1.13 (Debian python3-torch, CPU)
optimizer trajectories on a small least-squares problem, for the nn/optim
tests. For each configuration it records the initial parameters, the
gradient fed at every step, the parameters after every step and the final
optimizer state, so the Go side can replay the exact gradients.

Run from this directory:  /usr/bin/python3 optim_golden.py
"""
import json

import torch

torch.manual_seed(99)
X = torch.randn(8, 3)
Y = torch.randn(8, 2)
W0 = torch.randn(2, 3) * 0.5
B0 = torch.randn(2) * 0.1
STEPS = 5


def flat(t):
    # 9 significant digits identify a float32 exactly.
    return [float("%.9g" % v) for v in t.detach().reshape(-1).tolist()]


def run(make):
    w = W0.clone().requires_grad_(True)
    b = B0.clone().requires_grad_(True)
    opt = make([w, b])
    grads, params = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = ((X @ w.t() + b - Y) ** 2).mean()
        loss.backward()
        grads.append({"weight": flat(w.grad), "bias": flat(b.grad)})
        opt.step()
        params.append({"weight": flat(w), "bias": flat(b)})
    state = {}
    for name, p in (("weight", w), ("bias", b)):
        for k, v in opt.state[p].items():
            if v is None:  # SGD without momentum keeps momentum_buffer = None
                continue
            state[name + "." + k] = flat(v) if torch.is_tensor(v) and v.dim() > 0 else float(v)
    return {"grads": grads, "params": params, "state": state}


O = torch.optim
cases = {
    "sgd": run(lambda ps: O.SGD(ps, lr=0.1)),
    "sgd_momentum": run(lambda ps: O.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01)),
    "sgd_nesterov": run(lambda ps: O.SGD(ps, lr=0.05, momentum=0.8, nesterov=True)),
    "sgd_dampening": run(lambda ps: O.SGD(ps, lr=0.05, momentum=0.9, dampening=0.5)),
    "adam": run(lambda ps: O.Adam(ps, lr=0.01)),
    "adam_wd_amsgrad": run(lambda ps: O.Adam(ps, lr=0.02, betas=(0.5, 0.99), weight_decay=0.1, amsgrad=True)),
    "adamw": run(lambda ps: O.AdamW(ps, lr=0.01, weight_decay=0.1)),
    "rmsprop": run(lambda ps: O.RMSprop(ps, lr=0.01)),
    "rmsprop_centered_momentum": run(lambda ps: O.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
}
with open("optim_golden.json", "w") as f:
    json.dump({"torch": torch.__version__, "weight": flat(W0), "bias": flat(B0), "steps": STEPS, "cases": cases},
              f, separators=(",", ":"), indent=None)
