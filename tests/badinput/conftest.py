"""Report the counts of bad-input outcomes at the end of a run (see harness.py)."""

from tests.badinput.harness import OUTCOMES


def pytest_terminal_summary(terminalreporter):
    if OUTCOMES:
        total = sum(OUTCOMES.values())
        parts = ", ".join(f"{OUTCOMES[k]} {k}" for k in ("clear", "unhelpful", "silent"))
        terminalreporter.write_line(f"bad-input cases: {total} ({parts})")
