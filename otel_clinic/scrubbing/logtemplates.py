"""Log records keep their template: the format string is code, its arguments are data.

``logger.info("patient %s record opened by user %s", pid, uid)`` is exported with the body
``patient [NUM] record opened by user [NUM]`` and the arguments, scrubbed, in ``clinic.log.args``. Bodies
repeat (the scrub memo hits), no argument can leak through the message, and the template stays readable.
Pre-formatted messages (f-strings) have no arguments: they go through the free-text filter as they are.

An argument our own code already made safe (a Django route template in place of the raw path, a warning
text we scrubbed) is wrapped in :class:`SafeArg` and written into the body as it is.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

ARGS_ATTRIBUTE = "clinic.log.args"
TEMPLATE_ATTRIBUTE = "clinic.log.template"
_MAX_ARG_CHARS = 1024
_MAX_ARGS = 32

_SPEC = re.compile(r"%(?:\((?P<key>[^)]{0,100})\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")


class SafeArg(str):
    """A log argument that is safe to write into the message as it is (made safe by our own code)."""

    __slots__ = ()


def placeholder(arg: Any) -> str:
    """The typed placeholder written into the body in place of an argument."""
    if isinstance(arg, SafeArg):
        return arg
    if arg is None or isinstance(arg, bool):
        return str(arg)
    if isinstance(arg, (int, float)):
        return "[NUM]"
    if isinstance(arg, (str, bytes)):
        return "[TEXT]"
    if isinstance(arg, BaseException):
        return "[ERROR]"
    return "[VALUE]"


@functools.lru_cache(maxsize=2048)
def _split(template: str) -> tuple[tuple[str, ...], tuple[tuple[str | None, str], ...]]:
    """``"a %s b %(x)d"`` -> literal parts and (key, conversion) per directive; cached per template."""
    literals: list[str] = []
    specs: list[tuple[str | None, str]] = []
    last = 0
    for m in _SPEC.finditer(template):
        if m.group("conv") == "%":
            continue
        literals.append(template[last : m.start()].replace("%%", "%"))
        specs.append((m.group("key"), m.group("conv")))
        last = m.end()
    literals.append(template[last:].replace("%%", "%"))
    return tuple(literals), tuple(specs)


def render(template: Any, args: Any, token: Callable[[Any], str] = placeholder) -> str:
    """The message with every argument replaced by ``token(arg)``; never formats a raw argument."""
    if not isinstance(template, str):
        template = _text(template)
    if not args:
        return template
    if token is placeholder and isinstance(args, tuple):
        kinds = tuple(type(a) for a in args)
        if SafeArg not in kinds and bool not in kinds and type(None) not in kinds:
            return _render_typed(template, kinds)  # the same template with the same argument types: one string
    return _render(template, args, token)


def _render(template: str, args: Any, token: Callable[[Any], str]) -> str:
    literals, specs = _split(template)
    if isinstance(args, Mapping):
        values = [token(args[key]) if key in args else "[ARG]" for key, _ in specs] if all(k for k, _ in specs) else None
    elif isinstance(args, tuple) and len(args) == len(specs):
        values = [token(a) for a in args]
    else:
        values = None
    if values is None:  # the call's own format would fail: keep the template, say arguments were dropped
        return f"{template} [ARGS]" if specs or args else template
    out = [literals[0]]
    for value, literal in zip(values, literals[1:]):
        out.append(value)
        out.append(literal)
    return "".join(out)


def argument_contexts(template: str) -> tuple[str, ...]:
    """The template text before each argument ("notes=" for "updated notes=%s"), for context detectors."""
    literals, _ = _split(template)
    return literals[:-1]


@functools.lru_cache(maxsize=2048)
def _render_typed(template: str, kinds: tuple[type, ...]) -> str:
    return _render(template, tuple(_TypedArg(k) for k in kinds), lambda a: a.placeholder)


class _TypedArg:
    """Stands for an argument of one type when rendering by types (the placeholder depends only on the type)."""

    def __init__(self, kind: type) -> None:
        sample = next((v for t, v in _SAMPLES if issubclass(kind, t)), _OBJECT)
        self.placeholder = placeholder(sample)


_OBJECT = object()
# One sample value per placeholder type (bool and None never get here: they are written as they are).
_SAMPLES: tuple[tuple[type, Any], ...] = ((int, 0), (float, 0.0), (str, ""), (bytes, b""), (BaseException, Exception()))


def record_message(record: logging.LogRecord, token: Callable[[Any], str] = placeholder) -> str:
    return render(record.msg, record.args, token)


def record_args(record: logging.LogRecord) -> list[str] | None:
    """The arguments as text (bounded), for ``clinic.log.args``; scrubbed later like any attribute."""
    args = record.args
    if not args:
        return None
    values: Sequence[Any] = list(args.values()) if isinstance(args, Mapping) else args  # type: ignore[assignment]
    if not isinstance(values, (list, tuple)):
        values = (values,)
    return [_text(v)[:_MAX_ARG_CHARS] for v in values[:_MAX_ARGS]]


def _text(value: Any) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:
        return "[UNPRINTABLE]"
