"""Glue between Airflow and cxscore, by responsibility:

- :mod:`~cxscore.orchestration.connections`: Airflow connections -> cxscore settings;
- :mod:`~cxscore.orchestration.tasks`: what the DAG tasks share (pool, retries, failure
  callback, the per-source check task, the build lock);
- :mod:`~cxscore.orchestration.dbt_cosmos`: the dbt project under Cosmos;
- :mod:`~cxscore.orchestration.local`: an isolated local Airflow for the demo, the tests
  and the benchmark.

Every module is light at import time (standard library only): the DAG files import them
while the DAG processor parses them; Airflow, Cosmos, psycopg2 and the pipeline are
imported inside the functions, at task run time.
"""
