"""Source connectors: parsing only.

Each module turns what a source delivers (file bytes, API pages) into rows for its raw
table, or :class:`~cxscore.sources.common.Rejection` s that say why a record could not be
read. Nothing here touches the warehouse; loading lives in :mod:`cxscore.load`.
"""
