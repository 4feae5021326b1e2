with source as (

    select * from {{ source('raw', 'zendesk__users') }}

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
        'zendesk:' || cast(id as {{ dbt.type_string() }}) as customer_id,
        {{ hash_pii(normalize_email(json_text('payload', 'email'))) }} as email_hash,
        {{ hash_pii(normalize_phone(json_text('payload', 'phone'))) }} as phone_hash,
        coalesce(
            nullif(trim({{ json_text('payload', ['user_fields', 'segment']) }}), ''), 'unknown'
        ) as segment,
        created_at,
        updated_at,
        _batch_id
    from latest

)

select * from final
