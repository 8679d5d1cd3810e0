"""Plain-text tables and number formats for the ops commands' human output."""

from __future__ import annotations

import math
from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  ") -> str:
    """Left-aligned first column, right-aligned numbers; '-' for missing values."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(values)]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    if not rows:
        out.append(indent + "(no data)")
    return "\n".join(out)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def pct(value: float | None, digits: int = 1) -> str | None:
    return None if value is None else f"{value * 100:.{digits}f}%"


def seconds(value: float | None) -> str | None:
    if value is None:
        return None
    return f"{value * 1000:.0f} ms" if value < 10 else f"{value:.1f} s"


def num(value: float | None, digits: int = 2) -> str | None:
    if value is None:
        return None
    return f"{value:.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.{digits}f}"


def count(value: float | None) -> str | None:
    """Counts from increase() are extrapolated floats; people read them as whole numbers."""
    return None if value is None else f"{value:.0f}"


def as_float(sample: object) -> float | None:
    """A Prometheus sample value ("1.5", "NaN", "+Inf") as a float; NaN/Inf mean "no data" here → None."""
    try:
        value = float(sample)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) or math.isinf(value) else value
