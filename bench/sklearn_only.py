"""Run one of the measured project's commands with its ONNX flavour switched off (the scikit-learn flavour only).

`bench/serving_throughput.py` starts `serve` through it, next to the plain `serve`, to measure what the ONNX flavour
changes; `python bench/sklearn_only.py predict --env dev --input big.parquet --output out.parquet` does the same for
batch inference.
"""

from __future__ import annotations

import sys

from project import module

tracking = module("io.tracking")
load = tracking.Registry.load


def scikit_learn_only(self, version, alias="", *, prefer_onnx=False):
    """``Registry.load`` as if every caller asked for the scikit-learn flavour."""
    return load(self, version, alias)


if __name__ == "__main__":
    tracking.Registry.load = scikit_learn_only
    sys.exit(module("cli").main(sys.argv[1:]))
