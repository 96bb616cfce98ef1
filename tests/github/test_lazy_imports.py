"""PyJWT (and with it ``cryptography``) loads only when GitHub App mode signs a JWT, never in token mode."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.github.lazy import load_on_first_use

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small package that records, in ``sys``, each time its code runs."""
    name = "vestry_lazy_probe"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text(
        "import sys\nsys.vestry_probe_runs = getattr(sys, 'vestry_probe_runs', 0) + 1\n"
        "from .inner import VALUE\n\ndef double(x):\n    return 2 * x\n"
    )
    (tmp_path / name / "inner.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "vestry_probe_runs", 0, raising=False)
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_an_import_statement_does_not_run_the_module_and_the_first_read_does(package: str) -> None:
    assert load_on_first_use(package) is True
    probe = __import__(package)  # what ``import vestry_lazy_probe`` does elsewhere
    assert sys.vestry_probe_runs == 0  # type: ignore[attr-defined]
    assert probe.double(21) == 42 and probe.VALUE == 42
    assert sys.vestry_probe_runs == 1  # type: ignore[attr-defined]
    assert __import__(f"{package}.inner", fromlist=["VALUE"]).VALUE == 42
    assert sys.modules[package] is not probe and sys.modules[package].double is probe.double
    assert sys.vestry_probe_runs == 1  # type: ignore[attr-defined]


def test_a_submodule_import_loads_the_package_first(package: str) -> None:
    load_on_first_use(package)
    inner = __import__(f"{package}.inner", fromlist=["VALUE"])
    assert inner.VALUE == 42 and sys.vestry_probe_runs == 1  # type: ignore[attr-defined]


def test_a_loaded_or_absent_module_is_left_alone(package: str) -> None:
    __import__(package)
    assert load_on_first_use(package) is False
    assert load_on_first_use("vestry_no_such_module") is False
    assert "vestry_no_such_module" not in sys.modules


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_bot_in_token_mode_imports_neither_cryptography_nor_the_optional_heavy_modules() -> None:
    loaded = _run(
        """
        import importlib, pkgutil, sys
        import bot.app, bot.discord.client, cogs
        for module in pkgutil.iter_modules(cogs.__path__):
            importlib.import_module(f"cogs.{module.name}")
        from bot.github.client import GitHubWorker
        worker = GitHubWorker("http://127.0.0.1:9", "a-token", throttle=False)
        worker._create()  # the Github instance with its token, as the worker thread builds it
        heavy = ("cryptography", "matplotlib", "numpy", "jinja2", "graphql", "rich")
        print(",".join(name for name in heavy if name in sys.modules) or "none")
        """
    )
    assert loaded == "none"


def test_github_app_mode_still_signs_its_jwt_with_cryptography() -> None:
    out = _run(
        """
        import sys
        import bot.github.client
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from github import Auth
        import jwt
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        token = Auth.AppAuth(7, pem).create_jwt()
        claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
        print(claims["iss"], type(sys.modules["jwt"]).__module__)
        """
    )
    assert out == "7 builtins"  # the real PyJWT replaced its stand-in once it was used
