"""docs/incremental.md carries the model graph of the dbt project as it is."""

from __future__ import annotations

import json

from cxscore.dbt_docs import BEGIN, END, mermaid, page_with_graph
from cxscore.orchestration.dbt_cosmos import ensure_dbt_manifest
from cxscore.paths import project_root


def test_the_graph_has_every_model_and_its_edges() -> None:
    manifest = json.loads(ensure_dbt_manifest().read_text(encoding="utf-8"))
    graph = mermaid(manifest)
    models = [n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) > 30
    for name in models:
        assert f"[{name}]" in graph, name
    assert "subgraph marts" in graph and "-->" in graph


def test_the_page_is_current() -> None:
    manifest = json.loads(ensure_dbt_manifest().read_text(encoding="utf-8"))
    page = (project_root() / "docs" / "incremental.md").read_text(encoding="utf-8")
    assert BEGIN in page and END in page
    assert page_with_graph(page, mermaid(manifest)) == page, (
        "docs/incremental.md is stale: run `.venv/bin/python -m cxscore.dbt_docs`"
    )
