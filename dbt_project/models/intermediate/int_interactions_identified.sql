-- Identity resolution (sources.md): tickets through their requester (a Zendesk user),
-- calls through the E.164 phone, chats and e-mails through the e-mail; unmatched -> null.
-- The lookup tables are read twice each: NOT MATERIALIZED keeps them as index lookups.
with interactions as (

    select * from {{ ref('int_interactions_unioned') }}

),

users as not materialized (

    select * from {{ ref('stg_zendesk__users') }}

),

identities as not materialized (

    select * from {{ ref('int_customer_identities_resolved') }}

),

identified as (

    select
        interactions.*,
        case
            when interactions.source_system = 'zendesk' then requesters.customer_id
            when interactions.customer_phone_hash is not null then by_phone.customer_id
            else by_email.customer_id
        end as customer_id
    from interactions
    left join users as requesters
        on requesters.user_id = interactions.requester_user_id
    left join identities as by_phone
        on by_phone.identity_type = 'phone'
        and by_phone.identity_hash = interactions.customer_phone_hash
    left join identities as by_email
        on by_email.identity_type = 'email'
        and by_email.identity_hash = interactions.customer_email_hash

),

final as (

    select
        identified.*,
        coalesce(users.segment, 'unknown') as segment
    from identified
    left join users on users.customer_id = identified.customer_id

)

select * from final
