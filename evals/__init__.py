"""Scenario evals: scripted or goal-driven conversations run against the whole service in-process.

One concept per module:

* `scenario` - the YAML scenario format and its loading (errors name the file and the field)
* `shop`     - the isolated shop of one run (SQLite copy, sandbox gateway, merchant app)
* `browser`  - the shopper's side of the HTTP API and the card frame
* `shopper`  - the simulated shopper of `goal:` scenarios (template or LLM phrasing)
* `capture`  - recording model requests and log records
* `leaks`    - what counts as a secret and where it is found; `sinks` - the pieces searched
* `checks`   - expectations and the invariants every run keeps
* `runner`   - one run of one scenario, judged; `suite` - many runs at once (processes, tasks)
* `metrics`  - pass^k and offline token counts
* `report`   - the JSON and HTML reports; `cli` - `chatpay eval run`
"""
