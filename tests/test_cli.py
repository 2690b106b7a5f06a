"""rlpost.cli: a finished run shuts its process group down before the interpreter exits."""

from __future__ import annotations

from pathlib import Path


def test_successful_task_destroys_the_process_group(tmp_path: Path) -> None:
    """Without this a gloo rank could abort at interpreter exit after the run had finished and saved (SIGABRT,
    "terminate called without an active exception"), which failed two-process CI runs now and then."""
    import torch.distributed as dist

    from rlpost.cli import run_user_task

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert run_user_task(lambda: 7) == 7
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_without_a_process_group_it_just_returns() -> None:
    from rlpost.cli import run_user_task

    assert run_user_task(lambda: "done") == "done"


def test_shutdown_is_a_no_op_when_nothing_is_initialised() -> None:
    import torch.distributed as dist

    from rlpost.distributed import shutdown

    shutdown()
    assert not dist.is_initialized()
