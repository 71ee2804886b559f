"""The smaller commands: config, datasets, devices, bench, graph. Each turns the options into an
API call and prints; no argument parsing here (``gradfit fit``, ``gradfit solve``, ``gradfit
predict`` and ``gradfit lr-find`` have modules of their own)."""

from __future__ import annotations

import argparse
import sys

from ..errors import BadOptionError
from ..results.json_form import json_text
from .options import dump_config, effective_options


def run_config(cli_args: argparse.Namespace) -> int:
    """Print the effective ``fit`` configuration as TOML."""
    sys.stdout.write(dump_config(effective_options(cli_args, "fit")))
    return 0


def run_walkthrough(args: argparse.Namespace) -> int:
    from ..option_checks import device_text, positive_int
    from ..walkthrough import walkthrough

    epochs = positive_int(1000)("epochs", args.epochs)
    result = walkthrough(epochs=epochs, lr=args.lr, device=device_text("device", args.device))
    print(result.to_json() if args.json else result.summary(), end="" if not args.json else "\n")
    return 0


def run_datasets(args: argparse.Namespace) -> int:
    from ..data import DATASETS

    rows = []
    for name, make in DATASETS.items():
        data = make()
        rows.append({"name": name, "features": data.feature_names, "target": data.target_name,
                     "n_train": len(data.y_train), "n_val": len(data.y_val), "description": data.description})
    if args.json:
        print(json_text({"datasets": rows}))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Embedded datasets (use the name as DATA: gradfit fit NAME)", title_justify="left")
    for column in ("name", "features → target", "train", "validation", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], ", ".join(row["features"]) + " → " + row["target"], str(row["n_train"]),
                      str(row["n_val"]), row["description"])
    Console(highlight=False).print(table)
    return 0


def run_devices(args: argparse.Namespace) -> int:
    from ..scale.devices import auto_device, list_devices

    devices, auto = list_devices(), auto_device()
    if args.json:
        print(json_text({"devices": [{"name": d.name, "description": d.description,
                                      "memory_bytes": d.memory_bytes} for d in devices], "auto": auto}))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Devices torch can use", title_justify="left")
    for column in ("--device", "what", "memory", "auto picks"):
        table.add_column(column)
    for d in devices:
        memory = f"{d.memory_bytes / 2**30:.1f} GiB" if d.memory_bytes else "-"
        table.add_row(d.name, d.description, memory, "←" if d.name == auto else "")
    console = Console(highlight=False)
    console.print(table)
    console.print(f"--device auto picks {auto} for the torch engine; the numpy and exact engines run on the CPU.")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from ..bench import suite as bench
    from ..scale.devices import resolve_device

    device = resolve_device(args.device)
    rows = bench.run(quick=args.quick, device=device)
    if args.json:
        print(bench.to_json(rows))
    else:
        print(f"Measured on {bench.machine()}\n")
        print(bench.table(rows))
    if args.out:
        from ..atomic import atomic_write_text

        import datetime

        stamp = datetime.date.today().isoformat()
        size = "quick (10x smaller problems)" if args.quick else "full size"
        atomic_write_text(args.out, f"# gradfit bench\n\nMeasured {stamp} on {bench.machine()}; {size}; device "
                          f"{device}. Ratios are gradfit's time over the baseline's, measured in the same run "
                          f"(lower is better).\n\n{bench.table(rows)}\n")
    return 0


def run_graph(args: argparse.Namespace) -> int:
    from ..figures.graph import write_graph

    model = args.model or "manual"
    if model not in ("manual", "linear"):
        raise BadOptionError("model", args.model, "unknown model", "choose manual or linear")
    try:
        n_features = int(args.features)
    except ValueError:
        n_features = 0
    if n_features < 1:  # (write_graph speaks of its own parameter, n_features)
        raise BadOptionError("features", args.features, "must be a whole number of features, at least 1",
                             "e.g. --features 2")
    written, note = write_graph(args.out, model=model, n_features=n_features)
    for path in written:
        print(path)
    if note:
        print(f"gradfit graph: note: {note}", file=sys.stderr)
    return 0
