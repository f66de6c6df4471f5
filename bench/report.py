"""Medians, ratios to raw asyncpg, the Markdown tables and docs/performance.md."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.libs.base import Adapter
from bench.workloads import GOALS, UNITS, WORKLOADS, Sizes

__all__ = ["BASELINE", "Results", "cpu_model", "markdown_table", "performance_page"]

TIMES = "\N{MULTIPLICATION SIGN}"

BASELINE = "raw"
"""The adapter key every ratio is relative to (raw asyncpg, pool of 4, reset on)."""


@dataclass
class Results:
    """Timed bursts: ``ops[workers][workload][library]`` is a list of ops/s, one per round."""

    ops: dict[int, dict[str, dict[str, list[float]]]] = field(default_factory=dict)
    unavailable: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, workers: int, workload: str, library: str, ops_per_second: float) -> None:
        """Record one round's ops/s."""
        by_workload = self.ops.setdefault(workers, {}).setdefault(workload, {})
        by_workload.setdefault(library, []).append(ops_per_second)

    def median(self, workers: int, workload: str, library: str) -> float | None:
        """The median ops/s over the rounds, or ``None`` when the burst never ran."""
        rounds = self.ops.get(workers, {}).get(workload, {}).get(library)
        return statistics.median(rounds) if rounds else None


def _format_ops(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def markdown_table(
    results: Results, adapters: Sequence[Adapter], workloads: Sequence[str], workers: int
) -> str:
    """One table: a row per workload, a column per library, ``ops/s (ratio x)`` in each cell.

    The ratio is raw asyncpg's ops/s over the library's (time per operation relative to raw
    asyncpg; lower is better). The goal column is the issue's target for matrx-orm; a matrx-orm
    cell that meets it is marked ✓, one that misses it ✗.

    Returns:
        The Markdown table.
    """
    header = ["workload", *(a.label for a in adapters), "matrx-orm goal"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for workload in workloads:
        base = results.median(workers, workload, BASELINE)
        cells = [workload]
        for adapter in adapters:
            reason = results.unavailable.get(adapter.key, {}).get(workload)
            value = results.median(workers, workload, adapter.key)
            if reason is not None or value is None:
                cells.append("n/a")
                continue
            text = _format_ops(value)
            if base:
                ratio = base / value
                text += f" ({ratio:.2f}{TIMES})"
                if adapter.key == "matrx":
                    text += " ✓" if ratio <= GOALS[workload] else " ✗"
            cells.append(text)
        cells.append(f"≤ {GOALS[workload]:.2f}{TIMES}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def performance_page(
    *,
    results: Results,
    adapters: Sequence[Adapter],
    workloads: Sequence[str],
    sizes: Sizes,
    rounds: int,
    scale: float,
    server_version: str,
    server_source: str,
    date: str,
    elapsed: float,
    missing: Mapping[str, str],
    load: tuple[float, float],
) -> str:
    """The whole docs/performance.md page.

    Returns:
        Markdown text.
    """
    versions: dict[str, str] = {}
    for adapter in adapters:
        versions.update(adapter.versions())
    version_lines = "\n".join(f"- {name} {value}" for name, value in sorted(versions.items()))
    units = "\n".join(f"| {w} | {sizes.ops(w):,} | {UNITS[w]} |" for w in workloads)
    notes: list[str] = []
    for adapter in adapters:
        for workload, reason in results.unavailable.get(adapter.key, {}).items():
            notes.append(f"- {adapter.label}, {workload}: n/a — {reason}.")
    for key, reason in missing.items():
        notes.append(f"- {key}: not run — {reason}.")
    notes_text = "\n".join(notes) if notes else "- Every library ran every workload."
    notes_text += (
        "\n- The matrx-orm columns run matrx-orm-core alone: the state cache (matrx-orm-cache,"
        "\n  installed by `import matrx_orm`) is not loaded, so no read is served from it; the"
        "\n  section at the end measures the cache."
    )
    server_text = (
        "embedded server started by the suite, Unix socket"
        if server_source == "embedded"
        else "the server named by MATRX_TEST_DB_*"
    )
    return f"""# Performance

This page is written by the benchmark suite (`nox -s bench`, or `python -m bench --output
docs/performance.md` from the repository root). Do not edit the tables by hand: run the suite.

## Protocol

Every library runs in **one process, on one server, on one event loop**, against its own table
with the same schema (`uuid` primary key, `name varchar(100)` with an index, `qty integer`,
`price numeric(10,2)`, `created_at timestamptz`, `tags jsonb`) and the same
{sizes.seed:,} seeded rows. Each library uses a pool of 4 connections and otherwise its default
settings. The baseline is **raw asyncpg with a pool of 4 and its default settings (reset query on
release)**, whose "hydrated" rows are plain dicts; "asyncpg reset off" is the same pool without the
reset query, shown for reference. The scratch database has `synchronous_commit = off`, so single
inserts and updates measure the libraries rather than the disk's flush time.

One warm-up pass (a tenth of the sizes) runs every workload for every library and checks the
results, then {rounds} timed rounds. Within a round each workload's operations are split into 4
slices (a bulk workload stays one call): every library runs slice 1, then every library slice 2, and
so on, in an order that rotates from round to round and reverses on every other slice, so
libraries take turns in short bursts and drift of the machine hits all of them alike. A library's
time for the round is the sum of its slices; a garbage collection runs before each slice, outside
the timing. Rows added by the insert workloads are deleted and the tables vacuumed after each
workload, outside the timing. A cell is the **median ops/s over the rounds**, with the **ratio to
raw asyncpg** (raw asyncpg's ops/s divided by the library's: time per operation relative to raw
asyncpg, lower is better). "4 in flight" runs the same operations split across 4 concurrent
workers (`asyncio.gather`); for the bulk workloads that is 4 concurrent bulk calls of a quarter
of the rows each. `bulk_insert` is each library's bulk API as it is normally called (matrx-orm
returns the stored rows as instances); `bulk_insert_count` is each library's cheapest bulk API,
returning nothing from the database (matrx-orm: `bulk_create(rows, returning=False)`; the
peers' `bulk_insert` calls already return no stored values, except Piccolo's insert, which
returns the primary keys and has no cheaper form).

| workload | operations per burst | one operation is |
|---|---|---|
{units}

## One operation in flight

{markdown_table(results, adapters, workloads, 1)}

## Four operations in flight

{markdown_table(results, adapters, workloads, 4)}

## Notes

{notes_text}

## Machine

- date: {date}
- CPUs (nproc): {os.cpu_count()}
- CPU: {cpu_model()}
- PostgreSQL: {server_version} ({server_text})
- load average (1 min) at the start and the end: {load[0]:.2f}, {load[1]:.2f} (other work on
  the machine shows up here and widens the spread between rounds)
- Python: {platform.python_implementation()} {platform.python_version()}
- scale: {scale} ({rounds} rounds), whole run {elapsed:.0f} s

Library versions:

{version_lines}

## How to run

```bash
nox -s bench                                   # full run, writes this page
nox -s bench -- --scale 0.25 --rounds 2        # quicker, prints the tables only
python -m bench --libs raw,matrx --workloads get_by_pk,count
python -m bench --profile matrx:filter_large   # pyinstrument report of one burst
```

The suite uses the server named by `MATRX_TEST_DB_HOST` (with `MATRX_TEST_DB_PORT`, `_USER`,
`_PASSWORD`, `_NAME`) when it is set, otherwise it starts an embedded PostgreSQL server; either
way it creates a scratch database and drops it at the end. `--libs` takes any of `raw`,
`raw_noreset`, `matrx`, `sqlalchemy`, `tortoise`, `piccolo`; `--workloads` any of
{", ".join(f"`{w}`" for w in WORKLOADS)}.
"""
