-- Owners hear it (docs/signals.md): the state that makes every owner alert, signal and
-- digest go out once, whatever re-runs, backfills or full refreshes happen. Kept in meta
-- (never rebuilt by dbt, no BI access). Idempotent.

-- One row per alerted series (touchpoint, metric, grain, segment): whether its latest judged
-- period was red. A status alert goes out only when is_red flips; low_sample, no_data and
-- no_target leave the row as it was.
create table if not exists meta.status_alert_state (
    touchpoint_id   text        not null,
    metric          text        not null,
    period_grain    text        not null,
    segment         text        not null default 'all',
    is_red          boolean     not null,
    status          text        not null,
    period_start    date        not null,
    value           numeric,
    changed_at      timestamptz not null default now(),
    judged_at       timestamptz not null default now(),
    last_run_id     text,
    primary key (touchpoint_id, metric, period_grain, segment)
);

-- Every owner message sent (or attempted): status alerts, hourly signals, digests.
-- signal_key (when set) makes a signal or digest go out once.
create table if not exists meta.owner_notifications (
    notification_id bigserial   primary key,
    kind            text        not null,
    owner           text        not null,
    routed          boolean     not null,
    title           text        not null,
    items           integer     not null default 1,
    signal_key      text        unique,
    run_id          text,
    errors          text,
    sent_at         timestamptz not null default now()
);
create index if not exists owner_notifications_kind on meta.owner_notifications (kind, sent_at);

-- Interactions already named in a negative-sentiment signal (each is signalled once).
create table if not exists meta.signalled_interactions (
    interaction_id  text        primary key,
    notification_id bigint      references meta.owner_notifications (notification_id),
    signalled_at    timestamptz not null default now()
);
