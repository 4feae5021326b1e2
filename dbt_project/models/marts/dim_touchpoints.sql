with touchpoints as (

    select * from {{ ref('touchpoints') }}

),

final as (

    select
        touchpoint_id,
        touchpoint_name,
        channel,
        moment_of_truth,
        owner,
        touchpoint_id like 'unmapped\_%' as is_unmapped
    from touchpoints

)

select * from final
