"""The recipe files of docs/redis.md compile (FastAPI and arq are not test dependencies)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RECIPES = Path(__file__).parents[2] / "docs" / "recipes"


@pytest.mark.parametrize("name", ["redis_fastapi_app.py", "redis_arq_worker.py"])
def test_recipe_compiles_and_uses_the_redis_limiter(name: str) -> None:
    source = (RECIPES / name).read_text(encoding="utf-8")
    tree = ast.parse(source, filename=name)
    compile(tree, name, "exec")
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "zim_async.redis"
        for alias in node.names
    }
    assert imported == {"RedisLimiter"}
    assert "RedisLimiter.from_url(" in source
