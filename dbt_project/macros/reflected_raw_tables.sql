{% macro reflected_raw_tables() -%}
    {#- The raw tables whose load batches a build reflects (safe_max_batch_id). -#}
    {{ return([
        'zendesk__tickets',
        'zendesk__ticket_metric_sets',
        'zendesk__users',
        'amazon_connect__contact_records',
        'qualtrics__responses',
        'crm__orders',
        'sentiment__message_scores',
    ]) }}
{%- endmacro %}
