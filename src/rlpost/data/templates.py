"""Turn a dataset row into chat messages; the tokenizer's own chat template does the rest."""

from __future__ import annotations

from typing import Any

from rlpost.errors import ConfigError


class ChatTemplate:
    """Row -> ``[{"role": "system", ...}, {"role": "user", ...}]`` using ``str.format`` on the row's columns.

    Example:
        >>> ChatTemplate(system="Be brief.", user="Q: {question}")({"question": "2+2?"})
        [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Q: 2+2?'}]
    """

    def __init__(self, user: str = "{question}", system: str | None = None) -> None:
        self.user = user
        self.system = system

    def __call__(self, row: dict[str, Any]) -> list[dict[str, str]]:
        try:
            content = self.user.format(**row)
        except KeyError as err:
            raise ConfigError(
                f"data.template.user uses {{{err.args[0]}}} but the dataset has no such column"
            ) from None
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return messages + [{"role": "user", "content": content}]
