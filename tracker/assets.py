"""Where the files that are not Python live: ``js/``, ``templates/`` and ``examples/``.

The repository keeps them at its top level, beside the package.  An installed wheel has
no such top level, so the wheel carries copies inside the package, under ``_assets/``
(a path rewrite in pyproject); a checkout or an editable install reads the originals.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "_assets"


def asset_root() -> Path:
    """The folder holding ``js/``, ``templates/`` and ``examples/``: the wheel's copy if installed, else the repo's."""
    return _BUNDLED if _BUNDLED.is_dir() else _PACKAGE.parent
