{{ config(materialized='table', indexes=[{'columns': ['identity_type', 'identity_hash'], 'unique': True}]) }}

-- One winning customer per phone / e-mail hash: several users sharing one -> the earliest
-- created_at, then the lowest id (sources.md, identity resolution).
with users as (

    select * from {{ ref('stg_zendesk__users') }}

),

identities as (

    select 'phone' as identity_type, phone_hash as identity_hash, customer_id, user_id, created_at
    from users
    where phone_hash is not null
    union all
    select 'email' as identity_type, email_hash as identity_hash, customer_id, user_id, created_at
    from users
    where email_hash is not null

),

ranked as (

    select
        *,
        row_number() over (
            partition by identity_type, identity_hash
            order by created_at asc nulls last, user_id asc
        ) as claim_rank
    from identities

),

final as (

    select identity_type, identity_hash, customer_id
    from ranked
    where claim_rank = 1

)

select * from final
