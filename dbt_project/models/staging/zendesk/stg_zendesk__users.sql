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
{% set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') %}

-- Incremental: a run re-stages only the records touched by new load batches (macro
-- staging_rows_to_restage), reading every stored version of them; _changed_batch_id tells the
-- intermediate layer which records this build (re)wrote.

with source as (

    {{ staging_rows_to_restage(source('raw', 'zendesk__users'), 'id', 'user_id', state) }}

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
        coalesce((select max_batch_id from {{ ref('stg_meta__build_marks') }}), -1)
            as _changed_batch_id
    from latest

)

select * from final
