{{
    config(
        unique_key='contact_id',
        indexes=[
            {'columns': ['contact_id'], 'unique': True},
            {'columns': ['interaction_id'], 'unique': True},
            {'columns': ['_changed_batch_id']},
            {'columns': ['previous_contact_id']},
            {'columns': ['customer_phone_hash']},
            {'columns': ['customer_email_hash']},
            {'columns': ['_source_file']},
        ],
        post_hook=[
            "{{ delete_rows_of_reloaded_files('contact_id', ref('stg_meta__build_marks')) }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), 'staging_hash') }}",
        ],
    )
}}

-- Incremental (docs/incremental.md, step 1): a run re-stages only the records touched by new
-- load batches; _changed_batch_id tells the intermediate layer which records it (re)wrote.

with latest as (

    {{ staging_latest_versions(source('raw', 'amazon_connect__contact_records'), 'contact_id', 'last_update_timestamp desc nulls last, _batch_id desc, _line desc', from_files=true, decompress_payload=true) }}

),

final as (

    select
        contact_id,
        {{ source_key('amazon_connect', 'contact_id') }} as interaction_id,
        {{ json_text('payload', 'PreviousContactId') }} as previous_contact_id,
        {{ json_text('payload', 'NextContactId') }} as next_contact_id,
        upper(initiation_method) as initiation_method,
        upper(channel) as connect_channel,
        {{ connect_channel('channel') }} as channel,
        {{ json_text('payload', ['Queue', 'Name']) }} as queue_name,
        {{ json_text('payload', ['Attributes', 'ivr_menu']) }} as ivr_menu_attribute,
        {{ json_text('payload', 'DisconnectReason') }} as disconnect_reason,
        case when upper(channel) = 'VOICE' then
            {{ hash_pii(normalize_phone(json_text('payload', ['CustomerEndpoint', 'Address']))) }}
        end as customer_phone_hash,
        {{ hash_pii(normalize_email(
            "coalesce(" ~ json_text('payload', ['Attributes', 'customer_email'])
            ~ ", case when upper(channel) = 'EMAIL' then "
            ~ json_text('payload', ['CustomerEndpoint', 'Address']) ~ " end)"
        )) }} as customer_email_hash,
        cast({{ json_text('payload', ['Queue', 'Duration']) }} as numeric) as queue_duration_seconds,
        cast({{ json_text('payload', ['Agent', 'AgentInteractionDuration']) }} as numeric)
            as agent_interaction_seconds,
        cast({{ json_text('payload', ['Agent', 'CustomerHoldDuration']) }} as numeric)
            as customer_hold_seconds,
        cast({{ json_text('payload', ['Agent', 'AfterContactWorkDuration']) }} as numeric)
            as after_contact_work_seconds,
        {{ json_has_object('payload', 'Agent') }} as has_agent,
        lower(coalesce({{ json_text('payload', ['Attributes', 'self_service_complete']) }}, ''))
            = 'true' as is_self_service_complete,
        lower(coalesce({{ json_text('payload', ['Attributes', 'escalated']) }}, ''))
            = 'true' as is_escalated_attribute,
        {{ to_timestamp_utc(json_text('payload', ['Queue', 'EnqueueTimestamp'])) }} as enqueued_at,
        {{ to_timestamp_utc(json_text('payload', ['Agent', 'ConnectedToAgentTimestamp'])) }}
            as connected_to_agent_at,
        {{ to_timestamp_utc(json_text('payload', 'TransferCompletedTimestamp')) }}
            as transfer_completed_at,
        initiation_timestamp as initiated_at,
        disconnect_timestamp as disconnected_at,
        last_update_timestamp as last_updated_at,
        _batch_id,
        _source_file,
        {{ changed_batch_id() }} as _changed_batch_id
    from latest

)

select * from final
