"""``python -m mlsysim.validation [--fit] [--all]``: the engine against published measurements."""
from __future__ import annotations


from mlsysim.validation import (ALLREDUCE_FIT_WORKERS, END_TO_END_FITS, FIT, GEMM_FIT_MODEL, HELD_OUT,
                                TRAINING_FIT_IDS, fit, operators, run)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m mlsysim.validation", description="Engine against published measurements")
    ap.add_argument("--fit", action="store_true", help="refit the hardware factors and print them")
    ap.add_argument("--all", action="store_true", help="list every record, including every operator row")
    args = ap.parse_args(argv)
    from mlsysim.calibration import DEFAULT
    from mlsysim.show import pct

    if args.fit:
        fitted = fit()
        print("Refit on: GEMMs of", GEMM_FIT_MODEL, "(A100 + H100, TP 1-8, 1-4,096 tokens);",
              f"all-reduce on {' and '.join(map(str, ALLREDUCE_FIT_WORKERS))} GPUs (A100 + H100);",
              "then, in order:", "; ".join(f"{name} on {', '.join(ids)}" for name, (ids, _) in END_TO_END_FITS.items()))
        for name, value in fitted.items():
            now = getattr(DEFAULT, name)
            print(f"  {name:26s} fitted {value:<10.4g} in calibration.py {now:.4g}")
        cal = DEFAULT.with_(**fitted)
        ops = operators(cal)
        for kind in ("gemm", "all-reduce"):
            for role in (FIT, HELD_OUT):
                sub = ops.subset(role, kind)
                print(f"  {kind:10s} {role:8s} n={len(sub):3d}  median |err| {pct(sub.median_abs_error, 2):>6s}"
                      f"  max |err| {pct(sub.max_abs_error, 2):>6s}")
        training = run(cal, software=False).training
        print("  training factors fitted on:", ", ".join(TRAINING_FIT_IDS))
        for role in (FIT, HELD_OUT):
            sub = training.subset(role)
            print(f"  {'training':10s} {role:8s} n={len(sub):3d}  median |err| {pct(sub.median_abs_error, 2):>6s}"
                  f"  max |err| {pct(sub.max_abs_error, 2):>6s}  within 25%: {sum(abs(sub.errors) <= 0.25)}/{len(sub)}")
        e2e = run(cal, software=False).end_to_end
        for role in (FIT, HELD_OUT):
            sub = e2e.subset(role)
            print(f"  {'end-to-end':10s} {role:8s} n={len(sub):3d}  median |err| {pct(sub.median_abs_error, 2):>6s}"
                  f"  max |err| {pct(sub.max_abs_error, 2):>6s}  within 30%: {sum(abs(sub.errors) <= 0.3)}/{len(sub)}")
        print()
    v = run(operators=args.all)
    print(v if args.all else v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
