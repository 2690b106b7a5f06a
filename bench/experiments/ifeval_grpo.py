"""Instruction-following GRPO on SmolLM2-135M for a fixed CPU budget; IFEval before/after, arithmetic kept.

    python -m bench experiment ifeval_grpo --tag TAG --minutes 30        # the benchmark (IFEval once)
    python -m bench experiment ifeval_grpo --tag val_lr1e-5 --minutes 30 --validation-only \\
        trainer.learning_rate=1e-5
                                                                                 # choose settings: no IFEval
    python -m bench experiment ifeval_grpo --tag val_lr1e-5 --minutes 30 trainer.learning_rate=1e-5
                         # the chosen configuration, IFEval once: the same tag and overrides reuse its training and
                         # validation scores (run_step(reuse=True)); an interrupted benchmark resumes the same way
    python -m bench experiment ifeval_grpo --tag val_lr1e-5_60 --minutes 30 --validation-only \
        --continue-from bench/runs/ifeval_grpo/val_lr1e-5 trainer.learning_rate=1e-5
                         # 30 more minutes on top of that run's last checkpoint (a 60-minute budget)
    python -m bench experiment ifeval_grpo --minutes 1 --model tiny_random --ifeval-limit 8 --val-size 4 \\
        --arith-size 4 --eval-tokens 8 --out /tmp/ifeval_smoke --work-dir /tmp/ifeval_smoke/runs \\
        sampling.max_new_tokens=8

Trains ``--config-name`` (default ``grpo_smollm2_ifeval``: rule reward on generated constraint prompts) for
``--minutes`` of wall clock, then scores the base and the trained model, greedy, on: the generated validation split
(disjoint topics; settings are chosen here), IFEval's 541 prompts (prompt/instruction-level accuracy, strict and
loose, standard errors, per instruction type; skipped with ``--validation-only``) and the 200 held-out arithmetic
problems (capability kept). Writes bench/results/ifeval_grpo/<tag>/result.{json,md} and a per-type before/after
ifeval_grpo.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.experiments.budget import add_budget_args, mean, reused_eval, train_for_budget, trained_steps
from bench.report import machine_info, pct, recorded_settings, resolve_outputs, run_step, write_results

LEVELS = ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose")


def eval_sets(args: argparse.Namespace) -> dict[str, list[str]]:
    """rlpost-eval overrides per evaluation set."""
    tokens = f"eval.sampling.max_new_tokens={args.eval_tokens}"
    sets = {"validation": ["data=if_constraints", "eval=instruction_following", tokens,
                           f"data.eval_source.size={args.val_size}"],
            "arith": ["data=arith", f"data.eval_source.size={args.arith_size}"]}
    if not args.validation_only:
        ifeval = ["data=ifeval", "eval=instruction_following", tokens]
        sets["ifeval"] = ifeval + ([f"data.limit={args.ifeval_limit}"] if args.ifeval_limit else [])
    return sets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_budget_args(parser, minutes=30.0, config_name="grpo_smollm2_ifeval")
    parser.add_argument("--validation-only", action="store_true",
                        help="score the generated validation split and arithmetic only (for choosing settings)")
    parser.add_argument("--ifeval-limit", type=int, default=None, help="first N IFEval prompts (smoke runs only)")
    parser.add_argument("--val-size", type=int, default=100)
    parser.add_argument("--arith-size", type=int, default=200)
    parser.add_argument("--eval-tokens", type=int, default=256, help="max new tokens per evaluation response")
    parser.add_argument("--rescore", action="store_true",
                        help="recompute the hacking signals, training pass rates per type and the table of a finished "
                             "run from its saved responses and training log")
    args = resolve_outputs(parser.parse_args(argv), "ifeval_grpo")
    out = args.work_dir
    if args.rescore:
        results = json.loads((args.out / "result.json").read_text())
        before_from = results["settings"].get("before_from")
        results["hacking_signals"] = hacking_signals(out, Path(before_from) if before_from else None)
        results["train"]["type_rates_first_last"] = type_rates(trained_steps(out))
        main_set = "validation" if results["settings"]["validation_only"] else "ifeval"
        write_results(args.out, results, table(results, main_set))
        return
    model = [f"model={args.model}"]
    train = train_for_budget(args)
    trained = [*model, f"model.path={out / 'train' / 'final'}"]
    settings = recorded_settings(args, "before_from", "continue_from")
    settings["before_from"] = str(args.before_from) if args.before_from else None
    results: dict[str, Any] = {"settings": {**settings, **machine_info()}}
    for name, overrides in eval_sets(args).items():
        if args.before_from is not None:  # only if it ran with exactly these overrides
            before = reused_eval(args.before_from / f"eval_before_{name}", [*model, *overrides])["metrics"]
        else:
            before = run_step("rlpost.evaluate", [*model, *overrides], out / f"eval_before_{name}",
                              reuse=True)["metrics"]
        after = run_step("rlpost.evaluate", [*trained, *overrides], out / f"eval_after_{name}", reuse=True)["metrics"]
        results[name] = {"before": before, "after": after}
    steps = trained_steps(out)
    results["train"] = {"steps": len(steps), "minutes_total": train["minutes_total"],
                        "continued_from": str(args.continue_from) if args.continue_from else None,
                        "wall_s": train["wall_s"], "peak_rss_mb": train["peak_rss_mb"],
                        "s_per_step": mean([h["step_time"] for h in steps]),
                        "reward_first10": mean([h["reward"] for h in steps[:10]]),
                        "reward_last10": mean([h["reward"] for h in steps[-10:]]),
                        "length_first10": mean([h["completions/mean_length"] for h in steps[:10]]),
                        "length_last10": mean([h["completions/mean_length"] for h in steps[-10:]]),
                        "type_rates_first_last": type_rates(steps)}
    results["hacking_signals"] = hacking_signals(out, args.before_from)
    main_set = "validation" if args.validation_only else "ifeval"
    png = args.out / "ifeval_grpo.png"
    write_plot(results[main_set], png, main_set)
    results["plot"] = png.name
    write_results(args.out, results, table(results, main_set))


def type_rates(steps: list[dict[str, Any]], window: int = 20) -> dict[str, tuple[float | None, float | None]]:
    """Training pass rate per instruction type over the first and last ``window`` steps that drew it (the first and
    last half when it was drawn fewer than ``2 * window`` times)."""
    keys = sorted({k for h in steps for k in h if k.startswith("if_rate/")})
    out = {}
    for key in keys:
        values = [h[key] for h in steps if key in h]
        n = max(1, min(window, len(values) // 2))
        out[key.split("/", 1)[1]] = (mean(values[:n]), mean(values[-n:]))
    return out


def hacking_signals(out: Path, before_dir: Path | None = None) -> dict[str, Any]:
    """Reward-hacking indicators on the evaluated responses: empty, very short, prompt echoed verbatim, off topic.

    ``off_topic`` is the share of responses whose MiniLM cosine with their prompt is at or below the relevance
    gate's default floor (:class:`rlpost.rewards.relevance.EmbeddingRelevance`, 0.2): replies such as "What's that?"
    or a line of asterisks, and blank ones; ``mean_cosine`` is the average cosine. The base model's responses are
    read from ``before_dir`` (``--before-from``) when given. ``<set>_changes`` pairs the two models' replies per
    prompt (:func:`prompt_changes`): whether the gain came from short replies.
    """
    from rlpost.rewards.relevance import EmbeddingRelevance

    relevance = EmbeddingRelevance()
    signals: dict[str, Any] = {}
    for name in ("ifeval", "validation"):
        recs: dict[str, list[dict[str, Any]]] = {}
        for tag in ("before", "after"):
            path = (before_dir if tag == "before" and before_dir else out) / f"eval_{tag}_{name}" / "samples.jsonl"
            if not path.is_file():
                continue
            recs[tag] = [json.loads(line) for line in path.read_text().splitlines()]
            n = max(1, len(recs[tag]))
            cos = (relevance.cosines([r["question"] for r in recs[tag]], [r["response"] for r in recs[tag]])
                   if recs[tag] else [])
            signals[f"{name}_{tag}"] = {
                "empty": sum(not r["response"].strip() for r in recs[tag]) / n,
                "under_10_words": sum(_short(r) for r in recs[tag]) / n,
                "echoes_prompt": sum(r["question"].strip() in r["response"] for r in recs[tag]) / n,
                "off_topic": sum(c <= relevance.floor or not r["response"].strip()
                                 for c, r in zip(cos, recs[tag], strict=True)) / n,
                "mean_cosine": sum(cos) / n,
                "mean_words": sum(len(r["response"].split()) for r in recs[tag]) / n,
            }
        if len(recs) == 2:
            signals[f"{name}_changes"] = prompt_changes(recs["before"], recs["after"])
    return signals


def _short(rec: dict[str, Any], words: int = 10) -> bool:
    return len(rec["response"].split()) < words


def prompt_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> dict[str, Any]:
    """Prompts that went from failing to passing (strict, prompt level) and back, paired by ``prompt_id``, and how
    many of them were passed with a reply under 10 words: a gain made of such replies is the checker's, not the task's.
    ``short_gains`` lists those (prompt id, instruction ids, the prompt's first 100 characters, the reply) so that a
    reader can judge which ignore the task.

    Example:
        >>> b = [{"prompt_id": "1", "prompt_strict": False, "response": "a long enough reply " * 3},
        ...      {"prompt_id": "2", "prompt_strict": True, "response": "ok"}]
        >>> a = [{"prompt_id": "1", "prompt_strict": True, "response": "ok", "question": "Write a poem. No commas.",
        ...       "instruction_id_list": ["punctuation:no_comma"]},
        ...      {"prompt_id": "2", "prompt_strict": True, "response": "ok"}]
        >>> changes = prompt_changes(b, a)
        >>> {k: v for k, v in changes.items() if k != "short_gains"}
        {'gained': 1, 'lost': 0, 'gained_short': 1, 'passing_short_before': 1, 'passing_short_after': 2}
        >>> changes["short_gains"][0]["instructions"], changes["short_gains"][0]["reply"]
        (['punctuation:no_comma'], 'ok')
    """
    was = {r["prompt_id"]: r for r in before}
    pairs = [(was[r["prompt_id"]], r) for r in after if r["prompt_id"] in was]
    gained = [a for b, a in pairs if a["prompt_strict"] and not b["prompt_strict"]]
    short = [a for a in gained if _short(a)]
    return {"gained": len(gained), "lost": sum(b["prompt_strict"] and not a["prompt_strict"] for b, a in pairs),
            "gained_short": len(short),
            "passing_short_before": sum(b["prompt_strict"] and _short(b) for b, _ in pairs),
            "passing_short_after": sum(a["prompt_strict"] and _short(a) for _, a in pairs),
            "short_gains": [{"prompt_id": a["prompt_id"], "instructions": a.get("instruction_id_list", []),
                             "prompt": a.get("question", "")[:100], "reply": a["response"][:100]} for a in short]}


def write_plot(result: dict[str, Any], path: Path, title: str) -> None:
    """Per-type strict pass rate before vs after (horizontal bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    before, after = result["before"], result["after"]
    types = sorted(k.split("/", 1)[1] for k in before if k.startswith("strict/"))
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(types) + 1.5))
    y = range(len(types))
    ax.barh([i + 0.2 for i in y], [100 * before[f"strict/{t}"] for t in types], 0.4, label="before")
    ax.barh([i - 0.2 for i in y], [100 * after.get(f"strict/{t}", 0.0) for t in types], 0.4, label="after")
    ax.set_yticks(list(y), [f"{t} (n={before[f'n/{t}']:.0f})" for t in types], fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("strict pass rate (%)")
    ax.set_title(f"{title}: prompt strict {pct(before['prompt_strict'])} -> {pct(after['prompt_strict'])}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _se(m: dict[str, Any], key: str) -> str:
    return f"{pct(m[key])} ± {100 * m[key + '_se']:.1f}"


def table(r: dict[str, Any], main_set: str) -> str:
    """Markdown summary: the four accuracies, arithmetic, per-type moves, training and hacking signals."""
    rows = ["| set | metric | before | after | change (points) |", "|---|---|---|---|---|"]
    for name in ("ifeval", "validation"):
        if name in r:
            b, a = r[name]["before"], r[name]["after"]
            rows += [f"| {name} | {lvl} | {_se(b, lvl)} | {_se(a, lvl)} | {100 * (a[lvl] - b[lvl]):+.1f} |"
                     for lvl in LEVELS]
    b, a = r["arith"]["before"], r["arith"]["after"]
    rows.append(f"| arithmetic | accuracy | {pct(b['accuracy'])} | {pct(a['accuracy'])} | "
                f"{100 * (a['accuracy'] - b['accuracy']):+.1f} |")
    b, a = r[main_set]["before"], r[main_set]["after"]
    moves = sorted(((a.get(k, 0.0) - b[k], k.split("/", 1)[1]) for k in b if k.startswith("strict/")), reverse=True)
    rows += ["", f"Per instruction type on {main_set} (strict, before -> after, n):", "",
             "| type | before | after | n |", "|---|---|---|---|"]
    rows += [f"| {t} | {pct(b['strict/' + t])} | {pct(a.get('strict/' + t))} | {b['n/' + t]:.0f} |" for _, t in moves]
    t = r["train"]
    s = r["settings"]
    budget = f"{t.get('minutes_total', s['minutes'])} min budget" + (
        f" (the last {s['minutes']} min resumed from {t['continued_from']})" if t.get("continued_from") else "")
    rows += ["", f"Training: {t['steps']} steps in a {budget} "
             f"({t['s_per_step'] or 0:.1f} s/step), mean reward first 10 steps {pct(t['reward_first10'])} -> last 10 "
             f"{pct(t['reward_last10'])}, completion length {t['length_first10'] or 0:.0f} -> "
             f"{t['length_last10'] or 0:.0f} tokens, peak RSS {t['peak_rss_mb']:.0f} MB. Model {s['model']}, "
             f"config {s['config_name']}, overrides {s['overrides']}, {s['date']}.",
             "", f"Reward-hacking signals (share of responses): {json.dumps(_without_lists(r['hacking_signals']))}",
             *changes_lines(r["hacking_signals"]),
             "", f"Plot: {r['plot']}"]
    return "\n".join(rows) + "\n"


def changes_lines(signals: dict[str, Any]) -> list[str]:
    """One sentence per set on the prompts gained and lost (:func:`prompt_changes`)."""
    out = []
    for name in ("ifeval", "validation"):
        c = signals.get(f"{name}_changes")
        if c:
            out += ["", f"{name}: {c['gained']} prompts went from failing to passing (strict), {c['lost']} the other "
                        f"way; {c['gained_short']} of the {c['gained']} gained with a reply under 10 words; passing "
                        f"replies under 10 words {c['passing_short_before']} -> {c['passing_short_after']}."]
            if c.get("short_gains"):
                out += ["", f"{name}: the gains made with a reply under 10 words (does the reply do the task?):", "",
                        "| prompt | instructions | prompt (first 100 characters) | reply (first 100 characters) |",
                        "|---|---|---|---|"]
                out += [f"| {g['prompt_id']} | {', '.join(g['instructions'])} | {_cell(g['prompt'])} | "
                        f"{_cell(g['reply'])} |" for g in c["short_gains"]]
    return out


def _without_lists(signals: dict[str, Any]) -> dict[str, Any]:
    """The hacking signals without the listed replies (those get their own table)."""
    return {k: {f: v for f, v in d.items() if f != "short_gains"} for k, d in signals.items()}


def _cell(text: str) -> str:
    """Text for a markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    main()
