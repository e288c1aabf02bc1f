#!/usr/bin/env python3
"""PyTorch twin of ingot's character LSTM (package charlm), for the quality
comparison (the speed twin is charlstm.py beside this file).

  train  trains on a text exactly as `ingot train charlm` does — same
         vocabulary (distinct code points in order, id 0 unknown), same 10%
         held-out tail, same tracks and chunks (data.TextBatcher, time-major,
         no random offset), the state carried and detached between chunks
         and reset at each epoch, Adam, global-norm clipping, the same number
         of steps — and prints the held-out bits per character (the whole
         held-out text as one sequence from a zero state) as JSON.

Only the initial weights differ (another RNG; the same distributions:
PyTorch's defaults, which ingot's layers reproduce).

  python3 bench/pytorch/charlm.py train --text data/text/pride-and-prejudice.txt.gz --steps 3000
"""
import argparse
import gzip
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn


class CharLM(nn.Module):
    # Parameter names match ingot's: embed.*, lstm.*, head.*.
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        y, state = self.lstm(self.embed(ids), state)
        return self.head(y), state


def read_text(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    s = raw.decode("utf-8")
    if s.startswith("\ufeff"):
        s = s[1:]
    return s.replace("\r\n", "\n")


def step(model, opt, ids, tg, state, clip):
    opt.zero_grad()
    logits, state = model(ids, state)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tg.reshape(-1))
    loss.backward()
    if clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item(), tuple(s.detach() for s in state)


def bits_per_char(model, ids, chunk=512):
    total, state = 0.0, None
    with torch.no_grad():
        for s in range(0, len(ids) - 1, chunk):
            e = min(s + chunk, len(ids) - 1)
            x = torch.tensor(ids[s:e]).reshape(-1, 1)
            logits, state = model(x, state)
            lp = torch.log_softmax(logits.reshape(e - s, -1).double(), -1)
            tg = torch.tensor(ids[s + 1:e + 1])
            total -= lp[torch.arange(e - s), tg].sum().item()
    return total / (len(ids) - 1) / math.log(2)


def train(a):
    torch.manual_seed(a.seed)
    text = read_text(a.text)
    runes = sorted(set(text) - {"\ufffd"})
    index = {r: i + 1 for i, r in enumerate(runes)}
    ids = [index.get(c, 0) for c in text]
    cut = len(ids) - int(len(ids) * a.held_out)
    tr, ho = ids[:cut], ids[cut:]
    model = CharLM(len(runes) + 1, a.embed, a.hidden, a.layers)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    # data.TextBatcher: batch tracks of len(tr)//batch tokens, chunks of seq.
    tl = len(tr) // a.batch
    tracks = torch.tensor(tr[:tl * a.batch]).reshape(a.batch, tl).t().contiguous()  # [tl, batch]
    steps_per_epoch = (tl - 1 + a.seq - 1) // a.seq
    done, state, losses = 0, None, []
    t0 = time.perf_counter()
    while done < a.steps:
        for k in range(steps_per_epoch):
            if done >= a.steps:
                break
            if k == 0:
                state = None
            s = k * a.seq
            n = min(a.seq, tl - 1 - s)
            loss, state = step(model, opt, tracks[s:s + n], tracks[s + 1:s + n + 1], state, a.clip)
            losses.append(loss)
            done += 1
    secs = time.perf_counter() - t0
    bpc = bits_per_char(model, ho)
    print(json.dumps({"impl": "pytorch", "steps": done, "held_out_bpc": bpc,
                      "train_bpc_last100": statistics.mean(losses[-100:]) / math.log(2),
                      "vocab": len(runes) + 1, "train_chars": len(tr), "held_out_chars": len(ho),
                      "seconds": secs, "threads": torch.get_num_threads()}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["train"])
    p.add_argument("--text", default="data/text/pride-and-prejudice.txt.gz")
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--held-out", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    train(a)


if __name__ == "__main__":
    sys.exit(main())
