"""Load generator: simulated shoppers buying at once over a running server's HTTP API.

The package, one concept per module:

* `plans`    - what each shopper does (recipes the offline model understands, method mix, retries)
* `traffic`  - the HTTP client side: Idempotency-Key on every POST, a record of every request
* `shopper`  - one shopper's purchase, start to receipt
* `checks`   - what must hold afterwards (5xx, messages stored once, money agrees with the gateway)
* `report`   - `LoadReport` and its table
* `server`   - start `chatpay serve` for a run (`--serve`), memory of its process tree
* `run`      - `run_load`

`python -m evals.load --help` is the command line.
"""

from evals.load.checks import Check
from evals.load.report import LoadReport
from evals.load.run import run_load, run_load_async

__all__ = ["Check", "LoadReport", "run_load", "run_load_async"]
