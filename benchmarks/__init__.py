"""zim_async benchmarks: run with ``nox -s bench`` (or ``python -m benchmarks``).

Never part of the test suite. Each figure is measured on the machine that runs it and
written to ``benchmarks/RESULTS.md``; the arrivals timeline goes to ``timeline.png``.
"""
