-- Every survey response with the interaction, customer and touchpoint it belongs to
-- (sources.md), the precedence in one place: the linked interaction wins; else the e-mail
-- match and a valid embedded touchpoint; else unmapped_other. A view: its readers
-- (int_survey_responses_linked for this build's scope, int_followups_due for the
-- closed-loop triggers) filter it, and PostgreSQL applies their filter to the responses
-- before the joins.
with responses as (

    select * from {{ ref('stg_qualtrics__responses') }}

),

interactions as (

    select * from {{ ref('int_interactions_mapped_to_touchpoints') }}

),

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

touchpoints as (

    select * from {{ ref('touchpoints') }}

),

final as (

    select
        responses.*,
        interactions.interaction_id as linked_interaction_id,
        coalesce(interactions.customer_id, by_email.customer_id) as customer_id,
        coalesce(
            interactions.touchpoint_id, touchpoints.touchpoint_id, 'unmapped_other'
        ) as touchpoint_id
    from responses
    left join interactions on interactions.interaction_id = responses.interaction_id
    left join identities as by_email
        on by_email.identity_type = 'email'
        and by_email.identity_hash = responses.customer_email_hash
    left join touchpoints on touchpoints.touchpoint_id = responses.embedded_touchpoint_id

)

select * from final
