{% macro row_hash(relation_alias) -%}
    {#- md5 of a whole row's text form: incremental facts rewrite only rows whose hash changed. -#}
    md5(cast({{ relation_alias }} as text))
{%- endmacro %}
