"""Where the peers find edgeml's datasets, in the order the host's `DataConfig` uses.

California Housing: the folder named by EDGEML_CALIFORNIA_DIR, else EDGEML_DATA_DIR's
california-housing/ (each holding cal_housing.data or cal_housing.data.gz; a named folder
without it is an error), else the copy that ships with the repository,
host/data/cal_housing.data.gz. numpy's loadtxt reads the .gz directly.

Fashion-MNIST: EDGEML_FASHION_MNIST_DIR, else EDGEML_DATA_DIR's fashion-mnist/, else
/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
"""

import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
CALIFORNIA_FILES = ("cal_housing.data", "cal_housing.data.gz")
CALIFORNIA_EMBEDDED = ROOT / "host" / "data" / "cal_housing.data.gz"


def named_dir(own_var, subdir):
    """The folder the user named for a dataset, or None."""
    if os.environ.get(own_var):
        return pathlib.Path(os.environ[own_var])
    if os.environ.get("EDGEML_DATA_DIR"):
        return pathlib.Path(os.environ["EDGEML_DATA_DIR"]) / subdir
    return None


def california_path():
    """The California Housing file edgeml reads."""
    named = named_dir("EDGEML_CALIFORNIA_DIR", "california-housing")
    if named is None:
        return CALIFORNIA_EMBEDDED
    for name in CALIFORNIA_FILES:
        if (named / name).is_file():
            return named / name
    raise SystemExit(f"{' or '.join(CALIFORNIA_FILES)} not found in {named} (the folder you gave)")


def fashion_dir():
    """The Fashion-MNIST folder edgeml reads."""
    named = named_dir("EDGEML_FASHION_MNIST_DIR", "fashion-mnist")
    return named if named is not None else pathlib.Path("/usr/share/datasets/fashion-mnist")
