{% macro previous_relation(model_name) -%}
    {#- The relation of a model of this project as the previous build left it, or none when it
        does not exist yet. Read without a ref() on purpose: a scope model must see the state
        a downstream model had BEFORE this run rebuilds it, which a ref (a dependency edge the
        other way) cannot express. -#}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name) | first -%}
    {{ return(adapter.get_relation(database=node.database, schema=node.schema,
        identifier=node.alias)) }}
{%- endmacro %}
