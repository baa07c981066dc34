"""Gate time with and without governance: what fairness, SHAP, the audit entry and the model card add to the gate.

Run with `make bench-governance` (a default bake in bench/.work/ with its pipeline run once). In one process, round
after round, it times the gate's original work on @champion (evaluate: scores, metrics, slices, curves, permutation
importance, logging; validate: the registry reads and the verdict) and then each part governance adds (the fairness
report, SHAP of governance.shap_rows rows with the plot, their logging; the fairness verdict, the audit entry, the
card). Each round also times, in fresh interpreters, what the two commands import before any work (the CLI and the
step's module) and the one import governance adds on top: fairlearn and shap, loaded when used. Prints the medians and the ratios as a Markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from project import ROOT, module

PARTS = {
    "evaluate": ("eval_base", "imports", "fairness", "shap", "eval_log"),
    "validate": ("validate_base", "validate_fairness", "audit", "card"),
}


def start_seconds(package: str, step: str, then: str = "") -> list[float]:
    """In a fresh interpreter: seconds to import what ``<package> <step>`` imports (the CLI and the step's module),
    then, if given, seconds to import ``then`` on top of it."""
    code = (
        f"import time; started = time.perf_counter(); import {package}.cli, {package}.pipeline.{step}; "
        "print(time.perf_counter() - started); started = time.perf_counter(); "
        + (f"import {then}; " if then else "")
        + "print(time.perf_counter() - started)"
    )
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return [float(line) for line in answer.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    settings = module("config").load_settings("dev", ROOT, environ={})
    fairness, gate = module("core.fairness"), module("core.gate")
    tracking, card, audit = module("io.tracking"), module("io.card"), module("io.audit")
    evaluate, validate = module("pipeline.evaluate"), module("pipeline.validate")
    spec = module("core.task").task_spec(settings.task)
    holdout_split = module("core.dataset").holdout_split
    registry = tracking.connect(settings)
    champion = registry.version_by_alias(tracking.CHAMPION)
    record = module("pipeline._common").read_record(settings)
    features = module("io.data").read_features(settings)
    model = registry.load(champion).model
    folder = Path(tempfile.mkdtemp())
    times: dict[str, list[float]] = {part: [] for parts in PARTS.values() for part in parts}
    times |= {"eval_start": [], "validate_start": []}

    def clock(part, work, *args, **kwargs):
        started = time.perf_counter()
        out = work(*args, **kwargs)
        times[part].append(time.perf_counter() - started)
        return out

    def original_evaluate():
        train, holdout = holdout_split(settings, features)
        scores = spec.scores(model, holdout[record.inputs])
        result, slices = evaluate.evaluate(settings, spec, scores, holdout)
        pictures = evaluate.plots(settings, spec, model, record, holdout, folder)
        registry.log_to_run(
            champion.run_id,
            metrics={f"holdout_{k}": v for k, v in result.items()},
            records={"evaluation/slices.json": slices.to_dict(orient="records")},
            artifacts=tuple(pictures),
            artifact_dir="evaluation",
        )
        return train, holdout, scores

    def original_validate(current):
        verdict = gate.judge(
            spec,
            settings.validate_,
            has_signature=registry.input_kinds(current.version) is not None,
            tags=current.tags,
            holdout=registry.holdout_metrics(current),
        )
        registry.tag(current.version, {"benchmark_report": verdict.as_json()})

    load = os.getloadavg()
    for _ in range(args.rounds):
        package = module("config").__name__.split(".")[0]
        start, imports = start_seconds(package, "evaluate", then="fairlearn.metrics, shap")
        times["eval_start"].append(start)
        times["imports"].append(imports)
        times["validate_start"].append(start_seconds(package, "validate")[0])
        train, holdout, scores = clock("eval_base", original_evaluate)
        report = clock("fairness", fairness.report, spec, holdout, settings.data.target, scores, settings.governance)
        explained, pictures = clock("shap", evaluate.explanations, settings, model, record, holdout, folder)
        governance = {"window": evaluate.window(settings, train, holdout), "fairness": report.as_dict()}
        clock(
            "eval_log",
            registry.log_to_run,
            champion.run_id,
            records={card.GOVERNANCE_RECORD: {**governance, "explanations": explained}},
            artifacts=tuple(pictures),
            artifact_dir="evaluation",
        )
        current = registry.version(champion.version)
        clock("validate_base", original_validate, current)
        fairness_record = clock("validate_fairness", validate.fairness_of, registry, current)
        fairness.verdict(fairness_record, settings.governance)
        clock("audit", audit.record, registry, "gate", current.version, ROOT, reason="benchmark", detail="benchmark")
        clock("card", card.publish, settings, registry, current.version)

    median = {part: statistics.median(values) for part, values in times.items()}
    threads = os.environ.get("OMP_NUM_THREADS", "all cores")
    print(f"{args.rounds} rounds on {settings.tracking.registered_model} v{champion.version}, medians in seconds")
    print(f"OpenMP threads: {threads}; load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| step | without | with | ratio | what governance adds |\n| --- | ---: | ---: | ---: | --- |")
    totals = [0.0, 0.0]
    for step, (base, *added) in PARTS.items():
        without, with_ = median[base], median[base] + sum(median[part] for part in added)
        totals = [totals[0] + without, totals[1] + with_]
        parts = ", ".join(f"{part} {median[part]:.2f} s" for part in added)
        print(f"| {step} | {without:.2f} s | {with_:.2f} s | {with_ / without:.2f} | {parts} |")
    print(f"| the gate's work | {totals[0]:.2f} s | {totals[1]:.2f} s | {totals[1] / totals[0]:.2f} | |")
    start = median["eval_start"] + median["validate_start"]
    print(
        f"| the gate as two commands | {totals[0] + start:.2f} s | {totals[1] + start:.2f} s | "
        f"{(totals[1] + start) / (totals[0] + start):.2f} | each also imports the project's modules: evaluate "
        f"{median['eval_start']:.2f} s, validate {median['validate_start']:.2f} s |"
    )


if __name__ == "__main__":
    main()
