"""The README stays true: every setting is documented, and CI runs the README's commands."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from authserver.settings import ENV_PREFIX
from authserver.settings import NESTED_DELIMITER
from authserver.settings import ResourceServerSettings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _variables() -> list[str]:
    names = []
    # The resource-server settings are a superset of the authorization server's.
    for name, field in ResourceServerSettings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += [
                f"{ENV_PREFIX}{name.upper()}{NESTED_DELIMITER}{inner.upper()}"
                for inner in annotation.model_fields
            ]
        else:
            names.append(f"{ENV_PREFIX}{name.upper()}")
    return names


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [name for name in _variables() if f"`{name}`" not in README]
    assert missing == []


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_command test-command" in ci
    assert "<!-- test-command:start -->" in README
    assert "<!-- run-command:start -->" in README


def test_the_readme_tpp_line_and_url_match_the_demo_client() -> None:
    """The newcomer's second command starts examples/tpp on the demo client's callback."""
    from authserver.cli.demo import DEMO_REDIRECT_URI

    block = README.split("<!-- tpp-command:start -->")[1].split("<!-- tpp-command:end -->")[0]
    assert ".venv/bin/python examples/tpp/app.py" in block
    assert (ROOT / "examples" / "tpp" / "app.py").is_file()
    start_url = DEMO_REDIRECT_URI.removesuffix("callback")
    assert f"open **{start_url}**" in README
