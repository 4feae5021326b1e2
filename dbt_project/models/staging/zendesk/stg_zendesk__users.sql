{{
    config(
        unique_key='user_id',
        indexes=[
            {'columns': ['user_id'], 'unique': True},
            {'columns': ['customer_id'], 'unique': True},
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

    {{ staging_latest_versions(source('raw', 'zendesk__users'), 'id', 'updated_at desc nulls last, _batch_id desc', staged_key='user_id') }}

),

final as (

    select
        id as user_id,
        {{ source_key('zendesk', 'id') }} as customer_id,
        {{ hash_pii(normalize_email(json_text('payload', 'email'))) }} as email_hash,
        {{ hash_pii(normalize_phone(json_text('payload', 'phone'))) }} as phone_hash,
        coalesce(
            nullif(trim({{ json_text('payload', ['user_fields', 'segment']) }}), ''), 'unknown'
        ) as segment,
        created_at,
        updated_at,
        _batch_id,
        {{ changed_batch_id() }} as _changed_batch_id
    from latest

)

select * from final
