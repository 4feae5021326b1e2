-- Closing the loop (docs/signals.md, "Closing the loop"): the ledger that makes every
-- follow-up ticket exist once. A row is written (status 'pending') BEFORE the Zendesk call;
-- a retried or crashed run finds a pending row and looks the ticket up by external_id
-- before creating one. Kept in meta (never rebuilt by dbt, no BI access). Idempotent.
create table if not exists meta.followups (
    followup_key    text        primary key,           -- '<source>:<id>' of the trigger
    external_id     text        not null unique,       -- 'cxscore-followup:<source>:<id>'
    source          text        not null,              -- qualtrics | zendesk | amazon_connect
    record_id       text        not null,
    reason          text        not null,              -- nps | csat | negative_sentiment
    touchpoint_id   text,
    customer_id     text,
    owner           text,
    status          text        not null
        check (status in ('pending', 'created', 'failed')),
    ticket_id       bigint,
    attempts        integer     not null default 0,
    http_status     integer,
    error           text,
    triggered_at    timestamptz,
    due_at          timestamptz not null,              -- the SLA deadline sent to Zendesk
    created_at      timestamptz,                       -- the ticket's created_at (Zendesk)
    recorded_at     timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    run_id          text
);
create index if not exists followups_customer on meta.followups (customer_id, triggered_at);
create index if not exists followups_updated on meta.followups (updated_at);
create index if not exists followups_ticket on meta.followups (ticket_id);
