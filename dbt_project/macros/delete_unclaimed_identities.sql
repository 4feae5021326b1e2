{% macro delete_unclaimed_identities(users_relation, marks_relation) -%}
    {#- Post-hook of int_customer_identities_resolved (incremental by key): remove a hash
        whose stored winner no longer holds it. After delete+insert every key in the build's
        scope that some user still holds has its new winner; a key left with the customer of
        a changed user who dropped that phone or e-mail is held by no one now (had another
        user held it, the key would have been recomputed). On a full build (the table kept,
        a changed PII key or default country) every stored key is checked. -#}
    {%- if is_incremental() -%}
        {%- set state = incremental_state([this.name], marks_relation, 'staging_hash') -%}
    delete from {{ this }} as stored
    where not exists (
            select 1 from {{ users_relation }} as u
            where u.customer_id = stored.customer_id
                and stored.identity_hash = case stored.identity_type
                    when 'phone' then u.phone_hash else u.email_hash end
        )
        {%- if not state.full %}
        and stored.customer_id in (
            select customer_id from {{ users_relation }}
            where _changed_batch_id > {{ state.batch_after }}
        )
        {%- endif %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
