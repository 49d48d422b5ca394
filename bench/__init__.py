"""Benchmarks of secretinj-runtime: ``python -m bench.run`` (see ``bench/README.md``).

One module per benchmark (`fast_path`, `fallback`, `stampede`, `scoring`), each with a
``Params`` dataclass (``Params.smoke()`` for the tiny CI run), ``run(params, workdir)`` that
returns an `Outcome` (records + samples) and ``chart(outcome, path)``.
"""
