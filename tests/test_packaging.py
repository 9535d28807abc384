"""A wheel installed with no extras into a fresh virtualenv serves the demo: what a new user runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from .test_serve import start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
# Each step downloads or builds at worst; generous, yet a hang still fails the test.
STEP_TIMEOUT = 300


def run(*command: str | Path, cwd: Path) -> str:
    # Run away from the checkout: `python -c` puts its working directory first on sys.path.
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT
    )
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout


def test_a_wheel_without_extras_serves_the_demo(tmp_path: Path) -> None:
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "--wheel-dir", tmp_path / "dist", ROOT, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("tracker-*.whl")
    venv = tmp_path / "venv"
    # Without a pip of its own (ensurepip costs ~6 s): this pip installs into it (--python), as
    # plainly as the venv's own would.  Nor is anything byte-compiled (~5 s): Python compiles on import.
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    # Runtime dependencies from the registry (or pip's cache), and nothing of the [test] extra.
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        venv / "bin" / "python",
        "install",
        "-q",
        "--no-compile",
        wheel,
        cwd=tmp_path,
    )
    probe = "import importlib.util as u, tracker.assets as a; print(u.find_spec('pytest') is None, a.asset_root())"
    no_test_extra, assets = run(venv / "bin" / "python", "-c", probe, cwd=tmp_path).split()
    assert no_test_extra == "True"
    assert Path(assets).is_relative_to(venv.resolve())  # js/, templates/, examples/ came in the wheel

    process, base = start_server(tmp_path / "data", "--demo", tracker=[str(venv / "bin" / "tracker")])
    try:
        demo = httpx.get(base + "/demo/")
        script = httpx.get(base + "/t.js")
    finally:
        stop_server(process)
    assert demo.status_code == 200 and demo.headers["content-type"].startswith("text/html")
    assert "/t.js" in demo.text  # the page embeds the beacon, as a customer's site would
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert b"tk_vid" in script.content
