{{
    config(
        unique_key='order_id',
        indexes=[
            {'columns': ['order_id'], 'unique': True},
            {'columns': ['_changed_batch_id']},
            {'columns': ['customer_email_hash']},
            {'columns': ['_source_file']},
        ],
        post_hook=[
            "{{ delete_rows_of_reloaded_files('order_id', ref('stg_meta__build_marks')) }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), 'staging_hash') }}",
        ],
    )
}}
{% set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') %}

-- Incremental: a run re-stages only the records touched by new load batches (macro
-- staging_rows_to_restage), reading every stored version of them; _changed_batch_id tells the
-- intermediate layer which records this build (re)wrote.

with source as (

    {{ staging_rows_to_restage(source('raw', 'crm__orders'), 'order_id', 'order_id', state, from_files=true) }}

),

latest as (

    -- one row per order_id: distinct on keeps the first row of each key in this order (and
    -- gives the planner a good row estimate, unlike a ranking filter)
    select distinct on (order_id) *
    from source
    where nullif(trim(order_id), '') is not null
    order by order_id, updated_at desc nulls last, _batch_id desc, _line desc

),

final as (

    select
        order_id,
        {{ hash_pii(normalize_email('customer_email')) }} as customer_email_hash,
        upper(trim(currency)) as currency,
        lower(trim(status)) as status,
        amount,
        lower(trim(status)) in ('refunded', 'returned') as is_refund,
        lower(trim(status)) = 'cancelled' as is_cancelled,
        ordered_at,
        updated_at,
        _batch_id,
        _source_file,
        coalesce((select max_batch_id from {{ ref('stg_meta__build_marks') }}), -1)
            as _changed_batch_id
    from latest

)

select * from final
