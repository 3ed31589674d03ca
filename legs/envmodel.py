"""Settings read from environment variables, on plain pydantic: what a Lambda function's cold start can afford.

:class:`EnvModel` behaves as ``legs.settings.EnvSettings`` does for environment variables (built by hand it
takes exactly what it is given; ``from_env()`` reads the aliases, blank is unset, values stripped, errors name
the variable) without importing pydantic-settings, whose import alone costs about half of ``import boto3``
(docs/PERFORMANCE.md). Its fields are scalars read under their aliases (``validation_alias``, a name or
``AliasChoices``), which is all a function's settings are. The long-running processes (bridge, simulator,
devstack) and the CDK app keep ``legs.settings`` (pydantic-settings, other sources).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Protocol, Self

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, SecretBytes, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from legs.models import GRPC_ENDPOINT


class ConfigError(ValueError):
    """Configuration that cannot work. ``str()`` names the variables at fault, one problem per line."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = list(problems) or [message]
        super().__init__(message)

    @classmethod
    def listing(cls, subject: str, problems: Sequence[str]) -> ConfigError:
        """``invalid <subject>:`` then one indented line per problem."""
        return cls(f"invalid {subject}:\n" + "\n".join(f"  {problem}" for problem in problems), problems)


# ---- value types with messages that make sense after a variable's name ---------------------------
def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value


def _grpc_endpoint(value: str) -> str:
    match = GRPC_ENDPOINT.match(value)
    if not match or not 0 < int(match.group("port")) < 65536:
        raise ValueError(f"must be a gRPC endpoint of the form grpc://host:port, got {value!r}")
    return value


#: ``http://…`` or ``https://…`` (a queue URL, an API base URL, an endpoint override).
HttpUrlText = Annotated[str, AfterValidator(_http_url)]
#: ``grpc://host:port`` (what Exotel pushes leg events to).
GrpcEndpointText = Annotated[str, AfterValidator(_grpc_endpoint)]


# ---- the model ----------------------------------------------------------------------------------
class NamedFields(Protocol):
    """What :func:`problems` needs from a settings model: its fields and how a source names them."""

    @classmethod
    def field_info(cls, field: str) -> FieldInfo | None: ...

    @classmethod
    def field_for(cls, name: str) -> str | None: ...

    @classmethod
    def source_name(cls, field: str) -> str: ...


def alias_names(info: FieldInfo) -> tuple[str, ...]:
    """The variable names a field is read under (its alias, or each of its ``AliasChoices``)."""
    alias = info.validation_alias or info.alias
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    if isinstance(alias, str):
        return (alias,)
    return ()


class EnvModel(BaseModel):
    """Settings from environment variables (see the module doc); ``subject`` names them in error messages."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True, validate_default=True
    )

    subject: ClassVar[str] = "configuration"

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError.listing(type(self).subject, problems(exc, type(self))) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """From ``environ`` (default: ``os.environ``; blank = unset), ``overrides`` winning; or :class:`ConfigError`."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, info in cls.model_fields.items():
            for name in alias_names(info):
                value = source.get(name)
                if value is not None and value.strip():
                    values[field] = value.strip()
                    break
        values.update(overrides)
        return cls(**values)

    @classmethod
    def source_name(cls, field: str) -> str:
        """What the environment calls ``field`` (its first alias): how errors name it."""
        info = cls.model_fields.get(field)
        if info is None:
            return field
        names = alias_names(info)
        return names[0] if names else field

    @classmethod
    def field_for(cls, name: str) -> str | None:
        """The field a variable name fills, if any."""
        return next((field for field in cls.model_fields if name in cls.source_names(field)), None)

    @classmethod
    def source_names(cls, field: str) -> tuple[str, ...]:
        return alias_names(cls.model_fields[field]) or (cls.source_name(field),)

    @classmethod
    def field_info(cls, field: str) -> FieldInfo | None:
        return cls.model_fields.get(field)


# ---- errors --------------------------------------------------------------------------------------
def problems(exc: ValidationError, model: type[NamedFields]) -> list[str]:
    """One line per error: the variable (or context key), pydantic's reason, and the value unless secret."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        if not loc:  # a check across fields: its message names the variables itself
            lines.append(message)
            continue
        field = model.field_for(loc[0]) or loc[0]
        name = ".".join([model.source_name(field), *loc[1:]])
        shown = ""
        if error["type"] != "missing" and not _secret(model, field) and "got " not in message:
            value = error.get("input")
            if isinstance(value, str | int | float | bool) or value is None:
                shown = f" (got {value!r})"
        lines.append(f"{name}: {message}{shown}")
    return lines


_SECRET_NAME = re.compile(r"token|secret|password|api_key", re.IGNORECASE)


def _secret(model: type[NamedFields], field: str) -> bool:
    info = model.field_info(field)
    if info is None:
        return bool(_SECRET_NAME.search(field))
    annotation = repr(info.annotation)
    return bool(_SECRET_NAME.search(field)) or any(kind.__name__ in annotation for kind in (SecretStr, SecretBytes))
