"""Service settings from ``--name value`` options, validated by the service's model."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, SecretBytes, SecretStr, field_validator, model_validator
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


class Database(BaseModel):
    host: str
    password: SecretStr


class Credentials(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_")

    db_password: SecretStr = Field(min_length=8)
    token: SecretBytes | None = Field(default=None, min_length=8)
    database: Database | None = None
    threshold: float = 0.5


class Shop(Service):
    settings: Credentials


def shop_error(*args: str) -> str:
    with pytest.raises(CliError) as caught:
        configured(Shop, *args)
    return str(caught.value)


def test_a_secret_option_is_named_never_shown() -> None:
    message = shop_error("--db-password", "hunter2")
    assert "hunter2" not in message
    assert "invalid --db-password (secret from --db-password, not shown)" in message
    assert "at least 8" in message  # still says what is wrong with it
    message = shop_error("--db-password", "long-enough", "--token", "sesame")
    assert "sesame" not in message
    assert "invalid --token (secret from --token, not shown)" in message


def test_a_secret_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_PASSWORD", "envpw")
    message = shop_error()
    assert "envpw" not in message
    assert (
        "invalid --db-password (secret from the environment variable SHOP_DB_PASSWORD, not shown)"
    ) in message


def test_a_secret_inside_a_model_is_not_shown() -> None:
    hidden = '{"host": "db", "password": 1234567}'
    message = shop_error("--db-password", "long-enough", "--database", hidden)
    assert "1234567" not in message
    assert "invalid --database['password'] (secret from --database, not shown)" in message
    # A model that holds a secret is not shown whole either, nor its malformed JSON.
    message = shop_error("--db-password", "long-enough", "--database", '["db", "pw-in-a-list"]')
    assert "pw-in-a-list" not in message
    message = shop_error("--db-password", "long-enough", "--database", '{"password": "pw-typo}')
    assert "pw-typo" not in message
    assert "--database expects JSON here" in message
    # Its other fields still show what was wrong.
    message = shop_error(
        "--db-password", "long-enough", "--database", '{"host": 7, "password": "pw"}'
    )
    assert "invalid --database['host'] 7: Input should be a valid string" in message


class Checked(BaseSettings):
    api_key: SecretStr

    @field_validator("api_key", mode="before")
    @classmethod
    def known(cls, value: object) -> object:
        raise ValueError(f"{value} is not a key of ours")


class Client(Service):
    settings: Checked


class Paired(BaseSettings):
    user: str = "admin"
    password: SecretStr

    @model_validator(mode="after")
    def differ(self) -> Paired:
        if self.password.get_secret_value() == self.user:
            raise ValueError("the password is the user name")
        return self


class Login(Service):
    settings: Paired


def test_a_validator_message_does_not_repeat_the_secret() -> None:
    with pytest.raises(CliError) as caught:
        configured(Client, "--api-key", "sk-live-1234")
    message = str(caught.value)
    assert "sk-live-1234" not in message
    assert "is not a key of ours" in message
    # A model validator's input is every value, the secret among them.
    with pytest.raises(CliError) as caught:
        configured(Login, "--user", "root", "--password", "root")
    message = str(caught.value)
    assert "root" not in message
    assert "invalid settings (Paired) (secret, not shown): Value error, the password is" in message


def test_shown_values_are_escaped_and_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = "\x1b[2J\x1b[31mred" + "x" * 500 + "\r\nforged line"
    message = shop_error("--db-password", "long-enough", "--threshold", hostile)
    assert message.startswith("invalid --threshold '\\x1b[2J\\x1b[31mredxxx")
    assert not any(character < " " for character in message)  # no raw control character
    shown = message.split("invalid --threshold ", 1)[1].split(": Input should", 1)[0]
    assert len(shown) <= 80
    assert "forged line" not in message
    # A value from the environment says where it came from.
    monkeypatch.setenv("SHOP_THRESHOLD", "high")
    message = shop_error("--db-password", "long-enough")
    assert "invalid --threshold 'high' (from the environment variable SHOP_THRESHOLD)" in message
