"""Test tiers: every test lives in tests/unit, tests/integration or tests/e2e and carries
that tier's marker (added here from its folder), so ``-m unit`` etc. select a tier."""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        try:
            tier = Path(str(item.fspath)).relative_to(root).parts[0]
        except ValueError:
            continue
        if tier in TIERS and not any(item.iter_markers(name=t) for t in TIERS):
            item.add_marker(getattr(pytest.mark, tier))
