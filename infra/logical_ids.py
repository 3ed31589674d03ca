"""Named constructs that do not change what they hold: the stacks' logical IDs stay those of the first version.

CloudFormation knows a resource by its logical ID, and CDK derives that ID from the construct path.
Moving a table from ``ExotelLegsData/LegState`` to ``ExotelLegsData/Tables/LegState`` would make a
new table and orphan the old one (retained, but no longer used), and the same for every queue,
secret, the bus, the load balancer (a new DNS name) and the REST API (a new URL).

So the stacks are :class:`GroupedStack` and their parts are :class:`Grouping` constructs: a
grouping is a real node of the construct tree (``cdk tree``, cdk-nag paths and acknowledgements see
``ExotelLegsData/Tables/LegState``), but a grouped stack leaves groupings out when it allocates
logical IDs (``Stack.allocateLogicalId``, CDK's documented extension point). Some constructs are
named after another construct's path as well (CDK's ``Names.nodeUniqueId``: SQS event-source
mappings after the queue, security-group rules after the peer group, Lambda permissions, usage-plan
keys); a renamed one would even fail the deploy (Lambda refuses a second mapping of the same queue
and function, EC2 a duplicate rule), so such embedded names are mapped back to their ungrouped form too.

Two resources that end up with the same ID fail the synthesis (``SectionAlreadyContains``).
``tests/infra/test_logical_ids.py`` pins the IDs of every stateful resource and checks
:func:`unique_id` against CDK's own ``Names.uniqueId``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from aws_cdk import CfnElement, Stack
from constructs import Construct, IConstruct

#: Path components CDK leaves out of IDs entirely (``Default``) or out of their readable part (``Resource``).
_HIDDEN = "Default"
_HIDDEN_FROM_HUMAN = "Resource"
_HASH_LEN = 8
_MAX_HUMAN_LEN = 240
_MAX_ID_LEN = 255
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")
#: How every unique id ends: what an id that embeds another construct's name contains.
_HASH = re.compile(r"[0-9A-F]{8}")


class Grouping(Construct):
    """A named part of a :class:`GroupedStack` whose own id is not part of the logical IDs of what it holds."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if not isinstance(stack, GroupedStack):
            raise TypeError(
                f"{self.node.path}: a Grouping must be in a GroupedStack, or its id would change logical IDs"
            )
        stack.grouping_paths.add(self.node.path)


def unique_id(components: list[str]) -> str:
    """CDK's ``makeUniqueId``: readable path + 8 hex digits of the path's MD5 (a single component as is)."""
    components = [c for c in components if c != _HIDDEN]
    if not components:
        raise ValueError("a unique id needs at least one path component")
    if len(components) == 1:
        top_level = _NOT_ALPHANUMERIC.sub("", components[0])
        if len(top_level) <= _MAX_ID_LEN:
            return top_level
    digest = hashlib.md5("/".join(components).encode(), usedforsecurity=False).hexdigest()[:_HASH_LEN].upper()
    readable: list[str] = []
    for component in components:
        if not readable or not readable[-1].endswith(component):
            readable.append(component)
    human = "".join(_NOT_ALPHANUMERIC.sub("", c) for c in readable if c != _HIDDEN_FROM_HUMAN)
    return human[:_MAX_HUMAN_LEN] + digest


def ungrouped(path: str, groupings: set[str], start: int = 0) -> list[str]:
    """The ids of construct ``path`` from the ``start``-th on, without those of groupings.

    A construct path is its ids joined by ``/`` (ids cannot contain ``/``), without the app's own.
    """
    parts = path.split("/")
    return [part for i, part in enumerate(parts) if i >= start and "/".join(parts[: i + 1]) not in groupings]


class _EmbeddedNames:
    """``Names.nodeUniqueId`` of every grouped construct of an app -> the same without the groupings.

    Built on demand, and again when an id holds what looks like a name but no known one (the tree grew since).
    """

    def __init__(self, root: IConstruct) -> None:
        self.root = root
        self.names: dict[str, str] = {}
        self.seen: dict[str, str] = {}  # component id -> its ungrouped form, once known

    def _stacks(self) -> list[GroupedStack]:
        return [child for child in self.root.node.children if isinstance(child, GroupedStack)]

    def _stack_ids(self) -> list[str]:
        return [_NOT_ALPHANUMERIC.sub("", stack.node.id) for stack in self._stacks()]

    def _rebuild(self) -> None:
        stacks = self._stacks()
        groupings = set().union(*(stack.grouping_paths for stack in stacks))
        self.names = {}
        for stack in stacks:
            for construct in stack.node.find_all():
                path = construct.node.path
                if any(path.startswith(f"{grouping}/") for grouping in groupings):
                    self.names[unique_id(path.split("/"))] = unique_id(ungrouped(path, groupings))

    def _replace(self, component: str) -> str | None:
        found = [name for name in self.names if name in component]
        for name in found:
            component = component.replace(name, self.names[name])
        return component if found else None

    def ungrouped(self, component: str) -> str:
        if component in self.seen:
            return self.seen[component]
        if not _HASH.search(component) or not any(stack_id in component for stack_id in self._stack_ids()):
            return component  # names embedded by CDK start with their stack's id and end with a hash
        replaced = self._replace(component)
        if replaced is None:  # a name of a construct added since the last look, or no grouped name at all
            self._rebuild()
            replaced = self._replace(component)
        self.seen[component] = component if replaced is None else replaced
        return self.seen[component]


class GroupedStack(Stack):
    """A stack whose logical IDs are those its resources would have without any :class:`Grouping` on their path."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        #: Paths of the groupings in this stack (registered by :class:`Grouping`).
        self.grouping_paths: set[str] = set()
        self._embedded: _EmbeddedNames | None = None
        self._logical_ids: dict[str, str] = {}  # element path -> logical ID (paths never change)

    def _allocate_logical_id(self, cfn_element: CfnElement) -> str:
        path = cfn_element.node.path
        if path not in self._logical_ids:
            if self._embedded is None:
                self._embedded = _EmbeddedNames(self.node.root)
            components = ungrouped(path, self.grouping_paths, start=len(self.node.path.split("/")))
            self._logical_ids[path] = unique_id([self._embedded.ungrouped(c) for c in components])
        return self._logical_ids[path]
