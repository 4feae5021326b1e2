{{
    config(
        unique_key='response_id',
        indexes=[
            {'columns': ['response_id'], 'unique': True},
            {'columns': ['_changed_batch_id']},
            {'columns': ['interaction_id']},
            {'columns': ['customer_email_hash']},
            {'columns': ['_source_file']},
        ],
        post_hook=[
            "{{ delete_rows_of_reloaded_files('response_id', ref('stg_meta__build_marks')) }}",
            "{{ record_build_state(this.name, ref('stg_meta__build_marks'), 'staging_hash') }}",
        ],
    )
}}

-- Incremental (docs/incremental.md, step 1): a run re-stages only the records touched by new
-- load batches; _changed_batch_id tells the intermediate layer which records it (re)wrote.

with latest as (

    {{ staging_latest_versions(source('raw', 'qualtrics__responses'), 'response_id', '_batch_id desc, _source_file desc, _line desc', from_files=true, key_present="nullif(trim(response_id), '') is not null") }}

),

answers as (

    select
        response_id,
        nullif(trim({{ json_text('payload', 'csat') }}), '') as csat_text,
        nullif(trim({{ json_text('payload', 'nps') }}), '') as nps_text,
        nullif(trim({{ json_text('payload', 'ces') }}), '') as ces_text,
        nullif(trim({{ json_text('payload', 'ticket_id') }}), '') as embedded_ticket_id,
        nullif(trim({{ json_text('payload', 'contact_id') }}), '') as embedded_contact_id,
        nullif(trim({{ json_text('payload', 'touchpoint') }}), '') as embedded_touchpoint_id,
        {{ json_text('payload', 'customer_email') }} as customer_email,
        coalesce(nullif(trim({{ json_text('payload', 'comment') }}), ''), '') <> '' as has_comment,
        {{ json_text('payload', 'layout') }} as export_layout,
        {% if var('closed_loop_consent_field') -%}
        nullif(trim({{ json_text('payload', ['columns', var('closed_loop_consent_field')]) }}), '')
        {%- else -%}
        cast(null as {{ dbt.type_string() }})
        {%- endif %} as consent_text,
        trim(finished) in ('1', 'true', 'True', 'TRUE') as is_finished,
        trim(status) as response_status,
        end_date,
        _batch_id,
        _source_file
    from latest

),

final as (

    select
        response_id,
        case
            when embedded_ticket_id is not null then {{ source_key('zendesk', 'embedded_ticket_id') }}
            when embedded_contact_id is not null then {{ source_key('amazon_connect', 'embedded_contact_id') }}
        end as interaction_id,
        embedded_touchpoint_id,
        {{ hash_pii(normalize_email('customer_email')) }} as customer_email_hash,
        export_layout,
        response_status,
        {{ parse_int_in_range('csat_text', 1, 5) }} as csat,
        {{ parse_int_in_range('nps_text', 0, 10) }} as nps,
        {{ parse_int_in_range('ces_text', 1, 7) }} as ces,
        is_finished,
        is_finished and response_status = '0' as is_scored,
        csat_text is not null and {{ parse_int_in_range('csat_text', 1, 5) }} is null
            as is_csat_invalid,
        nps_text is not null and {{ parse_int_in_range('nps_text', 0, 10) }} is null
            as is_nps_invalid,
        ces_text is not null and {{ parse_int_in_range('ces_text', 1, 7) }} is null
            as is_ces_invalid,
        has_comment,
        -- closed loop (signals.md): the consent field's value is truthy; null when no
        -- consent field is configured
        case
            when '{{ var("closed_loop_consent_field") }}' = '' then cast(null as boolean)
            else coalesce(lower(consent_text) in ('1', 'true', 't', 'yes', 'y'), false)
        end as has_followup_consent,
        end_date as submitted_at,
        _batch_id,
        _source_file,
        {{ changed_batch_id() }} as _changed_batch_id
    from answers

)

select * from final
-- a repeat of the version already staged (overlapping exports) is left as it is
where not {{ unchanged_staged_row('final', 'response_id') }}
