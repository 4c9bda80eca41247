"""Running a suite: every (prompt variant, scenario, repeat), `jobs` at a time, and models by name.

This module only houses the scheduling of runs (`run_suite`) and `ModelByName`, the picklable
model factory of the CLI. A run is CPU-bound Python (the merchant app, the offline model, the
checks), so asyncio concurrency in one process would not use a second core: with more than one
job and a picklable configuration, runs go to worker processes (spawned, each with its own event
loop and log capture). Test models built by a closure cannot cross a process boundary; their runs
go as asyncio tasks in this process.

A script that calls `run_suite` with several jobs needs the usual `if __name__ == "__main__":`
guard, as for any spawned worker process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from agent.model import Model
from evals.capture import LogCapture
from evals.runner import RunResult, SuiteConfig, SuiteResult, Variant, run_scenario
from evals.scenario import LoadedScenario
from evals.shop import DatabaseTemplate

Run = tuple[LoadedScenario, Variant, int]


def _runs(scenarios: Sequence[LoadedScenario],
          config: SuiteConfig) -> list[Run]:
    return [(loaded, variant, attempt) for variant in config.variants for loaded in scenarios
            for attempt in range(1, config.repeat + 1)]


def _picklable(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - anything unpicklable (a lambda, a test model) stays local
        return False
    return True


async def run_suite(scenarios: Sequence[LoadedScenario], config: SuiteConfig,
                    on_result: Callable[[RunResult], None] | None = None) -> SuiteResult:
    """Every (variant, scenario, repeat) run, up to `config.jobs` at a time.

    With more than one job and a picklable configuration (the CLI's), runs go to that many worker
    processes: a run is CPU-bound Python (the app, the offline model, the checks), so asyncio
    concurrency in one process would not use a second core. Otherwise (test models built by a
    closure) they run as concurrent asyncio tasks in this process.
    """
    started = time.perf_counter()
    runs = _runs(scenarios, config)
    async with DatabaseTemplate.create() as template:
        if config.jobs > 1 and _picklable((runs, config)):
            results = await _in_processes(runs, config, template.directory, on_result)
        else:
            results = await _in_tasks(runs, config, template, on_result)
    return SuiteResult(config=config, scenarios=list(scenarios), runs=results,
                       wall_s=round(time.perf_counter() - started, 3))


async def _in_tasks(runs: Sequence[Run], config: SuiteConfig,
                    template: DatabaseTemplate,
                    on_result: Callable[[RunResult], None] | None) -> list[RunResult]:
    limit = asyncio.Semaphore(max(1, config.jobs))
    capture = LogCapture()

    async def guarded(loaded: LoadedScenario, variant: Variant, attempt: int) -> RunResult:
        async with limit:
            result = await run_scenario(loaded, variant, attempt, config, template, capture)
        if on_result is not None:
            on_result(result)
        return result

    with capture.installed():
        return list(await asyncio.gather(*(guarded(*run) for run in runs)))


async def _in_processes(runs: Sequence[Run],
                        config: SuiteConfig, template_dir: Path,
                        on_result: Callable[[RunResult], None] | None) -> list[RunResult]:
    loop = asyncio.get_running_loop()
    # spawn, not fork: forking a process that runs an event loop and holds database connections
    # would copy both into the children.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=config.jobs, mp_context=context) as pool:
        futures = [loop.run_in_executor(pool, run_in_worker, *run, config, template_dir)
                   for run in runs]
        if on_result is not None:
            for future in futures:
                future.add_done_callback(
                    lambda done: on_result(done.result()) if not done.exception() else None)
        return list(await asyncio.gather(*futures))


def run_in_worker(loaded: LoadedScenario, variant: Variant, attempt: int, config: SuiteConfig,
                  template_dir: Path) -> RunResult:
    """One run in a worker process, with its own event loop and log capture."""

    async def main() -> RunResult:
        capture = LogCapture()
        with capture.installed():
            return await run_scenario(loaded, variant, attempt, config,
                                      DatabaseTemplate(template_dir), capture)

    return asyncio.run(main())


@dataclass(frozen=True)
class ModelByName:
    """A picklable model factory: the offline model, or the OpenAI-compatible endpoint.

    Settings come from the environment (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `CHATPAY_*`), read
    when a model is built, so a worker process builds the same model as the parent.
    """

    name: str

    def check(self) -> None:
        """Raise (pydantic ValidationError) when the settings for this model are incomplete."""
        from agent.settings import AgentSettings

        AgentSettings(model=self.name)

    def __call__(self) -> Model:
        from agent.openai_model import create_model
        from agent.settings import AgentSettings

        return create_model(AgentSettings(model=self.name))
