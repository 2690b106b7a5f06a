"""The prompt stream of dynamic sampling: TRL ``RepeatSampler``'s order read through a restorable cursor.

Used by :mod:`rlpost.methods.grpo.dynamic_sampling`, which draws every generation round's prompts from it and saves the
cursor with each checkpoint, so a resumed run draws the same prompts as an uninterrupted one.
"""

from __future__ import annotations

from rlpost.errors import ConfigError


class PromptStream:
    """Dataset indices in TRL ``RepeatSampler`` order (a ``torch.Generator`` seeded once, one ``randperm`` per
    epoch), read through a cursor so that any position can be restored exactly.

    Example:
        >>> s = PromptStream(5, seed=0, shuffle=False)
        >>> s.take(3), s.take(3), s.cursor
        ([0, 1, 2], [3, 4, 0], 6)
        >>> t = PromptStream(5, seed=0, shuffle=True); a = t.take(7)
        >>> u = PromptStream(5, seed=0, shuffle=True); u.cursor = 4; u.take(3) == a[4:]
        True
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True) -> None:
        if size < 1:
            raise ConfigError("algo.dynamic_sampling needs a non-empty training set")
        self.size, self.seed, self.shuffle = size, seed, shuffle
        self.cursor = 0
        self._epoch, self._perm, self._generator = -1, list(range(size)), None

    def _order(self, epoch: int) -> list[int]:
        import torch

        if not self.shuffle:
            return self._perm
        if self._generator is None or epoch < self._epoch:
            self._generator, self._epoch = torch.Generator().manual_seed(self.seed), -1
        while self._epoch < epoch:
            self._perm = torch.randperm(self.size, generator=self._generator).tolist()
            self._epoch += 1
        return self._perm

    def take(self, count: int) -> list[int]:
        """The next ``count`` indices (crossing into the next epoch's permutation as needed)."""
        out = []
        for _ in range(count):
            epoch, pos = divmod(self.cursor, self.size)
            out.append(self._order(epoch)[pos])
            self.cursor += 1
        return out
