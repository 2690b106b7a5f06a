"""The README's configuration table is the one generated from conf/ (python -m rlpost.config.table)."""

from __future__ import annotations

import shutil

import pytest

from rlpost.config.table import table, with_table
from rlpost.errors import ConfigError
from tests.conftest import ROOT


def test_readme_table_matches_conf() -> None:
    readme = (ROOT / "README.md").read_text()
    assert readme == with_table(readme, table(ROOT / "conf")), \
        "README.md's configuration table is stale: python -m rlpost.config.table --write README.md"


def test_a_new_group_or_option_changes_the_table(tmp_path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "rollout" / "sglang.yaml").write_text("defaults:\n  - hf\n  - _self_\n")
    assert "`sglang`" in table(conf)
    (conf / "judges").mkdir()
    (conf / "judges" / "small.yaml").write_text("a: 1\n")
    with pytest.raises(ConfigError, match=r"misses \['judges'\]"):
        table(conf)
