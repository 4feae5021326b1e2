-- Customer text and its sentiment (signals.md, "Text sources", "Scoring"). Text lives in
-- raw only; the message scores hold no text. Idempotent.

-- Zendesk ticket comments (incremental ticket events export, include=comment_events): one
-- row per comment; the child event plus its parent event's keys in payload.
create table if not exists raw.zendesk__ticket_comments (
    comment_id      bigint,
    ticket_id       bigint,
    event_id        bigint,
    author_id       bigint,
    created_at      timestamptz,
    is_public       boolean,
    payload         jsonb       not null,
    _batch_id       bigint      not null,
    _loaded_at      timestamptz not null default now(),
    _source_cursor  text
);
create index if not exists zendesk__ticket_comments_batch on raw.zendesk__ticket_comments (_batch_id);
create index if not exists zendesk__ticket_comments_comment on raw.zendesk__ticket_comments (comment_id);

-- Amazon Connect Contact Lens output files: one row per file, keyed by the contact id.
create table if not exists raw.amazon_connect__contact_lens (
    contact_id      text,
    channel         text,
    language_code   text,
    is_redacted     boolean     not null,
    analysed_at     timestamptz,
    payload         jsonb       not null,
    _batch_id       bigint      not null,
    _loaded_at      timestamptz not null default now(),
    _source_file    text        not null,
    _line           bigint      not null
);
create index if not exists amazon_connect__contact_lens_batch on raw.amazon_connect__contact_lens (_batch_id);
create index if not exists amazon_connect__contact_lens_file on raw.amazon_connect__contact_lens (_source_file);
create index if not exists amazon_connect__contact_lens_contact on raw.amazon_connect__contact_lens (contact_id);

-- One row per customer message (and per agent comment, not scored): the score, never the
-- text. Written by cxscore.signals.scoring right after the text is loaded; a message that
-- has a row is never scored again.
create table if not exists raw.sentiment__message_scores (
    message_id      text        primary key,
    source          text        not null,
    message_kind    text        not null,
    record_id       text        not null,
    interaction_id  text,
    message_at      timestamptz,
    is_customer     boolean     not null,
    language        text,
    language_source text,
    scorer          text,
    scorer_version  text,
    score           double precision check (score between -1 and 1),
    scoring_words   integer     not null default 0,
    text_chars      integer     not null default 0,
    _batch_id       bigint      not null,
    _scored_at      timestamptz not null default now()
);
create index if not exists sentiment__message_scores_batch on raw.sentiment__message_scores (_batch_id);
create index if not exists sentiment__message_scores_record on raw.sentiment__message_scores (source, record_id);

revoke all on raw.zendesk__ticket_comments, raw.amazon_connect__contact_lens,
    raw.sentiment__message_scores from cx_bi_reader;
