"""Check that Debian's Fashion-MNIST files are Zalando's, and where the pins come from.

Zalando publishes MD5s of its four ``.gz`` files; coursenet pins SHA-256s
(``coursenet.mnist.FASHION_FILES``). Debian's ``dataset-fashion-mnist``
recompressed nothing but rewrote each gzip header (no file name, its own
time stamp), so its files have other checksums. This script rebuilds
Zalando's exact files from Debian's: Zalando's header (flags FNAME, the time
stamp below, XFL 0, OS 3 = Unix, the file name) followed by Debian's
unchanged deflate stream and trailer. If the MD5 of each rebuilt file is
Zalando's published one, Debian's data are Zalando's byte for byte, and the
SHA-256 of the rebuilt file is the one to pin for downloads. It also checks
the pinned SHA-256s of the decompressed data, with which coursenet verifies
Debian's copies.

    python scripts/check_fashion_checksums.py [/usr/share/datasets/fashion-mnist]
"""

import gzip
import hashlib
import struct
import sys
from pathlib import Path

from coursenet import mnist

# Zalando's README (https://github.com/zalandoresearch/fashion-mnist)
ZALANDO_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# the time stamps in the headers of Zalando's files (those of the label files
# can be read in the repository's own copies; the image files share them)
ZALANDO_MTIME = {
    "train-images-idx3-ubyte.gz": 1504176606,
    "train-labels-idx1-ubyte.gz": 1504176606,
    "t10k-images-idx3-ubyte.gz": 1504176627,
    "t10k-labels-idx1-ubyte.gz": 1504176627,
}


def rebuild(debian_gz: bytes, name: str) -> bytes:
    """Zalando's file from Debian's: same deflate data, Zalando's header."""
    if debian_gz[:4] != b"\x1f\x8b\x08\x00":
        raise SystemExit(f"{name}: not a plain gzip file (header {debian_gz[:4]!r})")
    header = (b"\x1f\x8b\x08\x08" + struct.pack("<I", ZALANDO_MTIME[name])
              + b"\x00\x03" + name[:-3].encode() + b"\x00")
    return header + debian_gz[10:]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else mnist.DEBIAN_FASHION_DIR
    ok = True
    for name, md5 in ZALANDO_MD5.items():
        debian = (folder / name).read_bytes()
        zalando = rebuild(debian, name)
        raw = gzip.decompress(debian)
        checks = {
            "rebuilt file has Zalando's MD5": hashlib.md5(zalando).hexdigest() == md5,
            "its SHA-256 is pinned": hashlib.sha256(zalando).hexdigest()
            == mnist.FASHION_FILES[name],
            "its size is pinned": len(zalando) == mnist.FASHION_SIZES[name],
            "the data's SHA-256 is pinned": hashlib.sha256(raw).hexdigest()
            == mnist.FASHION_IDX_SHA256[name],
            "the data's size is pinned": len(raw) == mnist.FASHION_IDX_SIZES[name],
        }
        ok &= all(checks.values())
        print(f"{name}: " + ", ".join(f"{k}: {v}" for k, v in checks.items()))
    print("Debian's files are Zalando's; the pins hold" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
