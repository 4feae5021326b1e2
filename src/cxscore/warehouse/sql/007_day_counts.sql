-- Day counts of the raw tables' checked time columns (docs/quality.md, "Day counts"): what
-- the whole-table templates (freshness, volume_same_weekday, missing_days) read instead of
-- scanning the table on every run. One row per (table, column, business time zone, load
-- batch, business day): the batch's rows with a non-null value on that day and the newest
-- value among them. Written by the checks (cxscore.quality.day_counts), forgotten per batch
-- when a reloaded file deletes raw rows. Internal bookkeeping: no BI access. Idempotent.
create table if not exists quality.day_counts (
    table_name  text        not null,   -- raw.<table>
    column_name text        not null,
    timezone    text        not null,   -- the business time zone the days are in
    batch_id    bigint      not null,
    day         date        not null,
    n           bigint      not null check (n > 0),
    newest      timestamptz not null,
    primary key (table_name, column_name, timezone, batch_id, day)
);
create index if not exists day_counts_batch on quality.day_counts (table_name, batch_id);
revoke all on quality.day_counts from cx_bi_reader;
