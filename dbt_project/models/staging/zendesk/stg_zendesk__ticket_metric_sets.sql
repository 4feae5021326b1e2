with source as (

    select * from {{ source('raw', 'zendesk__ticket_metric_sets') }}

),

versions_ranked as (

    select
        *,
        row_number() over (
            partition by ticket_id
            order by updated_at desc nulls last, _batch_id desc, id desc
        ) as version_rank
    from source
    where ticket_id is not null

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
        _batch_id
    from versions_ranked
    where version_rank = 1

)

select * from final
