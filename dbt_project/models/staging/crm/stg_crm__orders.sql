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

-- Incremental (docs/incremental.md, step 1): a run re-stages only the records touched by new
-- load batches; _changed_batch_id tells the intermediate layer which records it (re)wrote.

with latest as (

    {{ staging_latest_versions(source('raw', 'crm__orders'), 'order_id', 'updated_at desc nulls last, _batch_id desc, _line desc', from_files=true, key_present="nullif(trim(order_id), '') is not null") }}

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
        {{ changed_batch_id() }} as _changed_batch_id
    from latest

)

select * from final
