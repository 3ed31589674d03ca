"""One definition of the leg's fields (``legs.leg``) behind every model of a leg."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from lambdas.api.models import LegView
from legs.events import LegData, LegEvent
from legs.leg import ExotelLegFields, LegFields
from legs.models import Leg

MODELS = [LegData, Leg, LegView]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_leg_model_takes_the_shared_fields_from_one_place(model: type[BaseModel]) -> None:
    assert issubclass(model, LegFields)
    for name, shared in LegFields.model_fields.items():
        field = model.model_fields[name]
        assert field.description == shared.description, name
        assert field.annotation in (shared.annotation, str), name  # str: a model that always has it


def test_exotels_two_views_share_exotels_own_fields_too() -> None:
    assert issubclass(LegData, ExotelLegFields) and issubclass(Leg, ExotelLegFields)
    assert not issubclass(LegView, ExotelLegFields)  # the recorder keeps its own times (created_at, ...)


def test_a_fetched_or_recorded_leg_always_has_its_sid() -> None:
    for model in (Leg, LegView):
        assert model.model_fields["leg_sid"].is_required()
        with pytest.raises(ValueError, match="leg_sid"):
            model.model_validate({"state": "ringing"})
    assert LegData.model_validate({}).leg_sid is None  # an event's data may omit it


def test_unknown_fields_still_pass_through_exotels_models() -> None:
    event = LegEvent.model_validate(
        {
            "event_sid": "E1",
            "event_type": "leg_lifecycle_event",
            "event_name": "leg_ringing",
            "event_timestamp": {"seconds": 1, "nanos": 0},
            "data": {"leg_sid": "L1", "brand_new": 1},
        }
    )
    assert event.to_detail()["data"] == {"leg_sid": "L1", "brand_new": 1}
    assert Leg.model_validate({"leg_sid": "L1", "brand_new": 2}).model_dump()["brand_new"] == 2
    assert "brand_new" not in LegView.model_validate({"leg_sid": "L1", "brand_new": 3}).model_dump()
