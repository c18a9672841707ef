"""Service settings from ``--name value`` options, validated by the service's model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream.cli._errors import CliError
from stream.cli._settings import apply_settings, parse_setting_args, settings_model
from stream.core import Service


class Limits(BaseModel):
    low: int
    high: int


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADDER_")

    increment: float = 1.0
    max_items: int = 10
    tags: list[str] = []
    verbose: bool = False
    limits: Limits | None = None


class Adder(Service):
    settings: Settings


class Plain(Service):
    pass


class Required(BaseModel):
    api_url: str


class NeedsUrl(Service):
    settings: Required


def configured(service_class: type[Service], *args: str) -> Service:
    service = service_class()
    apply_settings(service, args, "app:Service")
    return service


def settings_of(*args: str) -> Settings:
    service = configured(Adder, *args)
    assert isinstance(service, Adder)
    return service.settings


def test_parse_groups_values_by_option() -> None:
    parsed = parse_setting_args(["--a", "1", "--b=2", "--flag", "--a", "3", "--last"])
    assert parsed == {"a": ["1", "3"], "b": ["2"], "flag": [None], "last": [None]}


def test_a_stray_value_is_an_error() -> None:
    with pytest.raises(CliError, match="unexpected argument 'oops'"):
        parse_setting_args(["oops"])


def test_options_fill_the_model_with_its_types() -> None:
    settings = settings_of("--increment", "2.5", "--max-items=3", "--tags", "a", "--tags", "b")
    assert settings == Settings(increment=2.5, max_items=3, tags=["a", "b"])


def test_switches_and_json_values() -> None:
    assert settings_of("--verbose").verbose is True
    assert settings_of("--no-verbose").verbose is False
    assert settings_of("--verbose", "false").verbose is False
    assert settings_of("--tags", '["x", "y"]').tags == ["x", "y"]
    assert settings_of("--limits", '{"low": 1, "high": 2}').limits == Limits(low=1, high=2)


def test_defaults_and_environment_apply_without_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADDER_INCREMENT", "4")
    assert settings_of() == Settings(increment=4.0)
    # An option wins over the environment.
    assert settings_of("--increment", "5").increment == 5.0


def test_an_instance_keeps_what_it_was_given() -> None:
    service = Adder()
    service.settings = Settings(max_items=7)
    apply_settings(service, ["--increment", "2"], "app:service")
    assert service.settings == Settings(max_items=7, increment=2.0)


def test_unknown_option_suggests_the_close_one() -> None:
    with pytest.raises(CliError) as caught:
        settings_of("--incremnt", "2")
    message = str(caught.value)
    assert "unknown option --incremnt (did you mean --increment?)" in message
    assert "--max-items" in message


def test_ill_typed_value_names_option_value_and_reason() -> None:
    with pytest.raises(CliError, match=r"invalid --max-items 'many': Input should be a valid"):
        settings_of("--max-items", "many")


def test_bad_json_is_an_error() -> None:
    with pytest.raises(CliError, match="--limits expects JSON"):
        settings_of("--limits", "{low: 1}")


def test_missing_required_setting() -> None:
    with pytest.raises(CliError, match="missing setting --api-url"):
        configured(NeedsUrl)
    service = configured(NeedsUrl, "--api-url", "http://x")
    assert isinstance(service, NeedsUrl)
    assert service.settings == Required(api_url="http://x")


def test_a_service_without_settings_takes_no_options() -> None:
    configured(Plain)
    with pytest.raises(CliError, match=r"unknown option --x: app:Service takes no settings"):
        configured(Plain, "--x", "1")


def test_repeating_a_single_value_option_is_an_error() -> None:
    with pytest.raises(CliError, match="--increment is given 2 times"):
        settings_of("--increment", "1", "--increment", "2")


def test_value_missing_after_option() -> None:
    with pytest.raises(CliError, match="--increment needs a value"):
        settings_of("--increment")


def test_settings_must_be_a_pydantic_model() -> None:
    class Odd(Service):
        settings: dict[str, str]

    assert settings_model(Adder) is Settings
    with pytest.raises(CliError, match=r"Odd.settings is annotated .*pydantic BaseModel"):
        settings_model(Odd)
