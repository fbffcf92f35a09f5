"""vae_lib.exercises: the check cells' messages in the edition's language and the "passed" line."""

from __future__ import annotations

import pytest

from vae_lib import exercises
from vae_lib.exercises import check, exercise_number, passed

CELL = """
from vae_lib.exercises import check, passed
mine, torch_kl = 11.88, 8.885
check(abs(mine - torch_kl) < 1e-3, TEXT["trace"], mine=mine, torch_kl=torch_kl)
passed("ex-ch04-5")
"""
TEXT = {
    "ko": {"trace": "kl_mvn: torch와 다릅니다(내 값 {mine:.4g}, torch {torch_kl:.4g}). 대각합 항 tr(S2⁻¹ S1)을 확인하세요."},
    "en": {"trace": "kl_mvn: differs from torch (yours {mine:.4g}, torch {torch_kl:.4g}); check the trace term tr(S2⁻¹ S1)."},
}


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_failing_check_speaks_the_editions_language_in_one_string(lang: str) -> None:
    """The same cell code in both twins; the message comes from TEXT and shows the numbers."""
    with pytest.raises(AssertionError) as caught:
        exec(CELL, {"LANG": lang, "TEXT": TEXT[lang]})
    message = str(caught.value)
    assert message == TEXT[lang]["trace"].format(mine=11.88, torch_kl=8.885)
    assert "11.88" in message and "8.885" in message and not message.startswith("(")
    assert caught.value.args == (message,), "one string, never a tuple"


@pytest.mark.parametrize(("lang", "line"), [("ko", "✓ 연습 4.5 통과"), ("en", "✓ Exercise 4.5 passed")])
def test_a_passing_check_says_so(lang: str, line: str, capsys) -> None:
    exec(CELL.replace("< 1e-3", "< 10"), {"LANG": lang, "TEXT": TEXT[lang]})
    assert capsys.readouterr().out == line + "\n"


def test_language_argument_and_defaults(capsys) -> None:
    assert passed("4.3", lang="ko") == "✓ 연습 4.3 통과"
    assert passed("ex-ch11-2") == "✓ Exercise 11.2 passed"  # no LANG anywhere: English
    capsys.readouterr()
    with pytest.raises(ValueError, match="lang must be one of"):
        passed("4.3", lang="fr")
    assert exercise_number("ex-ch04-3") == "4.3" and exercise_number("4.3") == "4.3"


def test_check_with_a_message_per_language_and_odd_fields() -> None:
    check(True, "never shown {x}")
    with pytest.raises(AssertionError, match="^둘$"):
        exec('check(False, {"ko": "둘", "en": "two"})', {"LANG": "ko", "check": check})
    with pytest.raises(AssertionError, match=r"^the sum \{total\} is off \(got = 3\)$"):
        check(False, "the sum {total} is off", got=3)  # a field without a value stays as written
    assert exercises.PASSED.keys() == {"ko", "en"}
