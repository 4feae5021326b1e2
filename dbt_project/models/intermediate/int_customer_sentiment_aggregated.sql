{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['unit_type', 'unit_id'],
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['unit_type', 'unit_id'], 'unique': True},
            {'columns': ['last_batch_id']},
        ],
        post_hook=["{{ record_build_state(this.name, ref('stg_meta__build_marks'), 'staging_hash') }}"],
    )
}}
-- depends_on: {{ ref('stg_meta__build_marks') }}

-- The customer sentiment of each interaction and each survey response with a comment
-- (signals.md, "Scoring"): customer_sentiment is the vendor's score when there is one
-- (Contact Lens OverallSentiment.CUSTOMER / 5), else the mean of the scored customer
-- messages; min_customer_sentiment the vendor score, else the lowest message score;
-- null when nothing could be scored (unscored is never 0). last_batch_id tells the
-- incremental facts which units got new scores (int_facts_in_scope).
-- Incremental by addition: a message is scored once and its score row never changes, so a
-- build adds the messages of the load batches after this model's last build, up to the
-- build's safe watermark (stg_meta__build_marks: every batch up to it has finished), to the
-- stored counts, sums, minimum and maximum of their units, and reads only those batches
-- (the _batch_id index) instead of aggregating every score of all time (docs/incremental.md).
-- The mean is the stored sum over the stored count on every path, so a full build gives the
-- same rows.
{%- set state = incremental_state([this.name], ref('stg_meta__build_marks'), 'staging_hash') if is_incremental() else {'full': true} %}

with messages as (

    select * from {{ ref('stg_sentiment__message_scores') }}
    where _batch_id <= {{ changed_batch_id() }}
    {%- if is_incremental() and not state.full %}
        and _batch_id > {{ state.batch_after }}
    {%- endif %}

),

added as (

    select
        case when response_id is not null then 'response' else 'interaction' end as unit_type,
        coalesce(response_id, interaction_id) as unit_id,
        sum(case when not is_vendor_score then 1 else 0 end) as customer_messages,
        sum(case when not is_vendor_score and is_scored then 1 else 0 end) as scored_messages,
        sum(case when not is_vendor_score then score end) as sum_message_score,
        count(case when not is_vendor_score then score end) as n_message_scores,
        min(case when not is_vendor_score then score end) as min_message_score,
        max(case when is_vendor_score then score end) as vendor_score,
        max(_batch_id) as last_batch_id
    from messages
    where coalesce(response_id, interaction_id) is not null
    group by 1, 2

),

units as (

    {%- if is_incremental() and not state.full %}
    select
        added.unit_type,
        added.unit_id,
        added.customer_messages + coalesce(stored.customer_messages, 0) as customer_messages,
        added.scored_messages + coalesce(stored.scored_messages, 0) as scored_messages,
        case
            when stored.sum_message_score is null then added.sum_message_score
            when added.sum_message_score is null then stored.sum_message_score
            else added.sum_message_score + stored.sum_message_score
        end as sum_message_score,
        added.n_message_scores + coalesce(stored.n_message_scores, 0) as n_message_scores,
        case
            when stored.min_message_score is null then added.min_message_score
            when added.min_message_score is null then stored.min_message_score
            when added.min_message_score < stored.min_message_score then added.min_message_score
            else stored.min_message_score
        end as min_message_score,
        case
            when stored.vendor_score is null then added.vendor_score
            when added.vendor_score is null then stored.vendor_score
            when added.vendor_score > stored.vendor_score then added.vendor_score
            else stored.vendor_score
        end as vendor_score,
        added.last_batch_id
    from added
    left join {{ this }} as stored
        on stored.unit_type = added.unit_type and stored.unit_id = added.unit_id
    {%- else %}
    select * from added
    {%- endif %}

),

final as (

    select
        unit_type,
        unit_id,
        customer_messages,
        scored_messages,
        sum_message_score,
        n_message_scores,
        min_message_score,
        vendor_score,
        {{ trim_numeric('coalesce(vendor_score, sum_message_score / nullif(n_message_scores, 0))') }}
            as customer_sentiment,
        {{ trim_numeric('coalesce(vendor_score, min_message_score)') }} as min_customer_sentiment,
        vendor_score is not null as has_vendor_score,
        customer_messages > 0 or vendor_score is not null as has_customer_message,
        last_batch_id
    from units

)

select * from final
