"""Customer-shaped service definitions (tests/support/protos/) for the bring-your-own-proto tests.

Each :class:`Shape` says how the bridge is told about it (``BRIDGE_PROTO``/``BRIDGE_RPC``, the same
values the simulator takes as ``SIM_PUSH_PROTO``/``SIM_PUSH_RPC``) and which sample events it can
carry without loss (a typed ``data`` message has no room for a bridge's fields).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.samples import ALL_SAMPLES, SAY_COMPLETED, SEED_EVENTS

PROTOS = Path(__file__).resolve().parent / "protos"


@dataclass(frozen=True)
class Shape:
    name: str
    proto: Path
    rpc: str | None
    service: str
    samples: tuple[dict, ...]
    descriptor_set: bool = False

    def path(self, workdir: Path) -> Path:
        """The file to give the bridge: the .proto itself, or a descriptor set compiled from it."""
        if not self.descriptor_set:
            return self.proto
        return descriptor_set(self.proto, workdir / f"{self.proto.stem}.binpb")


def descriptor_set(proto: Path, out: Path) -> Path:
    """``protoc --descriptor_set_out --include_imports``, as docs/BRIDGE.md tells a customer to run it."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={proto.parent}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            str(proto),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


SHAPES = (
    Shape(
        "struct-timestamp",
        PROTOS / "acme_struct.proto",
        None,  # one unary method: BRIDGE_RPC may be left out
        "acme.telephony.v2.CallEvents",
        tuple(ALL_SAMPLES),
    ),
    Shape(
        "typed-seconds-nanos",
        PROTOS / "typed.proto",
        "exotel.callbacks.EventPush/TriggerCallbackEvent",
        "exotel.callbacks.EventPush",
        (*SEED_EVENTS, SAY_COMPLETED),
    ),
    Shape(
        "camel-rfc3339-descriptor-set",
        PROTOS / "camel.proto",
        "vendor.events.v3.Events/Publish",
        "vendor.events.v3.Events",
        tuple(ALL_SAMPLES),
        descriptor_set=True,
    ),
)
