"""The ``mlsysim`` command line.

    mlsysim eval MODEL HARDWARE [--batch-size N] [--seq-len N] [--precision P] [--tp N] [--json]
    mlsysim zoo models | hardware [--json]
    mlsysim --version

Exit codes: 0 success; 2 bad usage or an unknown name (with the closest names);
3 an infeasible configuration (with the reason). User errors never print a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_USAGE, EXIT_INFEASIBLE = 0, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlsysim", description="First-principles ML-systems estimates.")
    parser.add_argument("--version", action="version", version=f"mlsysim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="serve MODEL on HARDWARE: TTFT, ITL, memory, feasibility")
    ev.add_argument("model", help="model name, e.g. Llama3_70B (see 'mlsysim zoo models')")
    ev.add_argument("hardware", help="accelerator name, e.g. H100 (see 'mlsysim zoo hardware')")
    ev.add_argument("--batch-size", type=int, default=1, metavar="N", help="concurrent sequences (default 1)")
    ev.add_argument("--seq-len", type=int, default=2048, metavar="N", help="context tokens per sequence (default 2048)")
    ev.add_argument("--precision", default="fp16", metavar="P", help="weight precision: fp16, bf16, fp8, int8, int4 ... (default fp16)")
    ev.add_argument("--tp", type=int, default=1, metavar="N", help="tensor-parallel devices per replica (default 1)")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    zoo = sub.add_parser("zoo", help="list the built-in catalogues")
    zoo.add_argument("catalogue", choices=["models", "hardware"])
    zoo.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("mlsysim")
    except Exception:  # running from a source tree that is not installed
        return "unknown (not installed)"


def _count(n: float) -> str:
    """A parameter count as people write it: 1.8T, 70.6B, 25.6M, 110K."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}"
    return f"{n:.0f}"


def _zoo(args) -> int:
    from mlsysim.show import Table
    from mlsysim.specs.catalog import Hardware, Models

    if args.catalogue == "models":
        rows = [[m.key, m.name, m.architecture, _count(m.parameters.to("count").magnitude),
                 _count(m.active_parameters.to("count").magnitude), m.source.key] for m in Models]
        headers = ["key", "name", "architecture", "parameters", "active", "source"]
    else:
        rows = []
        for h in Hardware:
            fp16 = h.peak_flops.get("fp16") or h.peak_flops.get("bf16") or h.peak_flops.get("int8")
            rows.append([h.key, h.name, h.tier, f"{fp16.to('TFLOP/s').magnitude:,.4g}" if fp16 else "-",
                         f"{h.memory_capacity.to('GB').magnitude:,.4g}", f"{h.memory_bandwidth.to('GB/s').magnitude:,.4g}",
                         f"{h.tdp.to('W').magnitude:,.4g}", h.source.key])
        headers = ["key", "name", "tier", "fp16 TFLOP/s", "memory GB", "GB/s", "TDP W", "source"]
    if args.json:
        print(json.dumps([dict(zip(headers, r)) for r in rows], indent=2))
    else:
        print(repr(Table(headers, rows)))
    return EXIT_OK


# rows of an infeasible replica's table that are estimates of something that cannot run
_HYPOTHETICAL = ("Time to first token", "Inter-token latency", "Decode throughput")


def _infeasible_table(text: str, reasons) -> str:
    """Say first that the configuration does not run, and mark the figures that only say
    what it would take if it did."""
    lines = text.splitlines()
    out = [lines[0], "  INFEASIBLE: " + "; ".join(reasons),
           "  The times below are what this replica would take if it could hold the model; it cannot."]
    for line in lines[1:]:
        label = line.strip().split("  ")[0]
        if label in _HYPOTHETICAL:
            line += "  (if it fit)"
        elif label == "Share of usable memory":
            line += " of the usable memory: does not fit" if "%" in line else ""
        out.append(line)
    return "\n".join(out)


def _check_tp(args) -> None:
    """Tensor parallelism splits attention heads across devices: they must divide evenly."""
    from mlsysim.errors import InputError
    from mlsysim.specs.catalog import Models

    try:
        model = Models.get(args.model)
    except Exception:
        return                      # the solver names the unknown model, with suggestions
    heads = getattr(model, "heads", None)
    if args.tp < 1:
        raise InputError("--tp", "a whole number of devices, at least 1", args.tp)
    if heads and heads % args.tp:
        divisors = [d for d in (1, 2, 4, 8, 16, 32, 64) if heads % d == 0]
        raise InputError("--tp", f"a divisor of {model.name}'s {heads} attention heads "
                         f"({', '.join(map(str, divisors))})", args.tp)


def _eval(args) -> int:
    from mlsysim.solvers.serving import ServingModel

    _check_tp(args)
    result = ServingModel().solve(args.model, args.hardware, seq_len=args.seq_len, batch_size=args.batch_size,
                                  precision=args.precision, tensor_parallel=args.tp)
    if args.json:
        print(json.dumps({"model": result.model.key, "hardware": result.hardware.key, **result.to_dict()}, indent=2))
    elif result.feasible:
        print(repr(result))
    else:
        print(_infeasible_table(repr(result), result.reasons))
    if not result.feasible:
        if not args.json:
            print("\ninfeasible: " + "; ".join(result.reasons), file=sys.stderr)
        return EXIT_INFEASIBLE
    return EXIT_OK


def main(argv=None) -> int:
    from mlsysim.errors import MlsysimError

    args = _parser().parse_args(argv)
    try:
        return _zoo(args) if args.command == "zoo" else _eval(args)
    except MlsysimError as exc:
        print(f"mlsysim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into head
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
