{% macro since_last_scorecard_floor() -%}
    {#- The lowest _changed_batch_id a staging test checks: the rows written after the last
        build that reached the scorecard (the scorecard is downstream of every staging model,
        so a build whose staging test failed never records it). That build's own rows carry
        its watermark L (cx_build_state of touchpoint_scorecard), so the floor is L + 1, except:
        - no such build yet: -1 (every row; a first build);
        - no new batch since (L = this build's watermark): L, as a build without new batches
          (a full refresh, a changed staging configuration) rewrites rows with the same
          watermark;
        - a build stamped after it (meta.dbt_builds: one that did not reach the scorecard, or
          a partial --select): L, so that rows such a build rewrote with watermark L are
          checked again. -#}
    coalesce((
        select state.last_batch_id + case
            when state.last_batch_id < marks.max_batch_id
                and (
                    select count(*) from meta.dbt_builds as stamp
                    where stamp.finished_at > state.updated_at
                ) <= 1
                then 1
            else 0
        end
        from intermediate.cx_build_state as state
        cross join staging.stg_meta__build_marks as marks
        where state.model = 'touchpoint_scorecard'
    ), -1)
{%- endmacro %}


{% macro since_last_scorecard() -%}
    {#- A data test's filter on a staging model: the rows written since the last build that
        reached the scorecard, up to this build's watermark (a closed range of two query-time
        values, read through the _changed_batch_id index). -#}
    _changed_batch_id between {{ since_last_scorecard_floor() }}
        and (select max_batch_id from staging.stg_meta__build_marks)
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {#- dbt's own macro (a test's `where` config as a subquery), plus one placeholder:
        `where: __since_last_scorecard__` becomes since_last_scorecard(); a macro cannot be
        called from a .yml config itself. -#}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__since_last_scorecard__', since_last_scorecard()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
