"""Development sessions: `nox -s tests lint typecheck docs`."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite; async tests run on both asyncio and trio."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test,typecheck]")
    session.run("mypy", "--strict")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", session.create_tmp() + "/site")


BENCH_DEPS = ["aiolimiter>=1.1", "pyrate-limiter>=4.5", "matplotlib>=3.8", "pyinstrument>=4.6"]


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: regenerate benchmarks/RESULTS.md and timeline.png (not a default session).

    B6 starts its own redis-server, which must be on PATH.
    """
    session.install("-e", ".[test,redis]", *BENCH_DEPS)
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The reliability campaign scaled up (ZIM_SOAK=1); regenerates docs/reliability.md."""
    session.install("-e", ".[test,cli]")
    figures = session.create_tmp() + "/reliability-figures.json"
    env = {"ZIM_SOAK": "1", "ZIM_SOAK_REPORT": figures}
    session.run("pytest", "-m", "reliability", "tests/reliability", *session.posargs, env=env)
    session.run("python", "-m", "tests.reliability.report", figures, "docs/reliability.md")
