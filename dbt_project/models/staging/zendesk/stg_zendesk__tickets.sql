with source as (

    select * from {{ source('raw', 'zendesk__tickets') }}

),

latest as (

    -- one row per id: distinct on keeps the first row of each key in this order (and
    -- gives the planner a good row estimate, unlike a ranking filter)
    select distinct on (id) *
    from source
    where id is not null
    order by id, updated_at desc nulls last, _batch_id desc

),

final as (

    select
        id as ticket_id,
        'zendesk:' || cast(id as {{ dbt.type_string() }}) as interaction_id,
        requester_id,
        lower(status) as status,
        coalesce(via_channel, {{ json_text('payload', ['via', 'channel']) }}) as via_channel,
        {{ zendesk_channel("coalesce(via_channel, " ~ json_text('payload', ['via', 'channel']) ~ ")") }} as channel,
        {{ json_text('payload', 'type') }} as ticket_type,
        lower({{ json_text('payload', 'priority') }}) as priority,
        {{ json_text_array('payload', 'tags') }} as tags,
        lower(status) = 'deleted' as is_deleted,
        created_at,
        updated_at,
        _batch_id
    from latest

)

select * from final
