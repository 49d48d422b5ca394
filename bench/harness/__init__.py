"""What every benchmark shares; each benchmark keeps only its scenario and its figures.

- `records`: `Record` (one line of ``latest.json``), `record`, `Outcome`, reading and writing;
- `stats`: `median`, `quartiles`, `Samples` (measurements by key);
- `timing`: interleaved orders (`abba`, `shuffled`), `timed_ms`, `release_together`, `say`;
- `processes`: Python children and their figures, timed spawns, a process group's CPU;
- `mock`: the mock as a process, `mock_env`, `patched_environ`, what baseline clients need;
- `charts`: matplotlib on Agg, `save_figure`, `step_curve`, `label_bars`.
"""

from bench.harness.charts import label_bars, pyplot, save_figure, step_curve
from bench.harness.mock import (
    ARM_SCOPE,
    KEYVAULT_API,
    KV_SCOPE,
    LISTSECRETS_API,
    MSI_SECRET,
    Endpoints,
    api_key_connection,
    mock_env,
    patched_environ,
    preload_clients,
    start_mock,
)
from bench.harness.processes import PYTHON, group_cpu_s, python_figure, run_child, spawn_timed
from bench.harness.records import (
    FIELDS,
    Outcome,
    Record,
    load_records,
    record,
    write_records,
)
from bench.harness.stats import Samples, median, quartiles
from bench.harness.timing import abba, release_together, say, shuffled, timed_ms

__all__ = [
    "ARM_SCOPE",
    "FIELDS",
    "KEYVAULT_API",
    "KV_SCOPE",
    "LISTSECRETS_API",
    "MSI_SECRET",
    "PYTHON",
    "Endpoints",
    "Outcome",
    "Record",
    "Samples",
    "abba",
    "api_key_connection",
    "group_cpu_s",
    "label_bars",
    "load_records",
    "median",
    "mock_env",
    "patched_environ",
    "preload_clients",
    "pyplot",
    "python_figure",
    "quartiles",
    "record",
    "release_together",
    "run_child",
    "save_figure",
    "say",
    "shuffled",
    "spawn_timed",
    "start_mock",
    "step_curve",
    "timed_ms",
    "write_records",
]
