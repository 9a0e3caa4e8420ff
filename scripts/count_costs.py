"""Record each model's parameter count and training FLOPs per image: mnist_cnn/reference/costs.json.

The analysis plots accuracy against these costs without building the models (it never imports
Keras); tests/test_models.py rebuilds them and fails if this file drifts from the architectures.

Usage (from the repository root): python scripts/count_costs.py
"""

import sys
from pathlib import Path

from mnist_cnn.files import write_json
from mnist_cnn.models import MODEL_NAMES, build_model, parameter_counts, training_flops_per_image

OUT = Path(__file__).resolve().parents[1] / "mnist_cnn" / "reference" / "costs.json"


def costs():
    """Return {model: {"params": total parameters, "train_flops_per_image": FLOPs}}."""
    return {name: {"params": parameter_counts(build_model(name))[0],
                   "train_flops_per_image": training_flops_per_image(name)}
            for name in MODEL_NAMES}


def main():
    write_json(OUT, costs())
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
