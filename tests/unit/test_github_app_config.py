"""GitHub App settings: repositories optional with an App, the key only from a file or the environment, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot.config import ConfigError, load_secrets, parse_settings
from bot.config.github import CredentialsError, app_credentials

GUILD = {"guild_id": 1094583495310856262}


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    return {p.path: p.message for p in caught.value.problems}


def test_repositories_are_required_with_a_token_and_optional_with_an_app(tmp_path: Path) -> None:
    (message,) = problems({"discord": GUILD, "github": {}}).values()
    assert "name at least one repository" in message and "[github.app]" in message
    settings = parse_settings({"discord": GUILD, "github": {"app": {"app_id": 12, "private_key_file": "k.pem"}}})
    assert settings.github.repositories == [] and settings.github.app is not None


def test_the_key_itself_is_refused_in_the_file_and_the_right_key_is_suggested() -> None:
    found = problems({"discord": GUILD, "github": {"app": {"app_id": 12, "private_key": "-----BEGIN"}}})
    assert found == {"github.app.private_key": 'unknown key (did you mean "private_key_file"?)'}
    assert "github.app.app_id" in problems({"discord": GUILD, "github": {"app": {"app_id": 0}}})


def test_credentials_come_from_the_key_file(tmp_path: Path, rsa_pem: str) -> None:
    key = tmp_path / "app.pem"
    key.write_text(rsa_pem)
    key.chmod(0o600)
    settings = parse_settings({"discord": GUILD, "github": {"app": {"app_id": 12, "private_key_file": str(key)}}})
    found = app_credentials(settings.github, load_secrets({}))
    assert found is not None and found.app_id == 12 and found.private_key.startswith("-----BEGIN PRIVATE KEY")
    assert "PRIVATE" not in repr(found)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("not a key", "not an unencrypted private key in PEM form"),
        ("ec", "a GitHub App key is an RSA key"),
    ],
)
def test_an_unusable_key_file_is_named_with_its_key(tmp_path: Path, content: str | None, message: str) -> None:
    key = tmp_path / "app.pem"
    if content == "ec":
        key.write_text(_pem(ec.generate_private_key(ec.SECP256R1())))
    elif content is not None:
        key.write_text(content)
    settings = parse_settings({"discord": GUILD, "github": {"app": {"app_id": 12, "private_key_file": str(key)}}})
    with pytest.raises(CredentialsError) as caught:
        app_credentials(settings.github, load_secrets({}))
    assert str(caught.value).startswith("github.app.private_key_file") and message in str(caught.value)


def test_the_environment_can_carry_the_app(rsa_pem: str) -> None:
    settings = parse_settings({"discord": GUILD, "github": {"repositories": ["acme/widget"]}})
    assert app_credentials(settings.github, load_secrets({})) is None
    inline = rsa_pem.replace("\n", "\\n")  # one line, as env files and CI secrets often hold it
    found = app_credentials(settings.github, load_secrets({"GITHUB_APP_ID": "77", "GITHUB_APP_PRIVATE_KEY": inline}))
    assert found is not None and found.app_id == 77
    with pytest.raises(CredentialsError, match="GITHUB_APP_ID: must be the App's numeric id"):
        app_credentials(settings.github, load_secrets({"GITHUB_APP_ID": "vestry"}))
    with pytest.raises(CredentialsError, match="no private key"):
        app_credentials(settings.github, load_secrets({"GITHUB_APP_ID": "77"}))


def test_check_config_checks_the_app_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[discord]\nguild_id = 1094583495310856262\n"
        f'[github.app]\napp_id = 5\nprivate_key_file = "{tmp_path}/none.pem"\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "github.app.private_key_file" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
