#!/usr/bin/python3
"""Writes rnn_golden.json: PyTorch (Debian python3-torch 1.13, CPU) LSTM,
GRU, LSTMCell and GRUCell outputs and gradients for small seeded models, so
the nn tests check gate order, parameter layout and numerics against the
real thing without needing torch.

Run from this directory:  /usr/bin/python3 rnn_golden.py
"""
import json

import torch

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)


def flat(t):
    # 9 significant digits identify a float32 exactly.
    return [float("%.9g" % v) for v in t.detach().reshape(-1).tolist()]


def entry(t):
    return {"shape": list(t.shape), "data": flat(t)}


def run(name, module, x, state, batch_first=False):
    """Loss = sum of fixed random weights times every output."""
    x = x.clone().requires_grad_(True)
    if isinstance(state, tuple):
        state = tuple(s.clone().requires_grad_(True) for s in state)
    elif state is not None:
        state = state.clone().requires_grad_(True)
    out = module(x, state)
    if isinstance(module, torch.nn.LSTM):
        y, (hn, cn) = out
        outs = {"y": y, "h_n": hn, "c_n": cn}
    elif isinstance(module, torch.nn.GRU):
        y, hn = out
        outs = {"y": y, "h_n": hn}
    elif isinstance(module, torch.nn.LSTMCell):
        h, c = out
        outs = {"h": h, "c": c}
    else:
        outs = {"h": out}
    weights = {k: torch.randn(v.shape) for k, v in outs.items()}
    loss = sum((weights[k] * v).sum() for k, v in outs.items())
    loss.backward()
    case = {
        "params": {k: entry(v) for k, v in module.state_dict().items()},
        "param_order": list(module.state_dict().keys()),
        "x": entry(x),
        "outputs": {k: entry(v) for k, v in outs.items()},
        "weights": {k: entry(v) for k, v in weights.items()},
        "grads": {"x": entry(x.grad)},
    }
    if isinstance(state, tuple):
        case["h0"], case["c0"] = entry(state[0]), entry(state[1])
        case["grads"]["h0"], case["grads"]["c0"] = entry(state[0].grad), entry(state[1].grad)
    elif state is not None:
        case["h0"] = entry(state)
        case["grads"]["h0"] = entry(state.grad)
    for k, p in module.named_parameters():
        case["grads"][k] = entry(p.grad)
    return name, case


T, B, I, H, L = 4, 2, 3, 5, 2
cases = dict([
    run("lstm", torch.nn.LSTM(I, H, num_layers=L), torch.randn(T, B, I),
        (torch.randn(L, B, H), torch.randn(L, B, H))),
    run("lstm_batch_first", torch.nn.LSTM(I, H, num_layers=1, batch_first=True),
        torch.randn(B, T, I), (torch.randn(1, B, H), torch.randn(1, B, H))),
    run("gru", torch.nn.GRU(I, H, num_layers=L), torch.randn(T, B, I), torch.randn(L, B, H)),
    run("gru_batch_first", torch.nn.GRU(I, H, num_layers=1, batch_first=True),
        torch.randn(B, T, I), torch.randn(1, B, H)),
    run("lstm_cell", torch.nn.LSTMCell(I, H), torch.randn(B, I), (torch.randn(B, H), torch.randn(B, H))),
    run("gru_cell", torch.nn.GRUCell(I, H), torch.randn(B, I), torch.randn(B, H)),
])

with open("rnn_golden.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
