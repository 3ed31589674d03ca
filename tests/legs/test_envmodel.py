"""``legs.envmodel.EnvModel`` reads the environment as ``legs.settings.EnvSettings`` does, without pydantic-settings."""

from __future__ import annotations

import pytest
from pydantic import AliasChoices, Field

from legs.envmodel import ConfigError, EnvModel, HttpUrlText
from legs.settings import EnvSettings


class Light(EnvModel):
    subject = "light configuration"
    url: HttpUrlText | None = Field(default=None, validation_alias="X_URL")
    count: int = Field(default=3, ge=1, validation_alias="X_COUNT")
    region: str | None = Field(default=None, validation_alias=AliasChoices("X_REGION", "X_DEFAULT_REGION"))
    token: str | None = Field(default=None, validation_alias="X_TOKEN")


class Heavy(EnvSettings):
    subject = "light configuration"
    url: HttpUrlText | None = Field(default=None, validation_alias="X_URL")
    count: int = Field(default=3, ge=1, validation_alias="X_COUNT")
    region: str | None = Field(default=None, validation_alias=AliasChoices("X_REGION", "X_DEFAULT_REGION"))
    token: str | None = Field(default=None, validation_alias="X_TOKEN")


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"X_URL": " http://a.example ", "X_COUNT": "7"},
        {"X_COUNT": "   ", "X_REGION": ""},  # blank is unset
        {"X_DEFAULT_REGION": "eu-west-1"},
        {"X_REGION": "us-east-1", "X_DEFAULT_REGION": "eu-west-1"},  # the first choice wins
        {"url": "http://not-a-variable", "OTHER": "x"},  # field names are not variable names
    ],
)
def test_same_values_as_pydantic_settings(environ: dict[str, str]) -> None:
    assert Light.from_env(environ).model_dump() == Heavy.from_env(environ).model_dump()


def test_overrides_win_and_built_by_hand_reads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_COUNT", "9")
    assert Light.from_env(count=2).count == 2
    assert Light().count == 3
    assert Light.from_env().count == 9


@pytest.mark.parametrize("environ", [{"X_URL": "ftp://nope", "X_COUNT": "0"}, {"X_COUNT": "many"}])
def test_errors_name_the_variables_like_pydantic_settings(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as light:
        Light.from_env(environ)
    with pytest.raises(ConfigError) as heavy:
        Heavy.from_env(environ)
    assert light.value.problems == heavy.value.problems
    assert all(problem.startswith("X_") for problem in light.value.problems)
