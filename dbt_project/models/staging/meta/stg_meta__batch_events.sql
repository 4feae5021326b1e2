-- Event times of every raw row with its load batch: the incremental scorecard reads the
-- rows of batches it has not reflected yet (a filter on _batch_id uses the batch indexes).
-- The tables: macro batch_event_streams (sentiment scores change interactions' sentiment,
-- not their time: the facts carry it on; users change identities, not event times).
{% for stream in batch_event_streams() %}
select
    '{{ stream.table }}' as stream,
    _batch_id,
    {% if stream.event_at %}{{ stream.event_at }}{% else %}cast(null as timestamptz){% endif %} as event_at
from {{ source('raw', stream.table) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
