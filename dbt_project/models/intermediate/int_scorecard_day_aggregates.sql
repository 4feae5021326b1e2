{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['period_start', 'touchpoint_id', 'segment'], 'unique': True},
        ],
        pre_hook=["{{ delete_scorecard_scope(ref('int_scorecard_periods_in_scope')) }}"],
        post_hook=["{{ record_build_state(this.name, ref('int_scorecard_build_marks')) }}"],
    )
}}
-- depends_on: {{ ref('int_scorecard_periods_in_scope') }}
-- depends_on: {{ ref('int_scorecard_build_marks') }}

-- Additive counts and sums behind every scorecard metric per touchpoint, business day and
-- segment (`all` plus the customer's segment), for days with at least one interaction,
-- scored survey response or follow-up (due, or its ticket created); int_scorecard_aggregates rolls them up into weeks and months.
-- Stored: an incremental run deletes (pre-hook) and recomputes only what
-- int_scorecard_periods_in_scope names for the day grain: whole days, read from the
-- earliest of them on (a constant bound, so PostgreSQL uses the started_at and
-- submitted_at indexes), and single cells (touchpoint and segment of a day), each read
-- through the (touchpoint_id, started_at / submitted_at) indexes. A day is a
-- business-timezone date, so weeks and months are whole sets of days, across DST changes.
{% set scope_relation = ref('int_scorecard_periods_in_scope') %}
{% set since = scope_start(scope_relation, 'day', whole=true) if is_incremental() else none %}
{% set earliest = scope_start(scope_relation, 'day') if is_incremental() else none %}

with

{% if is_incremental() %}
whole_days as (

    select period_start from {{ scope_relation }}
    where period_grain = 'day' and touchpoint_id is null and not transitions_only

),

cell_days as (

    -- the touchpoint-days holding a cell in scope, as instants (business timezone)
    select distinct
        touchpoint_id,
        cast(period_start as timestamp) at time zone '{{ var("business_timezone") }}'
            as starts_at,
        cast({{ dbt.dateadd('day', 1, 'period_start') }} as timestamp)
            at time zone '{{ var("business_timezone") }}' as ends_at
    from {{ scope_relation }}
    where period_grain = 'day' and touchpoint_id is not null

),
{% endif %}

interactions as (

    {{ scoped_day_facts(ref('fct_interactions'), 'started_at', since) }}

),

responses as (

    {{ scoped_day_facts(ref('fct_survey_responses'), 'submitted_at', since, only='is_scored') }}

),

followups as (

    select * from {{ ref('int_followups_tracked') }}
    where (is_due or is_created)
    {% if is_incremental() %}
        and {% if earliest is none %}false{% else %}(triggered_at >= {{ earliest }} or ticket_created_at >= {{ earliest }}){% endif %}
    {% endif %}

),

interaction_periods as (

    select
        interactions.*,
        'day' as period_grain,
        {{ period_start("'day'", 'interactions.started_at') }} as period_start
    from interactions

),

interaction_aggregates as (

    -- each day's touchpoint once for `all` and once per segment, in one pass
    {% call segment_day_groups('interaction_periods', scope_relation) %}
        count(*) as n_interactions,
        sum(case when moment_class = 'problematic' then 1 else 0 end) as n_problematic,
        count(first_response_seconds) as n_first_response,
        sum(first_response_seconds) as sum_first_response,
        sum(case when was_queued and not is_short_abandon then 1 else 0 end) as n_queued,
        -- was_abandoned already leaves short abandons out (int_interactions_unioned)
        sum(case when was_abandoned then 1 else 0 end) as n_abandoned,
        sum(case when channel = 'phone' then 1 else 0 end) as n_phone,
        sum(case when channel = 'phone' and was_contained then 1 else 0 end) as n_contained,
        count(handle_seconds) as n_handle,
        sum(handle_seconds) as sum_handle,
        sum(case when has_known_customer then 1 else 0 end) as n_known,
        sum(case when has_known_customer and recontact_24h then 1 else 0 end)
            as n_recontact_24h,
        sum(case when is_handled and has_known_customer then 1 else 0 end) as n_handled_known,
        sum(case when first_contact_resolved then 1 else 0 end) as n_fcr,
        sum(case when is_handled then 1 else 0 end) as n_handled,
        sum(case when is_handled and (was_transferred or was_escalated) then 1 else 0 end)
            as n_escalated,
        sum(case when has_known_customer and is_assisted_conversion then 1 else 0 end)
            as n_converted,
        sum(attributed_orders) as n_attributed_orders,
        sum(attributed_refunds) as n_attributed_refunds,
        sum(attributed_amount) as sum_attributed_amount,
        min(attributed_currency_min) as currency_min,
        max(attributed_currency_max) as currency_max,
        sum(case when is_complete then 1 else 0 end) as n_complete,
        sum(case when has_customer_message then 1 else 0 end) as n_sentiment_messaged,
        count(customer_sentiment) as n_sentiment_scored,
        sum(customer_sentiment) as sum_sentiment,
        sum(case when is_negative_sentiment then 1 else 0 end) as n_sentiment_negative
    {% endcall %}

),

response_periods as (

    select
        responses.*,
        'day' as period_grain,
        {{ period_start("'day'", 'responses.submitted_at') }} as period_start
    from responses

),

response_aggregates as (

    -- each day's touchpoint once for `all` and once per segment, in one pass
    {% call segment_day_groups('response_periods', scope_relation) %}
        count(*) as n_responses,
        sum(case when is_linked then 1 else 0 end) as n_linked,
        count(csat) as n_csat,
        sum(case when csat in (4, 5) then 1 else 0 end) as n_csat_satisfied,
        count(nps) as n_nps,
        sum(case when nps >= 9 then 1 else 0 end) as n_promoters,
        sum(case when nps <= 6 then 1 else 0 end) as n_detractors,
        count(ces) as n_ces,
        sum(cast(ces as numeric)) as sum_ces,
        sum(cast(ces as numeric) * cast(ces as numeric)) as sum_ces_squared,
        sum(case when has_comment_message then 1 else 0 end) as n_sentiment_messaged,
        count(comment_sentiment) as n_sentiment_scored,
        sum(comment_sentiment) as sum_sentiment,
        sum(case when is_negative_sentiment then 1 else 0 end) as n_sentiment_negative
    {% endcall %}

),

followup_events as (

    -- closing the loop (signals.md): a due follow-up and its creation count in the day of
    -- the trigger; a created ticket and its SLA in the day the ticket was created
    select
        touchpoint_id,
        segment,
        {{ period_start("'day'", 'triggered_at') }} as period_start,
        1 as is_due,
        case when is_created then 1 else 0 end as is_created,
        0 as is_ticket,
        0 as is_within_sla
    from followups
    where is_due

    union all

    select
        touchpoint_id,
        segment,
        {{ period_start("'day'", 'ticket_created_at') }},
        0,
        0,
        1,
        case when is_solved_within_sla then 1 else 0 end
    from followups
    where is_created and ticket_created_at is not null

),

followup_segments as (

    select * from (
        select followup_events.*, 'all' as segment_key
        from followup_events
        union all
        select followup_events.*, followup_events.segment as segment_key
        from followup_events
        -- as above: a customer segment named `all` is counted in `all` once
        where followup_events.segment is distinct from 'all'
    ) as expanded
    {% if is_incremental() %}
    where {{ in_scorecard_scope(scope_relation, "'day'", 'period_start', 'touchpoint_id', 'segment_key') }}
    {% endif %}

),

followup_aggregates as (

    select
        touchpoint_id,
        'day' as period_grain,
        period_start,
        segment_key as segment,
        sum(is_due) as n_followups_due,
        sum(is_created) as n_followups_created,
        sum(is_ticket) as n_followup_tickets,
        sum(is_within_sla) as n_followup_tickets_within_sla
    from followup_segments
    group by 1, 2, 3, 4

),

keyed as (

    select
        coalesce(i.touchpoint_id, r.touchpoint_id, f.touchpoint_id) as touchpoint_id,
        coalesce(i.period_grain, r.period_grain, f.period_grain) as period_grain,
        coalesce(i.period_start, r.period_start, f.period_start) as period_start,
        coalesce(i.segment, r.segment, f.segment) as segment,
        coalesce(i.n_interactions, 0) as n_interactions,
        coalesce(i.n_problematic, 0) as n_problematic,
        coalesce(i.n_first_response, 0) as n_first_response,
        i.sum_first_response,
        coalesce(i.n_queued, 0) as n_queued,
        coalesce(i.n_abandoned, 0) as n_abandoned,
        coalesce(i.n_phone, 0) as n_phone,
        coalesce(i.n_contained, 0) as n_contained,
        coalesce(i.n_handle, 0) as n_handle,
        i.sum_handle,
        coalesce(i.n_known, 0) as n_known,
        coalesce(i.n_recontact_24h, 0) as n_recontact_24h,
        coalesce(i.n_handled_known, 0) as n_handled_known,
        coalesce(i.n_fcr, 0) as n_fcr,
        coalesce(i.n_handled, 0) as n_handled,
        coalesce(i.n_escalated, 0) as n_escalated,
        coalesce(i.n_converted, 0) as n_converted,
        coalesce(i.n_attributed_orders, 0) as n_attributed_orders,
        coalesce(i.n_attributed_refunds, 0) as n_attributed_refunds,
        i.sum_attributed_amount,
        i.currency_min,
        i.currency_max,
        coalesce(i.n_complete, 0) as n_complete,
        coalesce(r.n_responses, 0) as n_responses,
        coalesce(r.n_linked, 0) as n_linked,
        coalesce(r.n_csat, 0) as n_csat,
        coalesce(r.n_csat_satisfied, 0) as n_csat_satisfied,
        coalesce(r.n_nps, 0) as n_nps,
        coalesce(r.n_promoters, 0) as n_promoters,
        coalesce(r.n_detractors, 0) as n_detractors,
        coalesce(r.n_ces, 0) as n_ces,
        r.sum_ces,
        r.sum_ces_squared,
        -- sentiment units: interactions with customer messages, plus survey comments
        coalesce(i.n_sentiment_messaged, 0) + coalesce(r.n_sentiment_messaged, 0)
            as n_sentiment_messaged,
        coalesce(i.n_sentiment_scored, 0) + coalesce(r.n_sentiment_scored, 0)
            as n_sentiment_scored,
        case when i.sum_sentiment is not null or r.sum_sentiment is not null
            then coalesce(i.sum_sentiment, 0) + coalesce(r.sum_sentiment, 0) end
            as sum_sentiment,
        coalesce(i.n_sentiment_negative, 0) + coalesce(r.n_sentiment_negative, 0)
            as n_sentiment_negative,
        coalesce(f.n_followups_due, 0) as n_followups_due,
        coalesce(f.n_followups_created, 0) as n_followups_created,
        coalesce(f.n_followup_tickets, 0) as n_followup_tickets,
        coalesce(f.n_followup_tickets_within_sla, 0) as n_followup_tickets_within_sla
    from interaction_aggregates as i
    full outer join response_aggregates as r
        on r.touchpoint_id = i.touchpoint_id
        and r.period_grain = i.period_grain
        and r.period_start = i.period_start
        and r.segment = i.segment
    full outer join followup_aggregates as f
        on f.touchpoint_id = coalesce(i.touchpoint_id, r.touchpoint_id)
        and f.period_grain = coalesce(i.period_grain, r.period_grain)
        and f.period_start = coalesce(i.period_start, r.period_start)
        and f.segment = coalesce(i.segment, r.segment)

)

select * from keyed
