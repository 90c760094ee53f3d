"""Pairing the keys of two weight files (``diff``, ``compare``), and saying how each pair
was found.

In order: the same key; the same key once ``--map OLD=NEW`` rules rename A's keys; the same
name once ``arg:``/``aux:`` prefixes are dropped (a Module checkpoint against a Gluon file or
an exported graph); the same parameter once Gluon ``save_parameters`` structural keys
(``0.weight``) are read as the names a MODEL gives them. A rule pairs keys only where the
result is one key on each side, so nothing is paired by guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Pattern, Sequence, Tuple

from paraminspect.errors import OptionError

# How a pair was found, as the report words it.
HOW = {
    "key": "same key",
    "map": "--map",
    "role": "arg:/aux: prefix dropped",
    "structure": "save_parameters key read as the MODEL's parameter name",
}


@dataclass(frozen=True)
class KeyPair:
    """Keys of A and B that hold the same array (one side None: on that side only)."""

    a: Optional[str]
    b: Optional[str]
    how: str = "key"  # a key of HOW (irrelevant when one side is None)


def parse_maps(maps: Sequence[str]) -> Tuple[Tuple[Pattern[str], str], ...]:
    """``--map OLD=NEW`` options: OLD a regex matched against a whole key of A, NEW its
    replacement (``\\1`` for groups).

    Raises:
        OptionError: no ``=``, or OLD is not a valid regex.
    """
    out = []
    for text in maps:
        old, sep, new = text.partition("=")
        if not sep or not old:
            raise OptionError(
                f"--map takes OLD=NEW (a regex over A's keys and its replacement), not '{text}'",
                "--map",
            )
        try:
            out.append((re.compile(old), new))
        except re.error as e:
            raise OptionError(f"--map '{text}': '{old}' is not a valid regex ({e})", "--map") from e
    return tuple(out)


def strip_role(key: str) -> str:
    return key[4:] if key.startswith(("arg:", "aux:")) else key


def _mapped(key: str, maps: Sequence[Tuple[Pattern[str], str]]) -> Optional[str]:
    for pattern, new in maps:
        m = pattern.fullmatch(key)
        if m is not None:
            try:
                return m.expand(new)
            except (re.error, IndexError) as e:
                raise OptionError(f"--map: '{new}' does not fit '{pattern.pattern}' ({e})") from e
    return None


def _unique(names: Mapping[str, Optional[str]]) -> Dict[str, str]:
    """name -> key, for the names exactly one key has."""
    seen: Dict[str, List[str]] = {}
    for key, name in names.items():
        if name is not None:
            seen.setdefault(name, []).append(key)
    return {name: keys[0] for name, keys in seen.items() if len(keys) == 1}


def match_keys(
    keys_a: Sequence[str],
    keys_b: Sequence[str],
    maps: Sequence[Tuple[Pattern[str], str]] = (),
    structure: Optional[Mapping[str, str]] = None,
) -> Tuple[KeyPair, ...]:
    """Pair the keys of A and B (see the module docstring).

    Args:
        maps: from :func:`parse_maps`.
        structure: ``save_parameters`` key -> parameter name, from a MODEL.

    Returns:
        The pairs in A's key order, then B's keys found on B only.
    """
    left = [k for k in keys_a]
    right = set(keys_b)
    paired: Dict[str, KeyPair] = {}
    for k in left:
        if k in right:
            paired[k] = KeyPair(k, k, "key")

    def rename(
        how: str, name_a: Dict[str, Optional[str]], name_b: Dict[str, Optional[str]]
    ) -> None:
        free_a = {k: n for k, n in name_a.items() if k not in paired}
        taken_b = {p.b for p in paired.values()}
        free_b = {k: n for k, n in name_b.items() if k not in taken_b}
        by_a, by_b = _unique(free_a), _unique(free_b)
        for name, ka in by_a.items():
            kb = by_b.get(name)
            if kb is not None:
                paired[ka] = KeyPair(ka, kb, how)

    if maps:
        rename("map", {k: _mapped(k, maps) for k in left}, {k: k for k in keys_b})
    rename("role", {k: strip_role(k) for k in left}, {k: strip_role(k) for k in keys_b})
    if structure:

        def named(k: str) -> str:
            bare = strip_role(k)
            return structure.get(bare, bare)

        rename("structure", {k: named(k) for k in left}, {k: named(k) for k in keys_b})
    taken = {p.b for p in paired.values()}
    pairs = [paired.get(k, KeyPair(k, None)) for k in left]
    pairs += [KeyPair(None, k) for k in keys_b if k not in taken]
    return tuple(pairs)


def matching_note(pairs: Sequence[KeyPair]) -> Optional[str]:
    """One line saying how keys were paired, when any pair needed more than the same key."""
    counts: Dict[str, int] = {}
    for p in pairs:
        if p.a is not None and p.b is not None:
            counts[p.how] = counts.get(p.how, 0) + 1
    if set(counts) <= {"key"}:
        return None
    parts = [f"{counts[how]} by {text}" for how, text in HOW.items() if how in counts]
    return "keys matched: " + ", ".join(parts)
