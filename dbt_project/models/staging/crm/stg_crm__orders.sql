with source as (

    select * from {{ source('raw', 'crm__orders') }}

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
        _batch_id
    from latest

)

select * from final
