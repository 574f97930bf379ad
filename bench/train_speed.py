"""Training throughput: rhoproof's vectorized trainer vs one plain nn.Module per model.

Measures instance-epochs per second for S5 (d_e = m = 128, 40% split) at K = 1, 10, 100,
for both in the same process, in interleaved rounds (medians reported), and writes
bench/results/train_speed_<device>.json plus a markdown table.
Usage: python bench/train_speed.py [--epochs 5] [--rounds 3] [--device cpu] [--ks 1 10 100]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rhoproof.groups import group
from rhoproof.model import GroupMLP
from rhoproof.run import versions
from rhoproof.step import FusedStep
from rhoproof.train import AdamState, TrainConfig, adam_step, train_split


class PlainMLP(nn.Module):
    """The straightforward single-model baseline: embeddings, linear layers, ReLU, unembed."""

    def __init__(self, n: int, d: int, m: int) -> None:
        super().__init__()
        self.embed_left, self.embed_right = nn.Embedding(n, d), nn.Embedding(n, d)
        self.linear_left = nn.Linear(d, m, bias=False)
        self.linear_right = nn.Linear(d, m, bias=False)
        self.unembed = nn.Linear(m, n)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.linear_left(self.embed_left(x))
                       + self.linear_right(self.embed_right(y)))
        return self.unembed(h)


def data(cfg: TrainConfig, device: torch.device):
    grp = group(cfg.group)
    pairs = torch.nonzero(train_split(grp.order, cfg.train_frac, cfg.seed))[:, 0]
    x, y = pairs // grp.order, pairs % grp.order
    return grp, x.to(device), y.to(device), grp.table[x, y].to(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def vectorized_runner(cfg: TrainConfig, k: int, device: torch.device):
    """A function that runs one epoch of rhoproof's trainer for K instances."""
    grp, x, y, labels = data(cfg, device)
    model = GroupMLP(grp.order, k, cfg.d_embed, cfg.d_hidden, cfg.seed).to(device)
    state = AdamState.zeros_like(model)
    fused = FusedStep(model, x, y, labels)

    def epoch() -> None:
        adam_step(model, fused(model, with_loss=False)[1], state, cfg)

    return epoch


def baseline_runner(cfg: TrainConfig, k: int, device: torch.device):
    """A function that runs one epoch of K plain models, one after another."""
    grp, x, y, labels = data(cfg, device)
    models, opts = [], []
    for i in range(k):
        torch.manual_seed(i)
        mdl = PlainMLP(grp.order, cfg.d_embed, cfg.d_hidden).to(device)
        decay = [p for n, p in mdl.named_parameters() if n != "unembed.bias"]
        opts.append(torch.optim.Adam(
            [{"params": decay, "weight_decay": cfg.weight_decay},
             {"params": [mdl.unembed.bias], "weight_decay": 0.0}],
            lr=cfg.lr, betas=(cfg.beta1, cfg.beta2)))
        models.append(mdl)

    def epoch() -> None:
        for mdl, opt in zip(models, opts):
            opt.zero_grad()
            F.cross_entropy(mdl(x, y), labels).backward()
            opt.step()

    return epoch


def seconds(epoch, epochs: int, device: torch.device) -> float:
    sync(device)
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    sync(device)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5, help="epochs per timed round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians kept")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    device = torch.device(args.device)
    cfg = TrainConfig(group="S5")
    rows = []
    for k in args.ks:
        vec, base = vectorized_runner(cfg, k, device), baseline_runner(cfg, k, device)
        vec(), base()  # warm-up
        tv, tb = [], []
        for _ in range(args.rounds):  # interleaved, so drift on a shared machine hits both
            tv.append(seconds(vec, args.epochs, device))
            tb.append(seconds(base, args.epochs, device))
        tv_med, tb_med = statistics.median(tv), statistics.median(tb)
        row = {"K": k, "epochs_per_round": args.epochs, "rounds": args.rounds,
               "vectorized_s": tv, "baseline_s": tb,
               "vectorized_inst_epochs_per_s": k * args.epochs / tv_med,
               "baseline_inst_epochs_per_s": k * args.epochs / tb_med,
               "speedup": tb_med / tv_med}
        rows.append(row)
        print(f"K={k:4d}  vectorized {row['vectorized_inst_epochs_per_s']:8.1f} inst-epochs/s  "
              f"baseline {row['baseline_inst_epochs_per_s']:8.1f}  ratio {row['speedup']:.2f}x",
              flush=True)
    dev_name = (torch.cuda.get_device_name(device) if device.type == "cuda"
                else f"{platform.processor() or platform.machine()}, "
                     f"{torch.get_num_threads()} threads")
    result = {"benchmark": "train_speed", "group": "S5", "d_embed": 128, "d_hidden": 128,
              "train_frac": 0.4, "device": str(device), "device_name": dev_name,
              "versions": versions(), "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = device.type
    (out / f"train_speed_{tag}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = ["| K | vectorized inst-epochs/s | baseline inst-epochs/s | ratio |",
             "|---|---|---|---|"]
    table += [f"| {r['K']} | {r['vectorized_inst_epochs_per_s']:.1f} | "
              f"{r['baseline_inst_epochs_per_s']:.1f} | {r['speedup']:.2f}x |" for r in rows]
    (out / f"train_speed_{tag}.md").write_text(
        f"Train speed, S5, {dev_name}\n\n" + "\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
