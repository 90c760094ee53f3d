"""``--map OLD=NEW``: rename keys before two parameter sets are matched by name.

Parsed once here for every command that matches keys across formats (``compare``; ``diff``
when it reads other formats); the renaming applies to the first side's names, after
``arg:``/``aux:`` prefixes are dropped.
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping

from paraminspect._text import quote
from paraminspect.errors import OptionError

OPTION = "--map"


def parse_key_map(texts: Iterable[str]) -> Dict[str, str]:
    """Every ``--map OLD=NEW`` as ``{OLD: NEW}``.

    Raises:
        OptionError: no ``=``, an empty side, or OLD given twice.
    """
    out: Dict[str, str] = {}
    for text in texts:
        old, sep, new = text.partition("=")
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            raise OptionError(
                f"bad --map {quote(text)}: write OLD=NEW (e.g. --map fc1_weight=fc.weight)",
                OPTION,
            )
        if old in out:
            raise OptionError(f"--map {old}=... given twice; give each name once", OPTION)
        out[old] = new
    return out


def strip_prefix(key: str) -> str:
    """``arg:conv0_weight`` -> ``conv0_weight`` (Module checkpoints prefix their keys)."""
    return key.split(":", 1)[1] if key.startswith(("arg:", "aux:")) else key


def apply_key_map(keys: Iterable[str], key_map: Mapping[str, str]) -> Dict[str, str]:
    """``{original key: the name it is matched by}``: prefix dropped, then renamed."""
    out = {}
    for key in keys:
        bare = strip_prefix(key)
        out[key] = key_map.get(bare, key_map.get(key, bare))
    return out
