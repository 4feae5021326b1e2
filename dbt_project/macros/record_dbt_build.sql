{% macro record_dbt_build() -%}
    {#- on-run-end: stamp the build in meta.dbt_builds (created by `cxscore warehouse init`)
        so that a publish can tell whether the scorecard checks ran on this very build.
        Only commands that write models stamp; parse, docs and unit tests do not. -#}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        insert into meta.dbt_builds (invocation_id, command)
        values ('{{ invocation_id }}', '{{ flags.WHICH }}')
    {%- endif -%}
{%- endmacro %}
