{% macro country_calling_code(country) -%}
    {#- ITU calling code (digits) of an ISO 3166 alpha-2 country; used for E.164 numbers
        written without a country code. -#}
    {%- set codes = {
        'US': '1', 'CA': '1', 'GB': '44', 'IE': '353', 'FR': '33', 'DE': '49', 'AT': '43',
        'CH': '41', 'NL': '31', 'BE': '32', 'LU': '352', 'ES': '34', 'PT': '351', 'IT': '39',
        'DK': '45', 'SE': '46', 'NO': '47', 'FI': '358', 'IS': '354', 'PL': '48', 'CZ': '420',
        'SK': '421', 'HU': '36', 'RO': '40', 'BG': '359', 'GR': '30', 'HR': '385',
        'SI': '386', 'EE': '372', 'LV': '371', 'LT': '370', 'TR': '90', 'IL': '972',
        'AE': '971', 'SA': '966', 'IN': '91', 'CN': '86', 'JP': '81', 'KR': '82',
        'SG': '65', 'HK': '852', 'AU': '61', 'NZ': '64', 'ZA': '27', 'BR': '55', 'MX': '52',
        'AR': '54', 'CL': '56', 'CO': '57'
    } -%}
    {%- set key = (country | string | upper) -%}
    {%- if key not in codes -%}
        {{ exceptions.raise_compiler_error("var default_country=" ~ key ~ " has no calling code in macros/country_calling_code.sql; add it there") }}
    {%- endif -%}
    {{ codes[key] }}
{%- endmacro %}
