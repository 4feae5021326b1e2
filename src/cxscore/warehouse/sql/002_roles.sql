-- The read-only BI role. NOLOGIN: a BI login (e.g. cxscore_bi) is granted it.
-- Roles are cluster-wide, so creation tolerates a concurrent creator.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'cx_bi_reader') then
        begin
            create role cx_bi_reader nologin;
        exception when duplicate_object or unique_violation then
            null;
        end;
    end if;
end
$$;

-- What BI reads, and nothing else: the marts (every table and view, also those dbt creates
-- later), and in `quality` only the check history and the gate's verdict. Every grant is
-- listed here (a new object in `quality` is NOT readable until it is granted below).
revoke all on schema raw, meta, staging, intermediate from cx_bi_reader;
revoke all on all tables in schema raw, meta, staging, intermediate from cx_bi_reader;
revoke all on all tables in schema quality from cx_bi_reader;
-- warehouses initialised before 0.x granted every future table of `quality`: withdrawn
alter default privileges in schema quality revoke all on tables from cx_bi_reader;

grant usage on schema marts to cx_bi_reader;
grant select on all tables in schema marts to cx_bi_reader;
-- Tables and views created later in marts (by dbt, as the current user) stay readable.
alter default privileges in schema marts grant select on tables to cx_bi_reader;

grant usage on schema quality to cx_bi_reader;
grant select on quality.check_results to cx_bi_reader;
-- quality.gate: the publish gate's verdict (a view); granted whenever it exists. Its
-- creator (the gate's own script or code) re-runs this file, or grants it the same way.
do $$
begin
    if to_regclass('quality.gate') is not null then
        grant select on quality.gate to cx_bi_reader;
    end if;
end
$$;
