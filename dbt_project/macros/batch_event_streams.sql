{% macro batch_event_streams() -%}
    {#- The raw tables whose load batches a build reflects, each with the event time of its
        rows (none: the rows change records, not their time): stg_meta__batch_events lists
        their rows, safe_max_batch_id their greatest batch. -#}
    {{ return([
        {'table': 'zendesk__tickets', 'event_at': 'created_at'},
        {'table': 'zendesk__ticket_metric_sets', 'event_at': 'created_at'},
        {'table': 'zendesk__users', 'event_at': none},
        {'table': 'amazon_connect__contact_records', 'event_at': 'initiation_timestamp'},
        {'table': 'qualtrics__responses', 'event_at': 'end_date'},
        {'table': 'crm__orders', 'event_at': 'ordered_at'},
        {'table': 'sentiment__message_scores', 'event_at': none},
    ]) }}
{%- endmacro %}
