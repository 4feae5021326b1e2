-- Event times of every raw row with its load batch: the incremental scorecard reads the
-- rows of batches it has not reflected yet (a filter on _batch_id uses the batch indexes).
with tickets as (

    select 'zendesk__tickets' as stream, _batch_id, created_at as event_at
    from {{ source('raw', 'zendesk__tickets') }}

),

metric_sets as (

    select 'zendesk__ticket_metric_sets' as stream, _batch_id, created_at as event_at
    from {{ source('raw', 'zendesk__ticket_metric_sets') }}

),

users as (

    select 'zendesk__users' as stream, _batch_id, cast(null as timestamptz) as event_at
    from {{ source('raw', 'zendesk__users') }}

),

contact_records as (

    select 'amazon_connect__contact_records' as stream, _batch_id, initiation_timestamp as event_at
    from {{ source('raw', 'amazon_connect__contact_records') }}

),

responses as (

    select 'qualtrics__responses' as stream, _batch_id, end_date as event_at
    from {{ source('raw', 'qualtrics__responses') }}

),

orders as (

    select 'crm__orders' as stream, _batch_id, ordered_at as event_at
    from {{ source('raw', 'crm__orders') }}

),

sentiment_scores as (

    -- scores change interactions' sentiment, not their time: the facts carry it on
    select 'sentiment__message_scores' as stream, _batch_id, cast(null as timestamptz) as event_at
    from {{ source('raw', 'sentiment__message_scores') }}

),

final as (

    select * from tickets
    union all select * from metric_sets
    union all select * from users
    union all select * from contact_records
    union all select * from responses
    union all select * from orders
    union all select * from sentiment_scores

)

select * from final
