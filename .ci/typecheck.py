"""pyright (basic, settings in pyproject.toml) against a committed baseline that may only shrink.

    python .ci/typecheck.py            # fails on any error beyond .ci/pyright_baseline.json (per file and rule)
    python .ci/typecheck.py --update   # after fixing errors: write the smaller baseline (refused if it grew;
                                       # without a baseline file it writes the first one)

Most baseline entries are torch's dynamic attributes (nn.Module's __getattr__) and rsl_rl's VecEnv declaring
fewer methods than its implementations have; new code must not add any.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / ".ci" / "pyright_baseline.json"


def current_errors() -> tuple[dict[str, int], list[str]]:
    result = subprocess.run(["pyright", "--outputjson"], cwd=ROOT, capture_output=True, text=True)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        sys.exit(f"typecheck: pyright did not run: {(result.stderr or result.stdout).strip()[:500]}")
    counts: collections.Counter[str] = collections.Counter()
    lines = []
    for item in report["generalDiagnostics"]:
        if item["severity"] != "error":
            continue
        path = Path(item["file"]).resolve().relative_to(ROOT).as_posix()
        key = f"{path} {item.get('rule', 'error')}"
        counts[key] += 1
        lines.append(
            f"{path}:{item['range']['start']['line'] + 1}: {item.get('rule')}: {item['message'].splitlines()[0]}"
        )
    return dict(counts), lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write the (smaller) baseline")
    args = parser.parse_args()
    counts, lines = current_errors()
    baseline: dict[str, int] = json.loads(BASELINE.read_text()) if BASELINE.is_file() else {}
    grown = {key: (count, baseline.get(key, 0)) for key, count in counts.items() if count > baseline.get(key, 0)}
    if grown and BASELINE.is_file():
        for key, (count, allowed) in sorted(grown.items()):
            path, rule = key.split(" ")
            print(f"typecheck: {path}: {count} {rule} errors, baseline allows {allowed}:", file=sys.stderr)
            for line in lines:
                if line.startswith(path + ":") and f": {rule}:" in line:
                    print(f"  {line}", file=sys.stderr)
        return 1
    total, allowed = sum(counts.values()), sum(baseline.values())
    if args.update:
        BASELINE.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n")
        print(f"typecheck: baseline written: {total} errors (was {allowed})")
    elif total < allowed:
        fewer = allowed - total
        print(f"typecheck: {total} errors, {fewer} below the baseline: python .ci/typecheck.py --update shrinks it")
    else:
        print(f"typecheck: {total} errors, all in the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
