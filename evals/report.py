"""The suite report: figures and transcripts as JSON for machines, as one HTML page for people.

This module only houses building, sealing and writing the report. Shape (JSON):

* `summary`: scenarios, runs, passed, failed, pass_rate, completion_rate, pass_hat_k {"1".."K"},
  user_turns, model_calls, prompt_tokens, completion_tokens, tokens_counted_offline, tokenizer,
  leaks, wall_s, model, prompt_hashes {label: sha256}, repeat, jobs;
* `variants[]`: per prompt directory (two for an A/B comparison) its label, directory, hash and
  the same summary over its runs;
* `scenarios[]`: per scenario and variant: name, variant, description, locale, tags, source, passed
  (every run passed), passes, runs, failures, user_turns, model_calls, tokens, order, transcript
  (of the first failing run, else the first), and `attempts[]` with each run's own figures.

Figures: `passed` counts scenarios whose every run passed; `pass_rate` is passed runs / runs;
`completion_rate` is, over runs of scenarios that expect a purchase, the share whose order came out
as expected; turns, calls and tokens are totals over all runs.

Sealing: every string that came from the scenario (what the shopper typed, the description) is
masked as the report is built. `seal` then searches the whole report for every secret of every
scenario; what it finds fails the scenario it belongs to (sink `report`), and the report is masked
again so the file written never holds a secret.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.leaks import Secrets, find_leaks, mask
from evals.metrics import pass_hat_ks, tokenizer_name
from evals.runner import RunResult, SuiteResult
from evals.sinks import mask_entry

Report = dict[str, Any]


def _summary(runs: Sequence[RunResult], repeat: int) -> dict[str, Any]:
    groups: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    for run in runs:
        groups[(run.variant, run.scenario)].append(run)
    outcomes = [(len(group), sum(r.passed for r in group)) for group in groups.values()]
    purchases = [run.completed for run in runs if run.completed is not None]
    return {
        "scenarios": len(groups),
        "runs": len(runs),
        "passed": sum(1 for group in groups.values() if all(r.passed for r in group)),
        "failed": sum(1 for group in groups.values() if not all(r.passed for r in group)),
        "pass_rate": round(sum(r.passed for r in runs) / len(runs), 4) if runs else 0.0,
        "completion_rate": round(sum(purchases) / len(purchases), 4) if purchases else None,
        "pass_hat_k": pass_hat_ks(outcomes, repeat) if outcomes else {},
        "user_turns": sum(r.user_turns for r in runs),
        "model_calls": sum(r.model_calls for r in runs),
        "prompt_tokens": sum(r.prompt_tokens for r in runs),
        "completion_tokens": sum(r.completion_tokens for r in runs),
        "leaks": sum(len(r.leaks) for r in runs),
    }


def _scenario_entry(group: Sequence[RunResult], suite: SuiteResult) -> dict[str, Any]:
    first = group[0]
    loaded = next(s for s in suite.scenarios if s.name == first.scenario)
    shown = next((r for r in group if not r.passed), first)
    failures = [f for r in group for f in
                ([f"run {r.attempt}: {x}" for x in r.failures] if len(group) > 1 else r.failures)]
    return {
        "name": first.scenario,
        "variant": first.variant,
        "description": mask(loaded.scenario.description, first.secrets),
        "locale": loaded.scenario.locale,
        "tags": loaded.scenario.tags,
        "source": str(loaded.source),
        "passed": all(r.passed for r in group),
        "passes": sum(r.passed for r in group),
        "runs": len(group),
        "failures": failures,
        "user_turns": shown.user_turns,
        "model_calls": shown.model_calls,
        "tokens": {"prompt": shown.prompt_tokens, "completion": shown.completion_tokens},
        "order": shown.order,
        "transcript": shown.transcript,
        "attempts": [{"attempt": r.attempt, "passed": r.passed, "failures": r.failures,
                      "user_turns": r.user_turns, "model_calls": r.model_calls,
                      "tokens": {"prompt": r.prompt_tokens, "completion": r.completion_tokens},
                      "order": r.order, "wall_s": r.wall_s} for r in group],
    }


def build_report(suite: SuiteResult) -> Report:
    """The report of a suite (not yet sealed: see `seal`)."""
    config = suite.config
    summary = _summary(suite.runs, config.repeat)
    counted = any(r.tokens_counted for r in suite.runs)
    summary.update({
        "tokens_counted_offline": counted,
        # Loading the vocabulary takes a second: only when something was counted with it.
        "tokenizer": tokenizer_name() if counted else "reported by the model",
        "wall_s": suite.wall_s,
        "model": config.model_name,
        "prompt_hashes": {v.label: v.prompt_hash for v in config.variants},
        "repeat": config.repeat,
        "jobs": config.jobs,
    })
    variants = [{"label": v.label, "prompt_dir": str(v.prompt_dir) if v.prompt_dir else None,
                 "prompt_hash": v.prompt_hash,
                 "summary": _summary([r for r in suite.runs if r.variant == v.label],
                                     config.repeat)}
                for v in config.variants]
    groups: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    for run in suite.runs:
        groups[(run.variant, run.scenario)].append(run)
    scenarios = [_scenario_entry(sorted(group, key=lambda r: r.attempt), suite)
                 for group in groups.values()]
    return {"summary": summary, "variants": variants, "scenarios": scenarios}


def all_secrets(runs: Sequence[RunResult]) -> Secrets:
    total = Secrets()
    for run in runs:
        total = total + run.secrets
    return total


def seal(suite: SuiteResult) -> Report:
    """The report with its own leak check applied: findings fail their scenario, then masking."""
    report = build_report(suite)
    found = False
    for entry in report["scenarios"]:
        text = json.dumps(entry, ensure_ascii=False, default=str)
        for run in suite.runs:
            if run.scenario != entry["name"] or run.variant != entry["variant"]:
                continue
            for leak in find_leaks(run.secrets, "report", f"scenarios[{entry['name']}]", text):
                run.leaks.append(leak)
                run.fail(f"leak: {leak.describe()}")
                found = True
    rest = json.dumps({k: v for k, v in report.items() if k != "scenarios"}, ensure_ascii=False)
    for run in suite.runs:
        for leak in find_leaks(run.secrets, "report", "summary", rest):
            run.leaks.append(leak)
            run.fail(f"leak: {leak.describe()}")
            found = True
    secrets = all_secrets(suite.runs)
    if found:
        report = build_report(suite)
    sealed: Report = mask_entry(report, secrets)
    return sealed


def report_json(report: Report) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n"


def write_reports(report: Report, secrets: Secrets, json_path: Path | None,
                  html_path: Path | None) -> list[str]:
    """Write the files asked for; returns problems (a secret found in the written text)."""
    problems: list[str] = []
    outputs: list[tuple[Path, str]] = []
    if json_path is not None:
        outputs.append((json_path, report_json(report)))
    if html_path is not None:
        outputs.append((html_path, render_html(report)))
    for path, text in outputs:
        leaks = find_leaks(secrets, "report", str(path), text)
        if leaks:  # sealing should make this impossible; never write a secret regardless
            problems += [leak.describe() for leak in leaks]
            text = mask(text, secrets)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return problems


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f;max-width:1200px}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f6}.pass{color:#137333;font-weight:600}
.fail{color:#b3261e;font-weight:600}.chat{border-left:3px solid #ddd;padding-left:1rem}
.msg{margin:.4rem 0;padding:.4rem .6rem;border-radius:8px;max-width:80%;white-space:pre-wrap}
.shopper{background:#e8f0fe;margin-left:auto}.assistant{background:#f1f3f4}
.system,.gateway{background:#fff4e5;font-size:12px}.widget{background:#fafafa;border:1px dashed
#bbb;font-size:12px}.k{color:#666;font-size:11px;text-transform:uppercase}
details{margin:.5rem 0}code{font-size:12px}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _yen(value: object) -> str:
    return f"¥{value:,}" if isinstance(value, int) else _e(value)


def _widget_html(widget: dict[str, Any]) -> str:
    kind = str(widget.get("kind", ""))
    body = ""
    if kind == "product_list":
        body = "<br>".join(f"{_e(p.get('sku'))} — {_e(p.get('name'))} {_yen(p.get('price'))}"
                           for p in widget.get("products", []))
    elif kind in ("cart", "confirm", "receipt"):
        lines = "<br>".join(f"{_e(li.get('quantity'))} × {_e(li.get('name', li.get('sku')))} "
                            f"{_yen(li.get('line_total'))}" for li in widget.get("lines", []))
        extra = ""
        if kind == "confirm":
            extra = f" · {_e(widget.get('payment_method'))} · Pay button"
        if kind == "receipt":
            extra = f" · order {_e(widget.get('order_id'))} {_e(widget.get('status'))}"
        body = f"{lines}<br>total {_yen(widget.get('total'))}{extra}"
    elif kind == "payment_methods":
        body = ", ".join(f"{_e(m.get('method'))} (fee {_yen(m.get('fee'))}"
                         f"{'' if m.get('available') else ', unavailable'})"
                         for m in widget.get("methods", []))
    elif kind == "address_form":
        errors = widget.get("errors") or {}
        body = "errors: " + _e(errors) if errors else "empty form" if not widget.get(
            "fields") else "prefilled"
    elif kind == "konbini_slip":
        body = (f"{_e(widget.get('store_chain'))} payment no. {_e(widget.get('payment_number'))}"
                f", confirmation {_e(widget.get('confirmation_number'))}, by "
                f"{_e(widget.get('deadline'))}, {_yen(widget.get('total'))}")
    elif kind == "quick_replies":
        body = " ".join(f"[{_e(o.get('label'))}]" for o in widget.get("options", []))
    elif kind == "card_form":
        body = "secure card frame from the gateway"
    elif kind == "threeds_challenge":
        body = "3-D Secure challenge"
    raw = _e(json.dumps(widget, ensure_ascii=False, indent=1))
    return (f'<div class="msg widget"><span class="k">{_e(kind)}</span><br>{body}'
            f"<details><summary>data</summary><pre><code>{raw}</code></pre></details></div>")


def _entry_html(entry: dict[str, Any]) -> str:
    role = str(entry.get("role", ""))
    if entry.get("type") == "widget":
        return _widget_html(entry.get("widget") or {})
    if entry.get("type") == "action":
        text = "tapped: " + json.dumps(entry.get("action"), ensure_ascii=False)
    elif entry.get("type") == "error":
        text = f"HTTP {entry.get('status')} {entry.get('code')}: {entry.get('text')}"
    else:
        text = str(entry.get("text", ""))
    return f'<div class="msg {_e(role)}"><span class="k">{_e(role)}</span><br>{_e(text)}</div>'


def _summary_rows(summary: dict[str, Any]) -> str:
    return "".join(f"<tr><th>{_e(key)}</th><td>{_e(json.dumps(value, ensure_ascii=False))}</td>"
                   "</tr>" for key, value in summary.items())


def _variants_html(report: Report) -> str:
    """The prompt variants side by side, and the scenarios whose outcome differs between them."""
    variants = report.get("variants", [])
    if len(variants) < 2:
        return ""
    heads = "".join(f"<th>{_e(v['label'])}<br><code>{_e(v['prompt_hash'][:12])}</code></th>"
                    for v in variants)
    keys = ["passed", "pass_rate", "completion_rate", "pass_hat_k", "user_turns", "model_calls",
            "prompt_tokens", "completion_tokens", "leaks"]
    figures = "".join(
        f"<tr><th>{_e(k)}</th>" + "".join(
            f"<td>{_e(json.dumps(v['summary'].get(k), ensure_ascii=False))}</td>"
            for v in variants) + "</tr>" for k in keys)
    outcome: dict[str, dict[str, bool]] = defaultdict(dict)
    for scenario in report["scenarios"]:
        outcome[scenario["name"]][scenario["variant"]] = scenario["passed"]
    differ = "".join(
        f"<tr><td>{_e(name)}</td>" + "".join(
            f"<td class='{'pass' if got.get(v['label']) else 'fail'}'>"
            f"{'pass' if got.get(v['label']) else 'FAIL'}</td>" for v in variants) + "</tr>"
        for name, got in outcome.items() if len(set(got.values())) > 1)
    html_text = f"<h2>Prompt variants</h2><table><tr><th></th>{heads}</tr>{figures}</table>"
    if differ:
        html_text += (f"<h3>Scenarios where the variants differ</h3><table><tr><th>scenario</th>"
                      f"{heads}</tr>{differ}</table>")
    return html_text


def _scenario_table(report: Report) -> str:
    rows = []
    for index, s in enumerate(report["scenarios"]):
        status = ("<span class='pass'>pass</span>" if s["passed"]
                  else "<span class='fail'>FAIL</span>")
        order = s.get("order") or {}
        order_text = (f"{order.get('status')} {order.get('payment_method')} "
                      f"{_yen(order.get('total'))}" if order else "none")
        rows.append(
            f"<tr><td><a href='#s{index}'>{_e(s['name'])}</a></td><td>{_e(s['variant'])}</td>"
            f"<td>{_e(s['locale'])}</td><td>{status} {s['passes']}/{s['runs']}</td>"
            f"<td>{_e(s['user_turns'])}</td><td>{_e(s['model_calls'])}</td>"
            f"<td>{_e(s['tokens']['prompt'])}/{_e(s['tokens']['completion'])}</td>"
            f"<td>{_e(order_text)}</td><td>{'<br>'.join(_e(f) for f in s['failures'])}</td></tr>")
    return ("<h2>Scenarios</h2><table><tr><th>scenario</th><th>variant</th><th>locale</th>"
            "<th>result</th><th>turns</th><th>model calls</th><th>tokens (prompt/completion)"
            "</th><th>order</th><th>failures</th></tr>" + "".join(rows) + "</table>")


def _transcripts(report: Report) -> str:
    parts = ["<h2>Transcripts</h2>"]
    for index, s in enumerate(report["scenarios"]):
        status = "pass" if s["passed"] else "FAIL"
        chat = "".join(_entry_html(entry) for entry in s.get("transcript", []))
        failures = "".join(f"<li>{_e(f)}</li>" for f in s["failures"])
        parts.append(
            f"<details id='s{index}' {'open' if not s['passed'] else ''}><summary><b>"
            f"{_e(s['name'])}</b> [{_e(s['variant'])}] — <span class='{status.lower()}'>"
            f"{status}</span> — {_e(s['description'])}</summary>"
            f"{'<ul>' + failures + '</ul>' if failures else ''}"
            f"<div class='chat'>{chat}</div></details>")
    return "".join(parts)


def render_html(report: Report) -> str:
    """One self-contained page: summary, variants side by side, per-scenario table, transcripts."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>chatpay evals</title>"
            f"<style>{_CSS}</style></head><body><h1>chatpay eval report</h1>"
            f"<h2>Summary</h2><table>{_summary_rows(report['summary'])}</table>"
            f"{_variants_html(report)}{_scenario_table(report)}{_transcripts(report)}"
            "</body></html>\n")
