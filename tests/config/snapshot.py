"""Every primary config and recipe fully resolved, as plain JSON values (the safety net of the config layout).

``python -m tests.config.snapshot`` rewrites ``tests/assets/config_snapshot.json``; do that only for a deliberate
change of a value, and say which one in the commit.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.conftest import ROOT, compose_recipe

SNAPSHOT = ROOT / "tests" / "assets" / "config_snapshot.json"
# fixed environment, so the file does not depend on the machine
ENV = {"RLPOST_DATA": "/DATA", "RLPOST_RUN_DIR": "/RUN", "RANK": "0"}
NAMES = sorted(p.stem for d in ("conf", "recipes") for p in (ROOT / d).glob("*.yaml"))
# group options whose values interpolate other groups: composed too, as "<name> <override>"
VARIANTS = [("grpo", "guards=offline_labels"), ("grpo", "guards=curriculum"), ("grpo", "rollout=vllm_colocate"),
            ("grpo", "rollout=vllm_server"), ("grpo", "eval=instruction_following"), ("grpo", "eval=none"),
            ("evaluate", "eval=instruction_following"), ("evaluate", "data=gsm8k"), ("divpo", "rollout=vllm"),
            ("sft", "data=tallrec_book"), ("grpo", "data=ifeval"), ("grpo", "data=if_constraints"),
            ("grpo", "data=math500"), ("divpo", "data=keyword_story"), ("divpo", "data=random_x")]


def resolved(name: str, overrides: list[str]) -> dict[str, Any]:
    """``name`` composed as the CLI does with ``overrides``, resolved, without the ``hydra`` node."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    old = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        cfg = compose_recipe(name, overrides)
        HydraConfig.instance().set_config(cfg)
        cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
        OmegaConf.set_struct(cfg, False)
        cfg.pop("hydra")
        cfg.run_dir = "/RUN"
        return OmegaConf.to_container(cfg, resolve=True)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a.b": leaf}`` for every leaf; lists stay whole (a list is one value)."""
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: node}


def snapshot() -> dict[str, dict[str, Any]]:
    out = {name: flatten(resolved(name, [])) for name in NAMES}
    out.update({f"{name} {o}": flatten(resolved(name, [o])) for name, o in VARIANTS})
    return out


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(snapshot(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")
