"""What is wrong with a rejected setting, said without repeating a secret.

A value a ``SecretStr``, ``SecretBytes`` or ``Secret[...]`` field rejected is never
printed: it could be a password, and the error line ends up in terminals, CI logs and
bug reports. The line says where the value came from instead, the option or the
environment variable, which is what the user needs to find it. Other values are
shown escaped and cut short (see :func:`stream.cli._errors.shown`).
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from stream.cli._errors import printable, shown

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError
    from pydantic.fields import FieldInfo

__all__ = ("holds_secret", "validation_message")

_MESSAGE_LENGTH = 200
_HIDDEN = "***"
# Shorter strings are not searched for in a validator's message: hiding every "a" would
# garble it, and a secret that short is no secret.
_SHORTEST_REDACTED = 4


def holds_secret(annotation: Any) -> bool:
    """Whether a value of type ``annotation`` is or contains a pydantic secret.

    ``SecretStr``, ``SecretBytes`` and ``Secret[...]`` count, also inside ``X | None``,
    ``list[X]`` or ``dict[str, X]``, and in the fields of a nested model.
    """
    return _holds_secret(annotation, set())


def validation_message(
    error: ValidationError, model: type[BaseModel], options: Mapping[str, str]
) -> str:
    """One line for every problem pydantic found building ``model``.

    Args:
        error: What pydantic raised.
        model: The settings model.
        options: The option (without ``--``) each value given on the command line came
            from, by the key it was passed to the model under.
    """
    problems = []
    for item in error.errors():
        location = tuple(item.get("loc", ()))
        if location:
            found = _field(model, location[0])  # by name: an environment alias is no option
            name = found[0] if found is not None else str(location[0])
            option = "--" + printable(name.replace("_", "-"), 60)
        else:  # a model validator's: its input is every value, the secrets among them
            option = f"settings ({model.__name__})"
        path = "".join(f"[{shown(part)}]" for part in location[1:])
        if item.get("type") == "missing":
            problems.append(f"missing setting {option}{path}")
            continue
        value = item.get("input")
        reason = str(item.get("msg"))
        source = _source(model, location, options)
        if holds_secret(_annotation_at(model, location)):
            for text in _strings_in(value):
                reason = reason.replace(text, _HIDDEN)
            where = f"secret from {source}, not shown" if source else "secret, not shown"
            problems.append(
                f"invalid {option}{path} ({where}): {printable(reason, _MESSAGE_LENGTH)}"
            )
        else:
            came = f" (from {source})" if source and not source.startswith("--") else ""
            problems.append(
                f"invalid {option}{path} {shown(value)}{came}: {printable(reason, _MESSAGE_LENGTH)}"
            )
    return "; ".join(problems)


def _holds_secret(annotation: Any, seen: set[type]) -> bool:
    from pydantic import BaseModel, Secret, SecretBytes, SecretStr

    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type):
        if issubclass(origin, Secret | SecretStr | SecretBytes):
            return True
        if issubclass(origin, BaseModel) and origin not in seen:
            seen.add(origin)
            return any(_holds_secret(f.annotation, seen) for f in origin.model_fields.values())
    return any(_holds_secret(argument, seen) for argument in typing.get_args(annotation))


def _annotation_at(model: type[BaseModel], location: Sequence[Any]) -> Any:
    """The annotation of the field at ``location``, or of the nearest model field above it.

    A location pydantic made up (a union member's tag, a list index) ends the walk, so a
    value is judged by the field that holds it: a secret somewhere inside it counts.
    """
    if not location:
        return model
    found = _field(model, location[0])
    if found is None:
        return None
    annotation = found[1].annotation
    for part in location[1:]:
        inner = _model_in(annotation)
        found = _field(inner, part) if inner is not None else None
        if found is None:
            break
        annotation = found[1].annotation
    return annotation


def _model_in(annotation: Any) -> type[BaseModel] | None:
    from pydantic import BaseModel

    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is not None and len(arguments) == 1:
        annotation = arguments[0]  # X | None
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _field(model: type[BaseModel], key: object) -> tuple[str, FieldInfo] | None:
    for name, field in model.model_fields.items():
        if key == name or key in _aliases(field):
            return name, field
    return None


def _aliases(field: FieldInfo) -> list[str]:
    from pydantic import AliasChoices, AliasPath

    found = [field.alias] if field.alias else []
    alias = field.validation_alias
    if isinstance(alias, str):
        found.append(alias)
    elif isinstance(alias, AliasPath):
        found.append(str(alias.path[0]))  # its first step is a str: the key of the input
    elif isinstance(alias, AliasChoices):
        found.extend(c if isinstance(c, str) else str(c.path[0]) for c in alias.choices)
    return found


def _source(model: type[BaseModel], location: Sequence[Any], options: Mapping[str, str]) -> str:
    """``--option`` or ``the environment variable NAME`` the value came from, or ``""``."""
    if not location:
        return ""
    option = options.get(str(location[0]))
    if option is not None:
        return f"--{option}"
    variable = _environment_variable(model, location)
    return f"the environment variable {variable}" if variable else ""


def _environment_variable(model: type[BaseModel], location: Sequence[Any]) -> str | None:
    """The variable pydantic-settings read the value at ``location`` from, if one is set."""
    from pydantic_settings import BaseSettings

    found = _field(model, location[0])
    if not issubclass(model, BaseSettings) or found is None:
        return None
    name, field = found
    config = model.model_config
    prefix = config.get("env_prefix") or ""
    heads = [prefix + name, *(a for alias in _aliases(field) for a in (prefix + alias, alias))]
    delimiter = config.get("env_nested_delimiter")
    nested = [str(part) for part in location[1:]]
    candidates = [
        delimiter.join([head, *nested[:depth]])
        for depth in range(len(nested), 0, -1)
        for head in heads
        if delimiter
    ]
    if config.get("case_sensitive"):
        return next((c for c in [*candidates, *heads] if c in os.environ), None)
    variables = {variable.lower(): variable for variable in os.environ}
    return next(
        (variables[c.lower()] for c in [*candidates, *heads] if c.lower() in variables), None
    )


def _strings_in(value: object) -> Iterator[str]:
    """The strings a rejected value holds, longest first, to hide them in a message."""
    found: set[str] = set()
    _collect(value, found)
    return iter(sorted(found, key=len, reverse=True))


def _collect(value: object, found: set[str]) -> None:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode(errors="replace")
    if isinstance(value, str):
        if len(value) >= _SHORTEST_REDACTED:
            found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():  # not the keys: field names, which a message may name
            _collect(item, found)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _collect(item, found)
