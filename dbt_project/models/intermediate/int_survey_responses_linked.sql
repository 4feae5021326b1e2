-- Survey responses with their interaction, customer, touchpoint (int_survey_responses_resolved),
-- segment and comment sentiment.
-- Only the responses of this build's scope (int_facts_in_scope: all on a full build).
with scope as (

    select key as response_id from {{ ref('int_facts_in_scope') }} where entity = 'response'

),

linked as (

    select * from {{ ref('int_survey_responses_resolved') }}
    where response_id in (select response_id from scope)

),

users as (

    select * from {{ ref('stg_zendesk__users') }}

),

sentiment as (

    select * from {{ ref('int_customer_sentiment_aggregated') }}
    where unit_type = 'response'

),

final as (

    select
        linked.response_id,
        linked.interaction_id as claimed_interaction_id,
        linked.linked_interaction_id,
        linked.customer_id,
        linked.touchpoint_id,
        coalesce(users.segment, 'unknown') as segment,
        linked.embedded_touchpoint_id,
        linked.export_layout,
        linked.response_status,
        linked.csat,
        linked.nps,
        linked.ces,
        linked.is_finished,
        linked.is_scored,
        linked.linked_interaction_id is not null as is_linked,
        linked.is_csat_invalid,
        linked.is_nps_invalid,
        linked.is_ces_invalid,
        linked.has_comment,
        sentiment.customer_sentiment as comment_sentiment,
        coalesce(sentiment.has_customer_message, false) as has_comment_message,
        coalesce(sentiment.min_customer_sentiment < -0.5, false) as is_negative_sentiment,
        linked.submitted_at
    from linked
    left join users on users.customer_id = linked.customer_id
    left join sentiment on sentiment.unit_id = linked.response_id

)

select * from final
