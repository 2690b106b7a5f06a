"""The README's configuration table, generated from ``conf/``: ``python -m rlpost.config.table`` prints it,
``--write README.md`` replaces the table between its markers (tests/config/test_readme_table.py keeps them equal).

Groups and options are read from the folders and files of ``conf/``, the defaults from each primary config's
defaults list; only the one-line description of each group is written here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from rlpost.config.schema import config_dirs
from rlpost.errors import ConfigError

BEGIN, END = "<!-- config-table: python -m rlpost.config.table --write README.md -->", "<!-- /config-table -->"
# what each group sets; a group folder without a line here fails the README test
GROUPS = {
    "model": "weights, dtype (`model.path=` for any HF directory, hub id or adapter)",
    "data": "canonical rows (`prompt_id`, `question`, `answer`), chat template, answer format; files under "
            "`paths.data_root`",
    "algo": "rlpost-owned method knobs, typed (wrong keys/types fail at startup): GRPO `num_generations`, `kl_coef`, "
            "`loss_type`, `dynamic_sampling`, ... (docs/performance.md); DivPO `n`, `rho`, `rounds`",
    "algo/diversity": "DivPO's diversity criterion (`docs/divpo.md`)",
    "sampling": "training sampling (`temperature`, `top_p`, `top_k`, `max_new_tokens`) for GRPO rollouts, DivPO "
                "pools and base-model labels, the same for every engine",
    "rollout": "the generation engine and its knobs only (HF, rlpost's decode loop with `rollout.engine=rlpost`, "
               "vLLM colocate or server; `docs/vllm.md`); never sampling",
    "reward": "reward functions and weights (`reward.weights.format=0.2`)",
    "trainer": "pass-through kwargs for `trl.*Config`; interpolates `algo`/`rollout`, never repeats them",
    "peft": "LoRA via peft",
    "eval": "the task (`eval.kind`) of the evaluation before/after training and of `rlpost-eval`: `eval.k` for "
            "pass@k/maj@k, its own `eval.sampling`; yes/no AUC; DivPO diversity; IFEval accuracies; ICL probes",
    "logger": "`logger.mode=online` for real tracking",
    "launch": "DeepSpeed dict for TrainingArguments (recorded in the run config)",
    "guards": "protections for label-free training (early stopping, collapse detector, offline labels, curriculum)",
    "debug": "values-only presets for seconds-long test runs (`+debug=cpu_smoke`)",
    "paths": "`paths.data_root`: the data folder (`RLPOST_DATA`, else the folder beside the repository)",
    "hydra": "run directory (`RLPOST_RUN_DIR`), per-rank config copy and log file",
}

def groups(conf: Path) -> list[str]:
    """Every config group, in the order of :data:`GROUPS`: a folder of ``conf/`` holding option files (nested ones
    as ``algo/diversity``; Hydra's own ``hydra/job_logging`` aside).

    Raises:
        ConfigError: a group without a description, or a description without a group.
    """
    found = {p.parent.relative_to(conf).as_posix() for p in conf.rglob("*.yaml") if p.parent != conf}
    found.discard("hydra/job_logging")
    if found != set(GROUPS):
        raise ConfigError(f"rlpost.config.table.GROUPS describes {sorted(set(GROUPS) - found)} (no such folder in "
                          f"conf/) and misses {sorted(found - set(GROUPS))}: describe each group of conf/ once")
    return list(GROUPS)


def defaults(conf: Path) -> dict[str, dict[str, str]]:
    """``{group: {primary config: default option}}`` from each primary config's defaults list."""
    out: dict[str, dict[str, str]] = {}
    for primary in sorted(conf.glob("*.yaml")):
        for entry in yaml.safe_load(primary.read_text()).get("defaults", []):
            if isinstance(entry, dict):
                (group, option), = entry.items()
                if option is not None:  # ``group: null``: no default, the group may be chosen on the command line
                    out.setdefault(group, {})[primary.stem] = option
    return out


def table(conf: Path | None = None) -> str:
    """The markdown table: group, options, defaults per primary config, what the group sets."""
    conf = conf or config_dirs()[0]
    chosen = defaults(conf)
    lines = ["| group | options | default (primary config) | what it sets |", "|---|---|---|---|"]
    for group in groups(conf):
        options = sorted(p.stem for p in (conf / group).glob("*.yaml"))
        by_option: dict[str, list[str]] = {}
        for primary, option in chosen.get(group, {}).items():
            by_option.setdefault(option, []).append(primary)
        default = "; ".join(f"`{o}` ({', '.join(p)})" for o, p in sorted(by_option.items())) or "none"
        lines.append(f"| `{group}` | {', '.join(f'`{o}`' for o in options)} | {default} | {GROUPS[group]} |")
    return "\n".join(lines) + "\n"


def with_table(text: str, generated: str) -> str:
    """``text`` with the part between :data:`BEGIN` and :data:`END` replaced by ``generated``."""
    if BEGIN not in text or END not in text:
        raise ConfigError(f"README has no configuration table markers ({BEGIN} ... {END})")
    head, rest = text.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{generated}{END}{rest.split(END, 1)[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="replace the table in this file (README.md)")
    args = parser.parse_args()
    if args.write is None:
        sys.stdout.write(table())
        return
    args.write.write_text(with_table(args.write.read_text(), table()))


if __name__ == "__main__":
    main()
