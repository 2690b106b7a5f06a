"""Every resolved config value is the one recorded before the config layout changed (tests/config/snapshot.py),
except the keys listed here as deliberately renamed or moved, and the values listed as deliberately changed."""

from __future__ import annotations

import json

import pytest

from tests.config.snapshot import NAMES, SNAPSHOT, VARIANTS, flatten, resolved

# old key -> new key (a key ending in "." renames every key below it)
RENAMED: dict[str, str] = {}
# keys that exist only in the new layout (their values are checked by tests/config/test_sampling.py)
ADDED: set[str] = set()
# "<config> <key>": new value, for values changed on purpose (old value in the snapshot)
CHANGED: dict[str, object] = {}


def _rename(key: str) -> str:
    for old, new in RENAMED.items():
        if key == old or (old.endswith(".") and key.startswith(old)):
            return new + key[len(old):] if old.endswith(".") else new
    return key


CASES = [*NAMES, *(f"{n} {o}" for n, o in VARIANTS)]


@pytest.mark.parametrize("case", CASES)
def test_every_value_unchanged(case: str) -> None:
    before = json.loads(SNAPSHOT.read_text())[case]
    name, _, override = case.partition(" ")
    after = flatten(resolved(name, [override] if override else []))
    expected = {_rename(k): v for k, v in before.items()}
    expected.update({k.split(" ", 2)[-1]: v for k, v in CHANGED.items() if k.rsplit(" ", 1)[0] == case})
    extra = {k: v for k, v in after.items() if k not in expected and k.split(".")[0] not in ADDED and k not in ADDED}
    assert {k: after.get(k, "<missing>") for k in expected if after.get(k, "<missing>") != expected[k]} == {}
    assert extra == {}
