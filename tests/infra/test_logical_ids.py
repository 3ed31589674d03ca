"""Named constructs without new logical IDs: the long-lived resources keep the IDs of the first version.

``kept_logical_ids.py`` says why the list is pinned. The grouping mechanism itself
(``infra/logical_ids.py``) is checked against CDK's own naming on the synthesized app and on small
apps with and without groupings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Names, Stack, Token
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contract.bus import DEFAULT_SOURCE
from infra.logical_ids import GroupedStack, Grouping, unique_id
from infra.schemas import load_schemas
from tests.infra.conftest import FULL_CONTEXT, Assembly, FullSynth
from tests.infra.kept_logical_ids import KEPT, KEPT_TYPES, OPTIONAL, SCHEMA_TYPE

pytestmark = pytest.mark.infra
PREFIX = "ExotelLegs"


def _kept(template: dict[str, Any]) -> dict[str, str]:
    return {k: v["Type"] for k, v in template["Resources"].items() if v["Type"] in KEPT_TYPES}


@pytest.mark.parametrize("which", ["full", "default"])
@pytest.mark.parametrize("suffix", sorted(KEPT))
def test_long_lived_resources_keep_their_logical_ids(both: dict[str, Assembly], which: str, suffix: str) -> None:
    expected = {k: t for k, t in KEPT[suffix].items() if which == "full" or k not in OPTIONAL}
    found = _kept(both[which].templates[f"{PREFIX}{suffix}"])
    assert found == expected, (
        "a long-lived resource got a new logical ID (CloudFormation would replace it) or a new one is not pinned "
        "in tests/infra/kept_logical_ids.py"
    )


@pytest.mark.parametrize("which", ["full", "default"])
def test_schemas_keep_their_logical_ids(both: dict[str, Assembly], which: str) -> None:
    """``Schema<i>`` is the i-th schema of ``load_schemas``."""
    source = FULL_CONTEXT["event_source"] if which == "full" else DEFAULT_SOURCE
    resources = both[which].resources(f"{PREFIX}Data", SCHEMA_TYPE)
    found = {logical_id: r["Properties"]["SchemaName"] for logical_id, r in resources.items()}
    assert found == {f"Schema{i}": schema.name for i, schema in enumerate(load_schemas(source))}


def test_unique_id_is_cdks_own(full: FullSynth) -> None:
    """:func:`unique_id` gives what CDK's ``Names.uniqueId`` gives, for every construct of the synthesized app."""
    constructs = [c for c in full.deployment.app.node.find_all() if c.node.scopes[1:]]
    assert len(constructs) > 300
    checked = 0
    for construct in constructs:
        path = [scope.node.id for scope in construct.node.scopes[1:]]
        if any(Token.is_unresolved(part) for part in path):
            continue
        assert unique_id(path) == Names.unique_id(construct), construct.node.path
        checked += 1
    assert checked > 300


def _queue_and_consumer(stack_type: type[Stack], group: type[Construct] | None) -> dict[str, list[str]]:
    """A queue (in ``group`` or the stack itself) and, in another stack, a function it triggers: logical IDs."""
    app = App()
    data = stack_type(app, "Data")
    queue = sqs.Queue(group(data, "Queues") if group else data, "Work", enforce_ssl=True)
    consumers = stack_type(app, "Consumers")
    function = lambda_.Function(
        group(consumers, "Reactors") if group else consumers,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    function.add_event_source(sources.SqsEventSource(queue))
    assembly = app.synth()
    return {name: sorted(assembly.get_stack_by_name(name).template["Resources"]) for name in ("Data", "Consumers")}


def test_groupings_leave_logical_ids_as_they_were() -> None:
    """Control first: plain constructs change every ID below them; groupings change none, not even the
    event-source mapping named after the queue's path in the other stack."""
    flat = _queue_and_consumer(Stack, None)
    assert any("SqsEventSourceData" in logical_id for logical_id in flat["Consumers"])
    assert _queue_and_consumer(Stack, Construct) != flat
    assert _queue_and_consumer(GroupedStack, Grouping) == flat


def test_two_resources_with_one_id_fail_the_synthesis(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = GroupedStack(app, "Twice")
    sqs.Queue(Grouping(stack, "A"), "Same")
    sqs.Queue(Grouping(stack, "B"), "Same")
    with pytest.raises(RuntimeError, match="already contains"):
        app.synth()


def test_a_grouping_outside_a_grouped_stack_is_refused() -> None:
    """In a plain stack its id would silently become part of every logical ID below it."""
    with pytest.raises(TypeError, match="GroupedStack"):
        Grouping(Stack(App(), "Plain"), "Tables")
