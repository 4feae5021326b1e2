"""The one loading path: parsed rows -> PostgreSQL ``COPY`` into append-only raw tables.

* :mod:`cxscore.load.copy`: encoding rows for ``COPY`` (text format) and streaming them.
* :mod:`cxscore.load.files`: file sources, each file once, in one transaction.
* :mod:`cxscore.load.zendesk`: the Zendesk cursor export, page by page with its cursor.
* :mod:`cxscore.load.batches`: ``meta.load_batches`` and the per-source lock.

Raw is history: every version of a record that arrives is kept; choosing the latest is
staging's job (dbt).
"""
