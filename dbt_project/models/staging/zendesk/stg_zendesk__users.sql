with source as (

    select * from {{ source('raw', 'zendesk__users') }}

),

versions_ranked as (

    select
        *,
        row_number() over (
            partition by id
            order by updated_at desc nulls last, _batch_id desc
        ) as version_rank
    from source
    where id is not null

),

final as (

    select
        id as user_id,
        'zendesk:' || cast(id as {{ dbt.type_string() }}) as customer_id,
        {{ hash_pii(normalize_email(json_text('payload', 'email'))) }} as email_hash,
        {{ hash_pii(normalize_phone(json_text('payload', 'phone'))) }} as phone_hash,
        coalesce(
            nullif(trim({{ json_text('payload', ['user_fields', 'segment']) }}), ''), 'unknown'
        ) as segment,
        created_at,
        updated_at,
        _batch_id
    from versions_ranked
    where version_rank = 1

)

select * from final
