{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['identity_type', 'identity_hash'],
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['identity_type', 'identity_hash'], 'unique': True},
            {'columns': ['customer_id']},
        ],
        post_hook=[
            "{{ delete_unclaimed_identities(ref('stg_zendesk__users'), ref('stg_meta__build_marks')) }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), 'staging_hash', upstream=['stg_zendesk__users']) }}",
        ],
    )
}}
-- depends_on: {{ ref('stg_meta__build_marks') }}

-- One winning customer per phone / e-mail hash: several users sharing one -> the earliest
-- created_at, then the lowest id (sources.md, identity resolution).
-- Incremental by key (docs/incremental.md): a build recomputes the winner of every hash a
-- user (re)staged since this model's last build holds now or won before, among all users;
-- delete+insert replaces those keys, and the post-hook (macro delete_unclaimed_identities)
-- removes a key its winner no longer holds when no user holds it any more. Every other key
-- keeps its winner: no user who holds or won it changed. A full build (first run, full
-- refresh, a changed PII key or default country) recomputes every key.
{%- set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') if is_incremental() else {'full': true} %}

-- Import CTE NOT MATERIALIZED (PostgreSQL 12+): referenced twice, it would otherwise be
-- copied whole, and the changed users' estimate would lose the _changed_batch_id index.
with users as not materialized (

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

{%- if not state.full %}

changed_users as (

    select customer_id, phone_hash, email_hash
    from users
    where _changed_batch_id > {{ state.batch_after }}

),

keys_in_scope as (

    -- the hashes the changed users hold now
    select 'phone' as identity_type, phone_hash as identity_hash
    from changed_users
    where phone_hash is not null
    union
    select 'email', email_hash
    from changed_users
    where email_hash is not null
    union
    -- the hashes they won before
    select stored.identity_type, stored.identity_hash
    from {{ this }} as stored
    where stored.customer_id in (select customer_id from changed_users)

),

claims as (

    select identities.*
    from identities
    inner join keys_in_scope
        on keys_in_scope.identity_type = identities.identity_type
        and keys_in_scope.identity_hash = identities.identity_hash

),

{%- else %}

claims as (

    select * from identities

),

{%- endif %}

ranked as (

    select
        *,
        row_number() over (
            partition by identity_type, identity_hash
            order by created_at asc nulls last, user_id asc
        ) as claim_rank
    from claims

),

final as (

    select identity_type, identity_hash, customer_id
    from ranked
    where claim_rank = 1

)

select * from final
