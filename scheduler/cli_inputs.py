"""The shared input rules (scheduler/inputs.py) for every option of every `ipt-scheduler` command.

cli.py's `edge` decorator, which every command wears, asks `option_problem` first, so a NUL in
`--name` or an id past the database's integers is refused before any command touches the
database, with the option named ("name: must not contain control characters").
"""

from __future__ import annotations

from typing import Any

import click

from .inputs import int_problem, text_problem


def option_problem(command: click.Command, values: dict[str, Any]) -> str | None:
    """The first option of `values` that breaks the rules, as "option: problem", or None."""
    params = {p.name: p for p in command.params}
    for name, value in values.items():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, str):
                problem = text_problem(item)
            elif isinstance(item, int) and not isinstance(item, bool):
                problem = int_problem(item)
            else:
                problem = None
            if problem:
                param = params.get(name)
                label = param.opts[0].lstrip("-") if param is not None and param.opts else name
                return f"{label}: {problem}"
    return None
