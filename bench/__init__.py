"""Benchmarks of secretinj-runtime: ``python -m bench.run`` (see ``bench/README.md``).

`run` is the command and the README table; `harness` what every benchmark shares (records,
statistics, interleaved repetitions, child processes, the mock as a process, charts). One
benchmark per module (`scoring`, `workers`, `masking`), or per package when it needs more
(`fast_path`, `fallback`, `stampede`: ``scenario``, ``clients`` or ``imports``, ``figures``).
Each offers a ``Params`` dataclass (``Params.smoke()`` for the tiny CI run),
``run(params, workdir)`` that returns an `Outcome` (records + samples) and
``chart(outcome, path)``.
"""
