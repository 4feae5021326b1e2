-- One row per customer message score (signals.md, "Scoring"): the score written at load
-- time by cxscore.signals.scoring, never the text (raw.sentiment__message_scores has none).
-- Agents' and bots' Zendesk comments (is_customer = false) are not customer messages. The
-- score is numeric here (exact arithmetic from here on, scorecard.md).
with source as (

    select * from {{ source('raw', 'sentiment__message_scores') }}

),

final as (

    select
        message_id,
        case when message_kind = 'survey_comment' then record_id end as response_id,
        interaction_id,
        source as source_system,
        message_kind,
        language,
        language_source,
        scorer,
        scorer_version,
        cast(score as numeric) as score,
        scoring_words,
        text_chars,
        coalesce(scorer = 'vendor', false) as is_vendor_score,
        score is not null as is_scored,
        message_at,
        _batch_id
    from source
    where is_customer

)

select * from final
