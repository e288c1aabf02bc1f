#!/usr/bin/python3
"""PyTorch twin of ingot's BenchmarkLSTMStep (nn/rnn_bench_test.go): one
training iteration of a character-level LSTM language model — vocab 96 →
embedding 64 → LSTM 256 → linear 96, sequence 64, batch 32: forward,
cross-entropy, backward and an Adam step. Prints the median milliseconds
per iteration.

    /usr/bin/python3 bench/pytorch/charlstm.py [--threads N] [--iters N]
"""
import argparse
import statistics
import time

import torch

V, E, H, T, B = 96, 64, 256, 64, 32


class CharLSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H)
        self.head = torch.nn.Linear(H, V)

    def forward(self, ids):
        y, _ = self.lstm(self.embedding(ids))
        return self.head(y.reshape(T * B, H))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = CharLSTM()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ids = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (T * B,))

    def step():
        logits = model(ids)
        loss = torch.nn.functional.cross_entropy(logits, targets)
        loss.backward()
        opt.step()
        opt.zero_grad()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    print(f"charlstm torch {torch.__version__} threads {torch.get_num_threads()}: "
          f"median {statistics.median(times):.2f} ms/step (min {min(times):.2f}, {args.iters} iterations)")


if __name__ == "__main__":
    main()
