-- The customer sentiment of each interaction and each survey response with a comment
-- (signals.md, "Scoring"): customer_sentiment is the vendor's score when there is one
-- (Contact Lens OverallSentiment.CUSTOMER / 5), else the mean of the scored customer
-- messages; min_customer_sentiment the vendor score, else the lowest message score;
-- null when nothing could be scored (unscored is never 0). last_batch_id tells the
-- incremental facts which units got new scores (int_facts_in_scope).
with messages as (

    select * from {{ ref('stg_sentiment__message_scores') }}

),

units as (

    select
        case when response_id is not null then 'response' else 'interaction' end as unit_type,
        coalesce(response_id, interaction_id) as unit_id,
        sum(case when not is_vendor_score then 1 else 0 end) as customer_messages,
        sum(case when not is_vendor_score and is_scored then 1 else 0 end) as scored_messages,
        avg(case when not is_vendor_score then score end) as mean_message_score,
        min(case when not is_vendor_score then score end) as min_message_score,
        max(case when is_vendor_score then score end) as vendor_score,
        max(_batch_id) as last_batch_id
    from messages
    where coalesce(response_id, interaction_id) is not null
    group by 1, 2

),

final as (

    select
        unit_type,
        unit_id,
        customer_messages,
        scored_messages,
        {{ trim_numeric('coalesce(vendor_score, mean_message_score)') }} as customer_sentiment,
        {{ trim_numeric('coalesce(vendor_score, min_message_score)') }} as min_customer_sentiment,
        vendor_score is not null as has_vendor_score,
        customer_messages > 0 or vendor_score is not null as has_customer_message,
        last_batch_id
    from units

)

select * from final
