"""Benchmarks of issue 8: turn overhead beside peer frameworks, tokens, model calls, memory.

`make bench` (or `python -m evals.bench --json var/bench.json`) runs them all; `--quick` for a
try. One module per benchmark: `turn_overhead` (with `peers`, `peer_openai_agents`,
`peer_pydantic_ai`, `peer_shop` and the shared script `purchase`), `tokens`, `memory`,
`throughput` (a hook onto `evals.load`), and `report` for the table and the targets.
"""
