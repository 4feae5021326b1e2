with users as (

    select * from {{ ref('stg_zendesk__users') }}

),

final as (

    select
        customer_id,
        user_id,
        segment,
        email_hash is not null as has_email,
        phone_hash is not null as has_phone,
        created_at,
        updated_at
    from users

)

select * from final
