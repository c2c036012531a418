"""Third-party inputs, fetched by upstream URL and sha256 (pooch), mirror first.

``fetch("acvp/SLH-DSA-keyGen-FIPS205/prompt.json")`` returns a local path. It looks in
``$PAPER_REPRO_DATA`` (the project's mirror, ``../shared/data`` under ``make``), then the pooch
cache, then downloads. The registry (``support/data_registry.json``) is built from the mirror's
``MANIFEST.md`` files, so every file has its URL, sha256 and license on record.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from support.paths import PACKAGE_DIR, REPO_ROOT, write_text_atomic

REGISTRY_PATH = PACKAGE_DIR / "data_registry.json"
DATA_ENV = "PAPER_REPRO_DATA"


class DataError(RuntimeError):
    """A data file is unknown, missing or corrupt; the message names the file, mirror path and URL."""


@dataclass(frozen=True)
class DataFile:
    key: str  # "<source>/<file here>"
    url: str | None  # None for files that exist only in the mirror (converted or extracted there)
    sha256: str
    size: int
    license: str


def _registry() -> dict[str, DataFile]:
    raw = json.loads(REGISTRY_PATH.read_text())
    return {k: DataFile(k, **v) for k, v in raw.items()}


def mirror_root() -> Path | None:
    """The local mirror: ``$PAPER_REPRO_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    guess = REPO_ROOT.parent / "shared" / "data"
    return guess if guess.is_dir() else None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(key: str) -> Path:
    """Local path of registered data file ``key``, checked against its sha256."""
    reg = _registry()
    if key not in reg:
        import difflib

        close = difflib.get_close_matches(key, reg, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise DataError(f"unknown data file {key!r}{hint}")
    entry = reg[key]
    mirror = mirror_root()
    mirror_path = mirror / key if mirror else None
    if mirror_path is not None and mirror_path.is_file():
        got = sha256_of(mirror_path)
        if got != entry.sha256:
            raise DataError(f"{key}: mirror copy {mirror_path} is corrupt (sha256 {got[:12]}…, expected "
                            f"{entry.sha256[:12]}…); re-fetch it from {entry.url or 'the project mirror'}")
        return mirror_path
    where = f"mirror path {mirror_path}" if mirror_path else f"no mirror (${DATA_ENV} unset)"
    if entry.url is None:
        raise DataError(f"{key}: not found ({where}); this file exists only in the project mirror, "
                        f"set ${DATA_ENV} to a folder holding it")
    import pooch

    try:
        return Path(pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}",
                                   fname=key.replace("/", "__"), path=pooch.os_cache("paper-repro"),
                                   progressbar=False))
    except Exception as e:  # noqa: BLE001 - network down, 404, hash mismatch
        raise DataError(f"{key}: not found ({where}) and download from {entry.url} failed: "
                        f"{type(e).__name__}: {e}") from None


_ROW = re.compile(r"^\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*(\d+)\s*\|\s*([0-9a-f]{64})\s*\|\s*$")
_UPSTREAM = re.compile(r"Upstream file = (\S+)<upstream path>")


def registry_from_manifests(root: Path) -> dict[str, dict]:
    """Build the registry from the mirror's per-source ``MANIFEST.md`` tables (file, upstream path, bytes, sha256)."""
    licenses = {}
    for line in (root / "MANIFEST.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].endswith("/"):
            licenses[cells[0].rstrip("/")] = cells[2]
    out: dict[str, dict] = {}
    for manifest in sorted(root.glob("*/MANIFEST.md")):
        source = manifest.parent.name
        text = manifest.read_text()
        m = _UPSTREAM.search(text)
        base = m.group(1) if m else None
        for line in text.splitlines():
            row = _ROW.match(line)
            if not row:
                continue
            here, upstream, size, digest = row.groups()
            url = None if (base is None or upstream.startswith("(")) else base + upstream
            out[f"{source}/{here}"] = {"url": url, "sha256": digest, "size": int(size),
                                       "license": licenses.get(source, "see MANIFEST.md")}
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    """``python -m support.data``: rebuild ``support/data_registry.json`` from the mirror's manifests; exit 1
    with one line when there is no mirror or its manifests list no file (the registry is left as it is)."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(prog="python -m support.data", description=(
        f"Rebuild support/{REGISTRY_PATH.name} (URL, sha256, size and license of every third-party "
        f"file) from the MANIFEST.md files of the data mirror: ${DATA_ENV}, else ../shared/data beside the "
        "repository. Run it after adding files to the mirror."))
    ap.parse_args(argv)
    root = mirror_root()
    if root is None or not (root / "MANIFEST.md").is_file():
        where = f"{root} has no MANIFEST.md" if root is not None else f"${DATA_ENV} is unset and no ../shared/data"
        print(f"python -m support.data: no data mirror found ({where}); set ${DATA_ENV} to the mirror folder",
              file=sys.stderr)
        return 1
    registry = registry_from_manifests(root)
    if not registry:
        print(f"python -m support.data: the manifests under {root} list no file; registry left unchanged",
              file=sys.stderr)
        return 1
    text = json.dumps(registry, indent=1) + "\n"
    if REGISTRY_PATH.is_file() and REGISTRY_PATH.read_text() == text:
        print(f"{REGISTRY_PATH} is up to date ({len(registry)} files)")
        return 0
    write_text_atomic(REGISTRY_PATH, text)
    print(f"wrote {REGISTRY_PATH} ({len(registry)} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
