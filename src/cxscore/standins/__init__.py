"""Local stand-ins of the outside world, with the real APIs' shapes: what the demo, the tests
and the benchmarks talk to instead of a vendor account (never used in a deployment).

- :mod:`cxscore.standins.zendesk`: the Zendesk API (incremental ticket and ticket-event
  exports, users, auth, rate limits and fault injection), ``cxscore serve-sources``;
- :mod:`cxscore.standins.zendesk_tickets`: its Tickets API (create, look up by
  ``external_id``) for the closed loop.
"""
