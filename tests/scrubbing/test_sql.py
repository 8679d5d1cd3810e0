from __future__ import annotations

import pytest

from otel_clinic.scrubbing import obfuscate_sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM patients WHERE ssn = '123-45-6789'", "SELECT * FROM patients WHERE ssn = ?"),
        ("SELECT * FROM p WHERE name = 'O''Brien' AND age > 42", "SELECT * FROM p WHERE name = ? AND age > ?"),
        ("SELECT E'it\\'s Jane' AS x", "SELECT ? AS x"),
        ("SELECT $$Jane's note$$, $tag$a $$ b$tag$ FROM t", "SELECT ?, ? FROM t"),
        ("SELECT * FROM t WHERE id = $1 AND mrn = %s AND x = %(dob)s AND y = ? AND z = :name AND w = ?2",
         "SELECT * FROM t WHERE id = $1 AND mrn = %s AND x = %(dob)s AND y = ? AND z = :name AND w = ?2"),
        ("SELECT \"patients\".\"id\" FROM \"patients\" LIMIT 21", "SELECT \"patients\".\"id\" FROM \"patients\" LIMIT ?"),
        ("SELECT a1, t2.col_3 FROM table9 t2", "SELECT a1, t2.col_3 FROM table9 t2"),
        ("SELECT 1.5e3, .5, 0x1F, -7", "SELECT ?, ?, ?, -?"),
        ("SELECT x FROM t -- patient Jane Roe\nWHERE y = 1", "SELECT x FROM t\nWHERE y = ?"),
        ("SELECT /* mrn A123 /* nested */ still */ x", "SELECT x"),
        ("SELECT x FROM t/*c*/WHERE y = 2", "SELECT x FROM t WHERE y = ?"),
        ("SELECT '2020-01-01'::date, x::text FROM t", "SELECT ?::date, x::text FROM t"),
        ("INSERT INTO p (a, b) VALUES ('Jane', X'0AFF')", "INSERT INTO p (a, b) VALUES (?, ?)"),
        ("SELECT * FROM t WHERE a IN (1, 2, 3)", "SELECT * FROM t WHERE a IN (?, ?, ?)"),
        ("SELECT 'unterminated secret", "SELECT ?"),
        ("SELECT \"weird\"\"ident\" FROM t", "SELECT \"weird\"\"ident\" FROM t"),
        ("SELECT @var, N'x', U&'d\\0061t' FROM t", "SELECT @var, ?, ? FROM t"),
    ],
)
def test_obfuscate(sql: str, expected: str) -> None:
    assert obfuscate_sql(sql) == expected


def test_non_str_and_empty() -> None:
    assert obfuscate_sql("") == ""
    assert obfuscate_sql(12345) == "?"  # type: ignore[arg-type]


def test_linear_on_large_statement() -> None:
    sql = "INSERT INTO t VALUES " + ", ".join(f"('{i}', {i})" for i in range(20000))
    out = obfuscate_sql(sql)
    assert out.count("?") == 40000
    assert "'" not in out
