"""``gradfit traps``: the walk-through's PyTorch traps, each run live (``gradfit.training.traps``),
printed as text or JSON."""

from __future__ import annotations

import argparse
import difflib

from ..results.json_form import json_text
from ..training.traps import TRAPS

TRAP_NAMES = tuple(TRAPS)

DESCRIPTION = """\
Run the few lines of code behind each trap of the walk-through (NumPy loop → tensors and
autograd → manual update → torch.optim → nn.MSELoss → nn.Module → nn.Linear) on the book data and
the installed PyTorch, and print what PyTorch itself raised or warned, why, the fix (run too, and
clean), and the wrong number beside the right one. Nothing is a copy: the code shown is the code
that ran, and every message is the one PyTorch gave."""

EPILOG = """examples:
  gradfit traps                          every trap
  gradfit traps --only broadcast-mse     one of them
  gradfit traps --json                   {"torch_version": …, "traps": [{name, code, raised, why, fix, …}]}
"""


def run_traps_command(args: argparse.Namespace) -> int:
    from ..training.traps import run_traps, traps_report

    report = traps_report(run_traps(only=args.only))
    print(json_text(report) if args.json else traps_text(report))
    return 0


def traps_text(report: dict) -> str:
    """The traps as the terminal shows them: header, code, what was said, why, the fix, the numbers."""
    traps = report["traps"]
    head = [f"PyTorch {report['torch_version']}; in scope: torch, nn, {report['data']}.",
            "Each trap's code ran as shown, then its fix."]
    return "\n".join(head + [trap_text(trap, i, len(traps)) for i, trap in enumerate(traps, 1)])


def trap_text(trap: dict, number: int, count: int) -> str:
    out = ["", f"[{number}/{count}] {trap['name']}: {trap['title']}", "  code:"]
    out += [f"    {line}" for line in trap["code"].splitlines()]
    out += said_lines(trap["raised"]) or ["  PyTorch says nothing: no error, no warning."]
    out.append(f"  why: {trap['why']}")
    out.append("  fix (- the code's lines, + the fix's):")
    out += [f"    {line}" for line in changed_lines(trap["code"], trap["fix"])]
    if trap["fix_raised"]:
        out += ["  the fix did not run clean:"] + said_lines(trap["fix_raised"])
    if trap["numbers"]:
        out.append("  numbers (the code → the fix):")
        width = max(len(n["expression"]) for n in trap["numbers"])
        out += [f"    {n['expression']:<{width}}  {shown(n['wrong'])} → {shown(n['right'])}   ({n['meaning']})"
                for n in trap["numbers"]]
    if trap["note"]:
        out.append(f"  note: {trap['note']}")
    return "\n".join(out)


def said_lines(said) -> list[str]:
    """One line per message: who said it, the class, the code's line, the text verbatim."""
    lines = []
    for message in said or ():
        where = f", line {message['line']}" if message["line"] is not None else ""
        lines.append(f"  {message['by']} says ({message['type']}{where}): {message['text']}")
    return lines


def changed_lines(code: str, fix: str) -> list[str]:
    """The lines the fix removes (``-``) and adds (``+``), each change after the line it follows."""
    before, after = code.splitlines(), fix.splitlines()
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 > 0:
            out.append(f"  {before[i1 - 1]}")
        out += [f"- {line}" for line in before[i1:i2]] + [f"+ {line}" for line in after[j1:j2]]
    return out


def shown(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):  # four decimals, as the book prints tensors
        return f"{value:.4f}" if 1e-3 <= abs(value) < 1e6 else f"{value:.4g}"
    if isinstance(value, (list, tuple)):  # a shape
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"
    return str(value)
