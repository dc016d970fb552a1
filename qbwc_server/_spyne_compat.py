"""Spyne 2.14 vendors six 1.14 as ``spyne.util.six``; its ``six.moves`` import hook has no ``find_spec``,
which Python 3.12 requires. Importing this module first points ``spyne.util.six`` at the maintained ``six``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

import six

# The ``six.moves`` modules Spyne 2.14 imports by dotted path (``from spyne.util.six.moves.X import ...``).
# Attribute access (``six.moves.X``) needs no entry here, but the import system looks each dotted name up
# in ``sys.modules``, and the maintained six's own import hook only answers to names starting with ``six.``.
_SPYNE_MOVES: tuple[str, ...] = (
    "moves",
    "moves.collections_abc",
    "moves.http_cookies",
    "moves.urllib",
    "moves.urllib.error",
    "moves.urllib.parse",
    "moves.urllib.request",
)


def get_function_name(func: Callable[..., object]) -> str:
    """Return ``func.__name__``: Spyne's vendored six adds this helper; the maintained six lacks it."""
    return func.__name__


def _register() -> None:
    # Done on every Python, 3.11 included, although the vendored copy still imports there: one code path
    # everywhere, and it keeps the vendored hook (which makes 3.11 emit ImportWarning) out of sys.meta_path.
    # Assigned unconditionally: after a failed ``import spyne`` the alias still replaces the vendored copy.
    if not hasattr(six, "get_function_name"):
        six.get_function_name = get_function_name
    sys.modules["spyne.util.six"] = six
    for name in _SPYNE_MOVES:
        # Goes through six's own hook, so these are the very objects ``six.moves`` hands out.
        sys.modules[f"spyne.util.six.{name}"] = importlib.import_module(f"six.{name}")


_register()
