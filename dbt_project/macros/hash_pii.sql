{% macro hash_pii(expr) -%}
    {#- HMAC-SHA256 (RFC 2104) of a normalised personal value, hex; null stays null.
        Core SQL only (sha256 is built in since PostgreSQL 11; no pgcrypto). The inner and
        outer padded keys come from the session settings cx.hmac_ipad / cx.hmac_opad, which
        cxscore.transform sets through PGOPTIONS from the secret key: no key in the SQL. -#}
    (case when nullif({{ expr }}, '') is null then null else encode(sha256(
        decode(current_setting('cx.hmac_opad'), 'hex')
        || sha256(decode(current_setting('cx.hmac_ipad'), 'hex') || convert_to({{ expr }}, 'UTF8'))
    ), 'hex') end)
{%- endmacro %}
