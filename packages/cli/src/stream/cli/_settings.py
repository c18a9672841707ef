"""Service settings from the command line: ``stream run app:Service --threshold 0.7``.

A service declares its settings by annotating a ``settings`` attribute with a pydantic
model, usually a pydantic-settings ``BaseSettings`` so environment variables work too::

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="ADDER_")
        increment: float = 1.0

    class Service(core.Service):
        settings: Settings

        @produce("output_data")
        @consume("input_data")
        async def on_input_data(self, msg: DataBasic) -> DataBasic:
            return DataBasic(data=msg.data + self.settings.increment)

Before the service starts, the CLI builds the model from the extra ``--name value``
options (``--max-items`` fills ``max_items``) and sets ``service.settings``. Options win
over the environment (``BaseSettings``), which wins over the model's defaults. A service
without the annotation accepts no extra options.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from stream.cli._errors import CliError, printable, shown
from stream.cli._settings_errors import holds_secret, validation_message

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.fields import FieldInfo

    from stream.core import Service

__all__ = ("SETTINGS_ATTRIBUTE", "apply_settings", "parse_setting_args", "settings_model")

SETTINGS_ATTRIBUTE = "settings"
"""The attribute a service annotates with its settings model, and reads them from."""

_SEQUENCES = (list, tuple, set, frozenset, Sequence)


def settings_model(service_class: type) -> type[BaseModel] | None:
    """The model ``service_class`` annotates its ``settings`` attribute with, or ``None``.

    Raises:
        CliError: the annotation cannot be resolved, or is not a pydantic model.
    """
    from pydantic import BaseModel

    owner = next(
        (
            k
            for k in service_class.__mro__
            if SETTINGS_ATTRIBUTE in vars(k).get("__annotations__", {})
        ),
        None,
    )
    if owner is None:
        return None
    where = f"{owner.__name__}.{SETTINGS_ATTRIBUTE}"
    try:
        annotation = typing.get_type_hints(owner)[SETTINGS_ATTRIBUTE]
    except Exception as error:
        raise CliError(f"cannot resolve the annotation of {where}: {error}") from None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    raise CliError(
        f"{where} is annotated {annotation!r}; annotate it with a pydantic BaseModel or "
        "pydantic-settings BaseSettings subclass to take settings"
    )


def parse_setting_args(args: Sequence[str]) -> dict[str, list[str | None]]:
    """Groups ``--name value``, ``--name=value`` and bare ``--flag`` arguments by name.

    Names keep their dashes; a bare flag's value is ``None``.

    Raises:
        CliError: an argument is not an option (a stray value).
    """
    parsed: dict[str, list[str | None]] = {}
    index = 0
    while index < len(args):
        argument = args[index]
        if not argument.startswith("--") or argument == "--":
            raise CliError(
                f"unexpected argument {shown(argument)}; settings are given as --name value"
            )
        name, equals, value = argument[2:].partition("=")
        if not equals:
            following = args[index + 1] if index + 1 < len(args) else None
            if following is None or following.startswith("--"):
                value_or_flag: str | None = None
            else:
                value_or_flag = following
                index += 1
        else:
            value_or_flag = value
        parsed.setdefault(name, []).append(value_or_flag)
        index += 1
    return parsed


def apply_settings(service: Service, args: Sequence[str], target: str) -> None:
    """Builds the service's settings from ``args`` and sets ``service.settings``.

    Without a ``settings`` annotation, ``args`` must be empty. With one and no ``args``, a
    value the service already has is kept, else the model is built from the environment
    and its defaults.

    Raises:
        CliError: an unknown option, a value the model rejects, or a missing setting.
    """
    model = settings_model(type(service))
    given = parse_setting_args(args)
    if model is None:
        if given:
            name = printable(next(iter(given)), 60)
            raise CliError(
                f"unknown option --{name}: {target} takes no settings (annotate "
                "`settings: YourSettings` on the service class to accept --name value options)"
            )
        return
    existing = getattr(service, SETTINGS_ATTRIBUTE, None)
    if not given and isinstance(existing, model):
        return
    values, options = _values_for(model, given, target)
    if isinstance(existing, model):
        # Keep what the instance was given explicitly; the options change only their names.
        values = {**existing.model_dump(exclude_unset=True, by_alias=True), **values}
    setattr(service, SETTINGS_ATTRIBUTE, _build(model, values, options))


def _values_for(
    model: type[BaseModel], given: Mapping[str, list[str | None]], target: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The values for the model by key, and the option each came from by key and name."""
    fields = model.model_fields
    values: dict[str, Any] = {}
    options: dict[str, str] = {}
    for option, raw in given.items():
        name = option.replace("-", "_")
        negated = name.startswith("no_") and _is_bool(fields.get(name[3:]))
        field_name = name[3:] if negated else name
        field = fields.get(field_name)
        if field is None:
            raise CliError(_unknown(option, fields, target))
        key = field.alias or field_name
        options[key] = options[field_name] = option
        if negated:
            if raw != [None]:
                raise CliError(f"--{option} is a switch; it takes no value")
            values[key] = False
        else:
            values[key] = _convert(option, field, raw)
    return values, options


def _convert(option: str, field: FieldInfo, raw: list[str | None]) -> Any:
    annotation = _strip_optional(field.annotation)
    if _is_bool(field) and raw == [None]:
        return True
    if None in raw:
        raise CliError(f"--{option} needs a value: --{option} VALUE")
    texts = [text for text in raw if text is not None]
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, _SEQUENCES) and origin not in (str, bytes):
        if len(texts) == 1 and texts[0].lstrip().startswith("["):
            return _json(option, field, texts[0])
        return texts  # --tag a --tag b
    if len(texts) > 1:
        raise CliError(f"--{option} is given {len(texts)} times; give it once")
    if _wants_json(origin):
        return _json(option, field, texts[0])
    return texts[0]  # pydantic turns the text into the field's type, or says why not


def _build(model: type[BaseModel], values: dict[str, Any], options: dict[str, str]) -> BaseModel:
    from pydantic import ValidationError

    try:
        # A BaseSettings reads the environment in __init__; model_validate would not.
        return model(**values)
    except ValidationError as error:
        raise CliError(validation_message(error, model, options)) from None


def _unknown(option: str, fields: Mapping[str, FieldInfo], target: str) -> str:
    known = [name.replace("_", "-") for name in fields]
    close = difflib.get_close_matches(option, known, n=1)
    hint = f" (did you mean --{close[0]}?)" if close else ""
    listed = ", ".join(f"--{name}" for name in known) or "none"
    return f"unknown option --{printable(option, 60)}{hint}; the settings of {target} are: {listed}"


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(arguments) == 1:
            return arguments[0]
    return annotation


def _is_bool(field: FieldInfo | None) -> bool:
    return field is not None and _strip_optional(field.annotation) is bool


def _wants_json(origin: Any) -> bool:
    from pydantic import BaseModel

    return isinstance(origin, type) and (issubclass(origin, (dict, BaseModel)) or origin is Mapping)


def _json(option: str, field: FieldInfo, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"at character {error.pos}"
        if not holds_secret(field.annotation):
            where = f"{where} of {shown(text)}"
        raise CliError(f"--{option} expects JSON here: {error.msg} {where}") from None
