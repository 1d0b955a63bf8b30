"""docs/service.md documents every setting the service has."""

from __future__ import annotations

from grader.service.settings import ServiceSettings
from tests.service.conftest import REPO


def test_every_setting_is_in_the_settings_table():
    text = (REPO / "docs" / "service.md").read_text()
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `GRADER_")}
    assert documented == {f"GRADER_{name.upper()}" for name in ServiceSettings.model_fields}
