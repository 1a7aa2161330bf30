"""The local stack's settings (infra/local/local.env), as the scripts read them: the environment first
(common.sh exports local.env, and DYNAMODB_PORT=8100 make test overrides it), else the file itself."""

from __future__ import annotations

import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "local.env")


def _file() -> dict[str, str]:
    with open(PATH, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#") and "=" in line)
    return dict(pairs)


def keys() -> list[str]:
    """Every setting local.env names, in its order."""
    return list(_file())


def setting(name: str) -> str:
    value = os.environ.get(name) or _file().get(name)
    if not value:
        raise SystemExit(f"{name}: not in the environment nor in {PATH}")
    return value
