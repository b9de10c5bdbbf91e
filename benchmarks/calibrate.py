"""Refit the engine's efficiency factors and print them, with the fit and held-out error.

    python benchmarks/calibrate.py            # fit on the committed subsets, print factors and errors
    python benchmarks/calibrate.py --extract /work/shared/data/measurements
                                              # rebuild the committed subsets from the full Vidur/Splitwise data

The committed subsets live in ``mlsysim/data/measurements/`` (each with its LICENSE).
The fit itself is :func:`mlsysim.validation.fit`; this script only drives it.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "mlsysim" / "data" / "measurements"

# Subset selection: a log-spaced ladder of token counts and every TP degree on one node.
GEMM_TOKENS = (1, 8, 64, 256, 1024, 4096)
GEMM_TP = (1, 2, 4, 8)
GEMM_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
AR_SIZES = (2048, 67584, 1048576, 4194304, 16777216, 62914560)


def _gemm_shape(row, op, p):
    """(n, k) of one projection on one of p tensor-parallel workers (m = tokens)."""
    d, h, kv, f = (int(row[c]) for c in ("n_embd", "n_head", "n_kv_head", "n_expanded_embd"))
    hd = d // h
    gated = row["use_gated_mlp"] == "True"
    return {"attn_pre_proj": ((h + 2 * kv) * hd // p, d), "attn_post_proj": (d, h * hd // p),
            "mlp_up_proj": ((2 if gated else 1) * f // p, d), "mlp_down_proj": (d, f // p)}[op]


def extract(src: Path) -> None:
    vid = src / "vidur"
    dst = OUT / "vidur"
    dst.mkdir(parents=True, exist_ok=True)
    rows_out = []
    for device in ("a100", "h100"):
        for model in ("7b", "70b"):
            seen = {}
            for row in csv.DictReader(open(vid / f"{device}_Llama-2-{model}-hf_mlp.csv")):
                m, p = int(row["num_tokens"]), int(row["num_tensor_parallel_workers"])
                if m in GEMM_TOKENS and p in GEMM_TP:
                    seen.setdefault((m, p), []).append(row)
            for (m, p), rows in sorted(seen.items()):
                for op in GEMM_OPS:
                    n, k = _gemm_shape(rows[0], op, p)
                    # repeated profiling rows for one setting: take the median of their medians
                    ms = statistics.median(float(r[f"time_stats.{op}.median"]) for r in rows)
                    rows_out.append([device.upper(), f"Llama-2-{model.upper()}", op, p, m, n, k, f"{ms:.4f}"])
    with open(dst / "gemm.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["device", "model", "op", "tensor_parallel", "m", "n", "k", "median_ms"])
        w.writerows(rows_out)
    groups = {}
    for device in ("a100", "h100"):
        for row in csv.DictReader(open(vid / f"{device}_dgx_all_reduce.csv")):
            p, n = int(row["num_workers"]), int(row["size"])
            if row["devices_per_node"] == row["num_workers"] and p in (2, 4, 8) and n in AR_SIZES:
                groups.setdefault((device.upper(), p, n), []).append(float(row["time_stats.all_reduce.median"]))
    ar = [(*key, statistics.median(v)) for key, v in sorted(groups.items())]
    with open(dst / "all_reduce.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["device", "num_workers", "size_bytes", "median_ms"])
        w.writerows([d, p, n, f"{t:.4f}"] for d, p, n, t in ar)
    shutil.copy(vid / "LICENSE", dst / "LICENSE")

    # Splitwise: mean over repeated runs per setting, Llama-2-70B only
    spl = src / "splitwise"
    groups = {}
    for row in csv.DictReader(open(spl / "perf_model.csv")):
        if row["model"] != "llama2-70b" or row["hardware"].endswith("pcap"):
            continue
        key = (row["hardware"], int(row["tensor_parallel"]), int(row["prompt_size"]), int(row["batch_size"]),
               int(row["token_size"]))
        groups.setdefault(key, []).append(row)
    sdst = OUT / "splitwise"
    sdst.mkdir(parents=True, exist_ok=True)
    with open(sdst / "llama2_70b.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["hardware", "tensor_parallel", "prompt_size", "batch_size", "token_size", "runs",
                    "prompt_time_ms", "token_time_ms"])
        for key in sorted(groups):
            rows = groups[key]
            if key[3] not in (1, 8, 32) or key[2] not in (512, 1024, 2048, 4096) or key[4] != 128:
                continue
            w.writerow(list(key) + [len(rows), f"{statistics.mean(float(r['prompt_time']) for r in rows):.2f}",
                                    f"{statistics.mean(float(r['token_time']) for r in rows):.3f}"])
    shutil.copy(spl / "LICENSE", sdst / "LICENSE")
    print(f"wrote {len(rows_out)} GEMM rows, {len(ar)} all-reduce rows, splitwise subset to {OUT}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--extract", type=Path, metavar="DIR", help="rebuild the subsets from the full measurement data")
    args = ap.parse_args(argv)
    if args.extract:
        extract(args.extract)
        return 0
    sys.path.insert(0, str(ROOT))
    from mlsysim import validation

    validation.main(["--fit"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
