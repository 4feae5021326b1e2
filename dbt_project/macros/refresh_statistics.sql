{#- A post-hook of every model and seed (dbt_project.yml): fresh planner statistics for a table
    this build just wrote, so the next model's query over it is planned on its real size and
    batch ids (an incremental step selects one day out of months; without statistics
    PostgreSQL guesses a third of the table and sorts it whole: docs/performance.md,
    "Statistics after a load"). A model that wrote no row in this build (its transaction
    inserted, updated and deleted nothing: a run with nothing new for it) keeps the
    statistics it has, unless it has never been analysed: its 0.3-1 s sample would
    describe the same rows again. PostgreSQL only; other warehouses keep their own. -#}
{% macro refresh_statistics() -%}
    {{ return(adapter.dispatch('refresh_statistics')()) }}
{%- endmacro %}

{% macro default__refresh_statistics() -%}
{%- endmacro %}

{% macro postgres__refresh_statistics() -%}
    {%- if config.get('materialized') in ('table', 'incremental', 'seed') -%}
        {%- set table = "'" ~ this ~ "'::regclass" -%}
        do $cx_statistics$ begin
            if pg_stat_get_xact_tuples_inserted({{ table }})
               + pg_stat_get_xact_tuples_updated({{ table }})
               + pg_stat_get_xact_tuples_deleted({{ table }}) > 0
               or coalesce(pg_stat_get_last_analyze_time({{ table }}),
                           pg_stat_get_last_autoanalyze_time({{ table }})) is null then
                analyze {{ this }};
            end if;
        end $cx_statistics$
    {%- endif -%}
{%- endmacro %}
