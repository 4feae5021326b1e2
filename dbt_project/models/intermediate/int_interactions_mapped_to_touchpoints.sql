{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        indexes=[
            {'columns': ['interaction_id'], 'unique': True},
            {'columns': ['customer_id', 'started_at']},
            {'columns': ['_changed_batch_id']},
        ],
        pre_hook=["{{ delete_rows_in_scope(ref('int_interactions_to_remap'), 'interaction_id', ref('stg_meta__build_marks')) }}"],
        post_hook=[
            "{{ log_removed_records(ref('int_interactions_to_remap'), 'interaction_id', ref('stg_meta__build_marks')) }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), upstream=['stg_zendesk__tickets', 'stg_zendesk__ticket_metric_sets', 'stg_zendesk__users', 'stg_amazon_connect__contact_records']) }}",
        ],
    )
}}
-- depends_on: {{ ref('int_interactions_to_remap') }}

-- The canonical interaction with its customer, segment and touchpoint; the facts, survey
-- links and attribution read it. Incremental by scope: the pre-hook deletes the interactions
-- listed in int_interactions_to_remap and this query inserts them again as they are now
-- (int_interactions_unioned reads only those); _changed_batch_id marks what this build wrote.
-- Touchpoint rules (seed touchpoint_rules): the lowest priority number that matches wins;
-- no match -> unmapped_<channel>. Values compare exactly; match_value '*' = any non-empty
-- value; source_system / channel '*' match anything; match_field '*' always matches.
with interactions as (

    select * from {{ ref('int_interactions_identified') }}

),

rules as (

    select * from {{ ref('touchpoint_rules') }}

),

candidate_matches as (

    select
        interactions.interaction_id,
        rules.touchpoint_id,
        row_number() over (
            partition by interactions.interaction_id
            order by rules.priority asc, rules.touchpoint_id asc
        ) as match_rank
    from interactions
    inner join rules
        on (rules.source_system = '*' or rules.source_system = interactions.source_system)
        and (rules.channel = '*' or rules.channel = interactions.channel)
        and (
            rules.match_field = '*'
            or (rules.match_field = 'tag' and (
                (rules.match_value = '*' and exists (
                    select 1 from unnest(interactions.tags) as t(tag) where coalesce(t.tag, '') <> ''))
                or rules.match_value = any(interactions.tags)))
            or (rules.match_field = 'type' and (
                (rules.match_value = '*' and coalesce(interactions.ticket_type, '') <> '')
                or rules.match_value = interactions.ticket_type))
            or (rules.match_field = 'queue' and (
                (rules.match_value = '*' and coalesce(interactions.queue_name, '') <> '')
                or rules.match_value = interactions.queue_name))
            or (rules.match_field = 'ivr_menu' and (
                (rules.match_value = '*' and coalesce(interactions.ivr_menu, '') <> '')
                or rules.match_value = interactions.ivr_menu))
        )

),

final as (

    select
        interactions.interaction_id,
        interactions.source_system,
        interactions.channel,
        coalesce(candidate_matches.touchpoint_id, 'unmapped_' || interactions.channel)
            as touchpoint_id,
        interactions.customer_id,
        interactions.segment,
        interactions.ticket_type,
        interactions.queue_name,
        interactions.ivr_menu,
        array_to_string(interactions.tags, ',') as tags,
        interactions.first_response_seconds,
        interactions.handle_seconds,
        interactions.reopens,
        interactions.is_handled,
        interactions.was_queued,
        interactions.was_abandoned,
        interactions.is_short_abandon,
        interactions.was_contained,
        interactions.was_transferred,
        interactions.was_escalated,
        interactions.started_at,
        interactions.ended_at,
        {{ changed_batch_id() }} as _changed_batch_id
    from interactions
    left join candidate_matches
        on candidate_matches.interaction_id = interactions.interaction_id
        and candidate_matches.match_rank = 1

)

select * from final
