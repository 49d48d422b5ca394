"""A persistently refused key costs a handful of ListSecrets, not one per scoring request."""

from __future__ import annotations

import json

from sample_score import score
from secretinj_runtime.mock.testing import MockServer

from .conftest import body_of


def test_thirty_refused_requests_cost_a_handful_of_arm_writes(scoring: MockServer) -> None:
    score.init()
    assert scoring.count("listsecrets", "aoai-conn") == 1
    scoring.queue_fault("downstream", 401, count=1000)  # the model API refuses every key
    statuses = [body_of(score.run(json.dumps({"text": f"r{i}"})))[0] for i in range(30)]
    assert statuses == [502] * 30
    fetched = scoring.count("listsecrets", "aoai-conn")
    assert fetched <= 3, f"{fetched - 1} ListSecrets for 30 refused requests"
