#!/usr/bin/env python3
"""This checkout against another one (an older commit), measured in the same run.

Usage: python bench/against.py --root DIR [--rows 200000] [--tries 3] [--out FILE]

The targets in docs/benchmarks.md are absolute, and this machine's speed is not: the stdlib
floor read 1M CSV rows at 803k rows/s on 2026-11-30 and at 400k on 2026-12-03. Whether a
change made ae-import slower is told by running both checkouts here, turn about, on the
same files: `validate` on each manifest shape, the resume of a fully imported manifest,
and the client CPU of `run` at c=50 against a 100 ms sandbox. Each checkout runs with its
own code (PYTHONPATH) and its own bench/generate.py and bench/prefill.py; the manifests
come from this checkout's generator, so both read the same bytes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FLOOR, ROOT, ae_import, run_argv, run_child, start_sandbox
from generate import SHAPES, generate

_PREFILL = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from prefill import prefill
prefill(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
"""


def _env(root: Path) -> dict[str, str]:
    """Return the environment that runs ``root``'s ae_import."""
    return {**os.environ, "PYTHONPATH": str(root), "AE_API_TOKEN": "bench"}


def _turns(
    argvs: dict[str, tuple[list[str], dict[str, str]]], tries: int
) -> dict[str, tuple[float, float]]:
    """Run each checkout's command in turn, ``tries`` rounds; return best wall and CPU seconds.

    The children run in the temporary folder: in a checkout, ``-m`` and ``-c`` would put
    that checkout's ae_import before PYTHONPATH's.
    """
    cwd = Path(tempfile.gettempdir())
    best = {name: (float("inf"), float("inf")) for name in argvs}
    for _ in range(tries):
        for name, (argv, env) in argvs.items():
            run = run_child(argv, env, cwd=cwd)
            if run.code != 0:
                raise SystemExit(f"{' '.join(argv[:4])} failed with {env.get('PYTHONPATH')}")
            best[name] = (min(best[name][0], run.seconds), min(best[name][1], run.cpu_s))
    return best


def main() -> None:
    """Measure both checkouts and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rows", type=int, default=200_000, help="rows per validate manifest")
    parser.add_argument("--resume-rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5000, help="rows sent at c=50")
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the table here too")
    args = parser.parse_args()
    trees = {"this checkout": ROOT, f"`{args.root.name}`": args.root.resolve()}
    rows: list[tuple[str, dict[str, str]]] = []
    with tempfile.TemporaryDirectory(prefix="ae-against-") as folder:
        work = Path(folder)
        for shape in SHAPES:
            path = generate(shape, args.rows, work / shape)
            floor = [sys.executable, "-c", FLOOR, str(path)]
            commands = {"stdlib floor": (floor, dict(os.environ))}
            for name, root in trees.items():
                argv = ae_import("validate", str(path))
                if shape == "crm.csv":
                    argv += ["--config", str(root / "samples" / "salesforce.yaml")]
                commands[name] = (argv, _env(root))
            best = _turns(commands, args.tries)
            figures = {name: f"{args.rows / wall:,.0f} rows/s" for name, (wall, _) in best.items()}
            rows.append((f"`validate` {shape}, {args.rows:,} rows", figures))
        manifest = generate("api.csv", args.resume_rows, work / "resume.csv")
        nowhere = "http://127.0.0.1:9/api"  # nothing listens: any request would fail and show
        commands = {}
        for number, (name, root) in enumerate(trees.items()):
            ledger = work / f"resume-{number}.sqlite"
            code = [sys.executable, "-c", _PREFILL, str(root / "bench"), str(manifest)]
            subprocess.run([*code, str(ledger), nowhere], env=_env(root), check=True, cwd=work)
            commands[name] = (run_argv(manifest, nowhere, ledger), _env(root))
        best = _turns(commands, args.tries)
        figures = {name: f"{wall:.2f} s" for name, (wall, _) in best.items()}
        rows.append((f"resume of {args.resume_rows:,} done rows", figures))
        manifest = generate("api.csv", args.requests, work / "run.csv")
        cpu = dict.fromkeys(trees, float("inf"))
        for attempt in range(args.tries):
            for number, (name, root) in enumerate(trees.items()):
                proc, url = start_sandbox("--latency", "100")
                try:
                    ledger = work / f"run-{number}-{attempt}.sqlite"
                    argv = run_argv(manifest, url, ledger, "--concurrency", "50")
                    used = _turns({name: (argv, _env(root))}, 1)[name][1]
                    cpu[name] = min(cpu[name], used)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
        figures = {name: f"{used / args.requests * 1000:.2f} ms/row" for name, used in cpu.items()}
        rows.append((f"client CPU of `run` at c=50, {args.requests:,} rows", figures))
    names = [*trees, "stdlib floor"]
    lines = [
        "| measure | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
        *(
            f"| {measure} | " + " | ".join(figures.get(n, "") for n in names) + " |"
            for measure, figures in rows
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
