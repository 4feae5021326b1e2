{#- A post-hook of every model and seed (dbt_project.yml): fresh planner statistics for a table this
    build just wrote, so the next model's query over it is planned on its real size and
    batch ids (an incremental step selects one day out of months; without statistics
    PostgreSQL guesses a third of the table and sorts it whole: docs/performance.md,
    "Statistics after a load"). PostgreSQL only; other warehouses keep their own. -#}
{% macro refresh_statistics() -%}
    {{ return(adapter.dispatch('refresh_statistics')()) }}
{%- endmacro %}

{% macro default__refresh_statistics() -%}
{%- endmacro %}

{% macro postgres__refresh_statistics() -%}
    {%- if config.get('materialized') in ('table', 'incremental', 'seed') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
