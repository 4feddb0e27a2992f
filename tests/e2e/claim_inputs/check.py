"""Inputs a test writes into ``env.data_dir`` reach a pod through the claim: the same check on
the harness's kind cluster (where data_dir is the volume) and on an existing cluster (where the
harness copies it in before each run). The existing-cluster test's inner session imports it.

Expected counts are derived here from the input texts alone, not from the task's code.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_e2e_harness.airflow.runner import RunResult
    from airflow_e2e_harness.environment import KindEnvironment
    from airflow_e2e_harness.session import E2ESession

CLAIM_INPUTS = Path(__file__).resolve().parent
DAG_ID = "count_words_k8s"
# Per run: the logical date and what in/ holds. The second run drops b.txt and adds a nested
# file: a count that still saw b.txt would mean the claim kept what data_dir no longer has.
RUNS = (
    ("2026-01-05", {"a.txt": "The quick brown fox\n", "b.txt": "the lazy dog\nand THE fox\n"}),
    ("2026-01-06", {"a.txt": "The quick brown fox\n", "deeper/c.txt": "Dog days, dog\n"}),
)


def words_environment(session: E2ESession) -> KindEnvironment:
    """The DAG, its image and its claim, in namespace ``words``."""
    return session.kind(
        dags=CLAIM_INPUTS / "dags", images=CLAIM_INPUTS / "images",
        manifests=CLAIM_INPUTS / "manifests" / "*.yaml", namespace="words",
    )


def expected(inputs: dict[str, str]) -> dict[str, object]:
    """The spec: files relative to in/, sorted; words are whitespace-separated, lower-cased."""
    words = Counter(word.lower() for text in inputs.values() for word in text.split())
    return {"files": sorted(inputs), "words": dict(words)}


def stage(data_dir: Path, inputs: dict[str, str]) -> None:
    """in/ holds exactly ``inputs`` (what an earlier run had there is removed)."""
    shutil.rmtree(data_dir / "in", ignore_errors=True)
    for rel, text in inputs.items():
        path = data_dir / "in" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def check_staged_inputs(env: KindEnvironment) -> list[RunResult]:
    """Each run counts what data_dir's in/ held as it started; earlier outputs stay."""
    results = []
    for ds, inputs in RUNS:
        stage(env.data_dir, inputs)
        result = env.run(DAG_ID, ds)
        result.raise_for_failures()
        counts = json.loads((env.data_dir / "out" / f"{ds}.json").read_text())
        assert counts == expected(inputs), (ds, counts)
        results.append(result)
    assert sorted(p.name for p in (env.data_dir / "out").iterdir()) == [f"{ds}.json" for ds, _ in RUNS]
    return results
