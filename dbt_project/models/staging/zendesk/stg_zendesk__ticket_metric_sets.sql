{{
    config(
        unique_key='ticket_id',
        indexes=[
            {'columns': ['ticket_id'], 'unique': True},
            {'columns': ['_changed_batch_id']},
        ],
        post_hook=[
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), 'staging_hash') }}",
        ],
    )
}}

-- Incremental (docs/incremental.md, step 1): a run re-stages only the records touched by new
-- load batches; _changed_batch_id tells the intermediate layer which records it (re)wrote.

with latest as (

    {{ staging_latest_versions(source('raw', 'zendesk__ticket_metric_sets'), 'ticket_id', 'updated_at desc nulls last, _batch_id desc, id desc') }}

),

final as (

    select
        id as metric_set_id,
        ticket_id,
        cast({{ json_text('payload', ['reply_time_in_minutes', 'calendar']) }} as numeric)
            as reply_time_calendar_minutes,
        cast({{ json_text('payload', 'group_stations') }} as integer) as group_stations,
        coalesce(cast({{ json_text('payload', 'reopens') }} as integer), 0) as reopens,
        {{ to_timestamp_utc(json_text('payload', 'solved_at')) }} as solved_at,
        created_at,
        updated_at,
        _batch_id,
        {{ changed_batch_id() }} as _changed_batch_id
    from latest

)

select * from final
