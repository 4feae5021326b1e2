{{
    config(
        unique_key='ticket_id',
        indexes=[
            {'columns': ['ticket_id'], 'unique': True},
            {'columns': ['interaction_id'], 'unique': True},
            {'columns': ['_changed_batch_id']},
            {'columns': ['requester_id']},
        ],
        post_hook=[
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), 'staging_hash') }}",
        ],
    )
}}
{% set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') %}

-- Incremental: a run re-stages only the records touched by new load batches (macro
-- staging_rows_to_restage), reading every stored version of them; _changed_batch_id tells the
-- intermediate layer which records this build (re)wrote.

with source as (

    {{ staging_rows_to_restage(source('raw', 'zendesk__tickets'), 'id', 'ticket_id', state) }}

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
        {{ source_key('zendesk', 'id') }} as interaction_id,
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
        _batch_id,
        coalesce((select max_batch_id from {{ ref('stg_meta__build_marks') }}), -1)
            as _changed_batch_id
    from latest

)

select * from final
