#!/usr/bin/python3
"""PyTorch twin of ingot's BenchmarkLSTMStep (nn/rnn_bench_test.go): one
training iteration of a character-level LSTM language model — vocab 96 →
embedding 64 → LSTM 256 → linear 96, sequence 64, batch 32: forward,
cross-entropy, backward and an Adam step. Prints the median milliseconds
per iteration for each thread count tried (1 … number of CPUs by default,
since PyTorch's default may be one thread) and the best of them.

    /usr/bin/python3 bench/pytorch/charlstm.py [--threads N] [--iters N]
"""
import argparse
import os
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
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: try 1 … the number of CPUs)")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args()
    counts = [args.threads] if args.threads > 0 else list(range(1, (os.cpu_count() or 1) + 1))
    best = None
    for n in counts:
        torch.set_num_threads(n)
        ms, cpu = bench(args.iters, args.warmup)
        print(f"charlstm torch {torch.__version__} threads {torch.get_num_threads()}: "
              f"median {statistics.median(ms):.2f} ms/step (min {min(ms):.2f}, {args.iters} iterations), "
              f"{cpu:.2f} cpu-ms/step")
        if best is None or statistics.median(ms) < best[1]:
            best = (n, statistics.median(ms))
    print(f"best: {best[1]:.2f} ms/step with {best[0]} threads")


def bench(iters, warmup):
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

    for _ in range(warmup):
        step()
    times = []
    c0 = time.process_time()  # CPU time of all threads: steadier on a shared machine
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times, (time.process_time() - c0) * 1e3 / iters


if __name__ == "__main__":
    main()
