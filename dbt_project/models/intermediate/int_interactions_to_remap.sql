{{ config(materialized='table', indexes=[{'columns': ['interaction_id'], 'unique': True}]) }}
{%- set state = incremental_state(
    ['int_interactions_mapped_to_touchpoints'], ref('stg_meta__build_marks')) -%}
{%- set previous = previous_relation('int_interactions_mapped_to_touchpoints') -%}

-- depends_on: {{ ref('stg_zendesk__ticket_metric_sets') }}
-- depends_on: {{ ref('stg_zendesk__users') }}

-- The interactions whose canonical record int_interactions_mapped_to_touchpoints recomputes
-- in this build (scorecard.md, "Incremental builds"). Full build (full refresh, first run,
-- changed seeds or vars): every ticket and contact. Incremental: the staged records this
-- build (re)wrote, driven by load batches after the last mapped build:
-- - tickets and metric sets, contact records, and the transfer parents of changed contacts;
-- - identity: the tickets of a changed user, the interactions that resolved to a changed
--   user, and the calls / chats / e-mails carrying a changed user's phone or e-mail hash;
-- - contacts that vanished with a replaced landing file.
with

{% if state.full %}

final as (

    select interaction_id from {{ ref('stg_zendesk__tickets') }}
    union
    select interaction_id from {{ ref('stg_amazon_connect__contact_records') }}

)

{% else %}

-- Import CTEs of big tables are NOT MATERIALIZED (PostgreSQL 12+): a CTE referenced
-- twice would otherwise be copied whole before the key filters apply.
tickets as not materialized (

    select ticket_id, interaction_id, requester_id from {{ ref('stg_zendesk__tickets') }}

),

metric_sets as not materialized (

    select ticket_id, _changed_batch_id from {{ ref('stg_zendesk__ticket_metric_sets') }}

),

contacts as not materialized (

    select * from {{ ref('stg_amazon_connect__contact_records') }}

),

users as not materialized (

    select * from {{ ref('stg_zendesk__users') }}

),

previous as not materialized (

    select interaction_id, customer_id from {{ previous }}

),

changed_users as (

    select user_id, customer_id, phone_hash, email_hash
    from users
    where _changed_batch_id > {{ state.batch_after }}

),

changed_contacts as (

    select contact_id, interaction_id, previous_contact_id
    from contacts
    where _changed_batch_id > {{ state.batch_after }}

),

final as (

    select interaction_id
    from {{ ref('stg_zendesk__tickets') }}
    where _changed_batch_id > {{ state.batch_after }}

    union

    select tickets.interaction_id
    from metric_sets
    inner join tickets on tickets.ticket_id = metric_sets.ticket_id
    where metric_sets._changed_batch_id > {{ state.batch_after }}

    union

    select interaction_id from changed_contacts

    union

    select {{ source_key('amazon_connect', 'previous_contact_id') }}
    from changed_contacts
    where previous_contact_id is not null

    union

    select tickets.interaction_id
    from tickets
    where tickets.requester_id in (select user_id from changed_users)

    union

    select previous.interaction_id
    from previous
    where previous.customer_id in (select customer_id from changed_users)

    union

    select contacts.interaction_id
    from contacts
    where contacts.customer_phone_hash in (
        select phone_hash from changed_users where phone_hash is not null
    )

    union

    select contacts.interaction_id
    from contacts
    where contacts.customer_email_hash in (
        select email_hash from changed_users where email_hash is not null
    )

    union

    select {{ source_key('amazon_connect', 'removed.key') }}
    from {{ source('build_state', 'cx_removed_records') }} as removed
    where removed.model = 'stg_amazon_connect__contact_records'
        and removed.batch_id > {{ state.batch_after }}

)

{% endif %}

select * from final
