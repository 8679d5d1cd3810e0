"""SQL obfuscation: string and numeric literals become ``?``; structure, identifiers and placeholders stay.

A single forward scan (linear time) that understands PostgreSQL and SQLite lexical rules:
``'it''s'`` quotes, ``E'\\''`` escape strings, ``B''``/``X''``/``N''``/``U&''`` prefixes, ``$tag$ … $tag$``
dollar quoting, ``"quoted identifiers"``, ``--`` and nested ``/* */`` comments (dropped: they may carry
values, e.g. sqlcommenter tags or hand-written notes), and the driver placeholders ``%s``, ``%(name)s``,
``$1``, ``?``, ``?1``, ``:name``, ``@name``.
"""

from __future__ import annotations

import re

# Finds the start of the next token that needs attention; everything between tokens is copied as-is.
_TOKEN = re.compile(
    r"""
    (?P<line_comment>--)
  | (?P<block_comment>/\*)
  | (?P<string>(?:[EeBbXxNn]|[Uu]&)?')
  | (?P<ident>")
  | (?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
  | (?P<placeholder>\$\d+|%\([^)\s]{1,64}\)s|%s|\?\d*|(?<![:\w]):[A-Za-z_]\w*|@[A-Za-z_]\w*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<number>0[xX][0-9A-Fa-f]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    """,
    re.VERBOSE,
)


def obfuscate_sql(sql: str) -> str:
    """Replace literals in ``sql`` with ``?``. Never raises; non-str input is converted with ``str()``."""
    if not isinstance(sql, str):
        sql = str(sql)
    out: list[str] = []
    pos = 0
    n = len(sql)
    while pos < n:
        m = _TOKEN.search(sql, pos)
        if m is None:
            out.append(sql[pos:])
            break
        out.append(sql[pos : m.start()])
        kind = m.lastgroup
        start, end = m.span()
        if kind == "line_comment":
            nl = sql.find("\n", end)
            pos = n if nl < 0 else nl  # keep the newline itself
            _strip_trailing_space(out)
        elif kind == "block_comment":
            pos = _end_of_block_comment(sql, end)
            _strip_trailing_space(out)
            prev = next((piece for piece in reversed(out) if piece), "")
            if pos < n and prev and not prev[-1].isspace() and not sql[pos].isspace():
                out.append(" ")  # "t/*c*/WHERE" must not become "tWHERE"
        elif kind == "string":
            escapes = sql[start] in "Ee"
            pos = _end_of_quoted(sql, end, "'", backslash=escapes)
            out.append("?")
        elif kind == "ident":
            pos = _end_of_quoted(sql, end, '"', backslash=False)
            out.append(sql[start:pos])
        elif kind == "dollar":
            tag = m.group()
            close = sql.find(tag, end)
            pos = n if close < 0 else close + len(tag)
            out.append("?")
        elif kind == "number":
            out.append("?")
            pos = end
        else:  # word or placeholder: copied
            out.append(m.group())
            pos = end
    return "".join(out).strip()


def _strip_trailing_space(out: list[str]) -> None:
    while out and not out[-1]:
        out.pop()
    if out:
        out[-1] = out[-1].rstrip(" \t")


def _end_of_quoted(sql: str, pos: int, quote: str, *, backslash: bool) -> int:
    """Index just past the closing quote; a doubled quote is an escaped quote. Unterminated: end of text."""
    n = len(sql)
    while pos < n:
        c = sql[pos]
        if backslash and c == "\\":
            pos += 2
            continue
        if c == quote:
            if pos + 1 < n and sql[pos + 1] == quote:
                pos += 2
                continue
            return pos + 1
        # jump to the next interesting character in one C-level call
        nxt = sql.find(quote, pos)
        if backslash:
            bs = sql.find("\\", pos)
            if bs >= 0 and (nxt < 0 or bs < nxt):
                nxt = bs
        if nxt < 0:
            return n
        pos = nxt
    return n


def _end_of_block_comment(sql: str, pos: int) -> int:
    """PostgreSQL block comments nest; SQLite's don't, but nesting-aware scanning is safe for both."""
    depth = 1
    n = len(sql)
    while depth and pos < n:
        close = sql.find("*/", pos)
        if close < 0:
            return n
        opener = sql.find("/*", pos, close)
        if opener >= 0:
            depth += 1
            pos = opener + 2
        else:
            depth -= 1
            pos = close + 2
    return pos
