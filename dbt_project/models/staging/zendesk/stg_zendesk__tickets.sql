with source as (

    select * from {{ source('raw', 'zendesk__tickets') }}

),

versions_ranked as (

    select
        *,
        row_number() over (
            partition by id
            order by updated_at desc nulls last, _batch_id desc
        ) as version_rank
    from source
    where id is not null

),

latest as (

    select * from versions_ranked where version_rank = 1

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
