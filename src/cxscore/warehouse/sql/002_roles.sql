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

revoke all on schema raw, meta, staging, intermediate from cx_bi_reader;
revoke all on all tables in schema raw, meta, staging, intermediate from cx_bi_reader;

grant usage on schema marts to cx_bi_reader;
grant select on all tables in schema marts to cx_bi_reader;
grant usage on schema quality to cx_bi_reader;
grant select on quality.check_results to cx_bi_reader;

-- Tables and views created later in marts (by dbt, as the current user) stay readable.
alter default privileges in schema marts grant select on tables to cx_bi_reader;
alter default privileges in schema quality grant select on tables to cx_bi_reader;
