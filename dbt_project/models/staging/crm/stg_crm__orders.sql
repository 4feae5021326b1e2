with source as (

    select * from {{ source('raw', 'crm__orders') }}

),

versions_ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc nulls last, _batch_id desc, _line desc
        ) as version_rank
    from source
    where nullif(trim(order_id), '') is not null

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
        _batch_id
    from versions_ranked
    where version_rank = 1

)

select * from final
