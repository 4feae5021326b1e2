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

-- Incremental (docs/incremental.md, step 1): a run re-stages only the records touched by new
-- load batches; _changed_batch_id tells the intermediate layer which records it (re)wrote.

with latest as (

    {{ staging_latest_versions(source('raw', 'zendesk__tickets'), 'id', 'updated_at desc nulls last, _batch_id desc', staged_key='ticket_id') }}

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
        {{ changed_batch_id() }} as _changed_batch_id
    from latest

)

select * from final
