with source as (

    select * from {{ source('meta', 'load_batches') }}

),

final as (

    select
        batch_id,
        source as source_system,
        stream,
        status,
        started_at,
        finished_at
    from source

)

select * from final
