"""What every process kind's settings model shares (pydantic-settings).

Each process kind has one settings model: the bridge (``bridge/config.py``), a function
(``lambdas/shared/config.py``), the simulator (``simulator/config.py``), the devstack
(``devstack/config.py``) and a deployment (``infra/config.py``, read from CDK context). They agree on:

* **Where values come from.** Building a model by hand (``BridgeConfig(port=0)``) uses exactly the
  given values and the defaults, nothing from the environment: a test or a caller is never changed
  by the shell it runs in. ``Model.from_env()`` is the start-up read: the environment (or a given
  mapping), with keyword overrides on top. Other sources plug in the same way (:meth:`SourcedSettings.load`).
* **Blank is unset.** An empty (or whitespace-only) variable counts as unset; values are stripped.
* **Errors name the variable.** Anything wrong is a :class:`ConfigError` with one line per problem,
  each starting with the environment variable (or context key) at fault; a secret's value is never shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, AliasChoices, SecretBytes, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

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


# ---- sources -------------------------------------------------------------------------------------
class BlankIsUnsetEnvSource(EnvSettingsSource):
    """The environment (or ``environ``), stripped, blank values dropped; a field with an alias is read
    only under its alias(es), one without under ``env_prefix`` + its name."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        source: Mapping[str, str | None] = os.environ if self._environ is None else self._environ
        return {
            (name if self.case_sensitive else name.lower()): value.strip()
            for name, value in source.items()
            if value is not None and value.strip()
        }

    def _extract_field_info(
        self, field: FieldInfo, field_name: str, model_config: Mapping[str, Any] | None = None
    ) -> list[tuple[str, str, bool]]:
        # Field names populate a model built by hand; they are not variable names.
        config = {**(model_config or self.config), "validate_by_name": False, "populate_by_name": False}
        return super()._extract_field_info(field, field_name, config)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Without an alias or a prefix a field is not read at all: every variable name is in ``contract.env``.
        if not (field.validation_alias or field.alias or self.env_prefix):
            return None, field_name, False
        return super().get_field_value(field, field_name)


SourceFactory = Callable[[type[BaseSettings]], PydanticBaseSettingsSource]
_SOURCE: ContextVar[SourceFactory | None] = ContextVar("legs_settings_source", default=None)


class SourcedSettings(BaseSettings):
    """A settings model that reads a source only inside :meth:`load`; built by hand it takes what it is given.

    ``subject`` names the configuration in error messages (``invalid <subject>: …``).
    """

    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        validate_default=True,
    )

    subject: ClassVar[str] = "configuration"

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError.listing(type(self).subject, problems(exc, type(self))) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first; then the source :meth:`load` was given, if any (no .env, no secrets dir)."""
        factory = _SOURCE.get()
        return (init_settings,) if factory is None else (init_settings, factory(settings_cls))

    @classmethod
    def load(cls, source: SourceFactory, **overrides: object) -> Self:
        """Validate from ``source(cls)``, ``overrides`` winning; raise :class:`ConfigError`."""
        with _reading(source):
            return cls(**overrides)

    @classmethod
    def source_name(cls, field: str) -> str:
        """What the source calls ``field`` (its first alias, else prefix + name): how errors name it."""
        info = cls.model_fields.get(field)
        if info is None:
            return field
        alias = info.validation_alias or info.alias
        if isinstance(alias, AliasChoices):
            first = alias.choices[0]
            return first if isinstance(first, str) else field
        if isinstance(alias, str):
            return alias
        prefix = cls.model_config.get("env_prefix") or ""
        return f"{prefix}{field.upper()}" if prefix else field

    @classmethod
    def field_for(cls, name: str) -> str | None:
        """The field a source name (an alias, or prefix + name) fills, if any."""
        return next((field for field in cls.model_fields if name in cls.source_names(field)), None)

    @classmethod
    def source_names(cls, field: str) -> tuple[str, ...]:
        info = cls.model_fields[field]
        alias = info.validation_alias or info.alias
        if isinstance(alias, AliasChoices):
            return tuple(choice for choice in alias.choices if isinstance(choice, str))
        return (cls.source_name(field),)


class EnvSettings(SourcedSettings):
    """Settings read from environment variables by :meth:`from_env`."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Self:
        """From ``environ`` (default: ``os.environ``; blank = unset), ``overrides`` winning; or :class:`ConfigError`."""
        return cls.load(lambda settings_cls: BlankIsUnsetEnvSource(settings_cls, environ), **overrides)


@contextmanager
def _reading(source: SourceFactory) -> Iterator[None]:
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


# ---- errors --------------------------------------------------------------------------------------
def problems(exc: ValidationError, model: type[SourcedSettings]) -> list[str]:
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


def _secret(model: type[SourcedSettings], field: str) -> bool:
    info = model.model_fields.get(field)
    if info is None:
        return bool(_SECRET_NAME.search(field))
    annotation = repr(info.annotation)
    return bool(_SECRET_NAME.search(field)) or any(kind.__name__ in annotation for kind in (SecretStr, SecretBytes))
