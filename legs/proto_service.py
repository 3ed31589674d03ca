"""Which gRPC method receives Exotel's events: our own ``.proto`` (built in), or the customer's, loaded at start.

Exotel hands each customer the ``.proto`` of ``TriggerCallbackEvent`` privately; package, service,
field numbers and types may differ from ``protos/exotel_legs.proto``. :func:`load_service` reads either

- a binary ``FileDescriptorSet`` (``protoc --descriptor_set_out=… --include_imports``), any extension, or
- a ``.proto`` source file, compiled once with ``grpc_tools.protoc`` (the ``grpcio-tools`` package),

and picks the method named ``package.Service/Method`` (or the file's only unary method). Everything
here runs once at start-up; :mod:`legs.wire` turns the result into a fast per-message codec.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypedDict

from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    empty_pb2,
    message_factory,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor
from google.protobuf.message import DecodeError, Message

#: Files every descriptor set may import without carrying them (the well-known types).
_WELL_KNOWN: tuple[FileDescriptor, ...] = (
    any_pb2.DESCRIPTOR,
    duration_pb2.DESCRIPTOR,
    empty_pb2.DESCRIPTOR,
    struct_pb2.DESCRIPTOR,
    timestamp_pb2.DESCRIPTOR,
    wrappers_pb2.DESCRIPTOR,
)


class DescribedFile(Protocol):
    """A file descriptor, as protobuf's Python classes and its upb (C) ones both describe it (the stubs of
    ``grpc_health``/``grpc_reflection`` name the upb class, ours the Python one)."""

    @property
    def name(self) -> str: ...
    @property
    def dependencies(self) -> Sequence[DescribedFile]: ...
    def CopyToProto(self, proto: descriptor_pb2.FileDescriptorProto, /) -> None: ...


class ProtoError(ValueError):
    """The service definition cannot be used; the message says which file, service, method or field."""


@dataclass(frozen=True)
class EventService:
    """One unary method, its message classes, and the pool that describes them (for reflection)."""

    pool: descriptor_pool.DescriptorPool
    method: MethodDescriptor
    request_class: type[Message]
    response_class: type[Message]
    #: Where it came from: a path, or "built-in" for protos/exotel_legs.proto.
    source: str

    @property
    def service_name(self) -> str:
        """``package.Service``: what health and reflection report."""
        return self.method.containing_service.full_name

    @property
    def method_name(self) -> str:
        return self.method.name

    @property
    def method_path(self) -> str:
        """``/package.Service/Method``: the HTTP/2 path gRPC calls."""
        return f"/{self.service_name}/{self.method_name}"

    @property
    def request_name(self) -> str:
        return self.method.input_type.full_name

    @property
    def response_name(self) -> str:
        return self.method.output_type.full_name

    def add_files(self, *files: DescribedFile) -> None:
        """Make other services (health, reflection) describable by reflection from this pool too."""
        for file in files:
            _add_with_dependencies(self.pool, file)


def builtin_service() -> EventService:
    """``exotel.legs.v1.LegEventService/TriggerCallbackEvent`` from the committed stubs (legs/pb)."""
    from legs.pb import exotel_legs_pb2 as pb

    method = pb.DESCRIPTOR.services_by_name["LegEventService"].methods_by_name["TriggerCallbackEvent"]
    return EventService(
        pool=descriptor_pool.Default(),
        method=method,
        request_class=pb.CallbackEvent,
        response_class=pb.CallbackEventResponse,
        source="built-in",
    )


def load_service(path: str | Path, rpc: str | None = None) -> EventService:
    """The method ``rpc`` (``package.Service/Method``) of the definition at ``path``; raises :class:`ProtoError`.

    ``rpc`` may be left out when the definition has exactly one unary method.
    """
    path = Path(path)
    files = read_descriptor_set(path)
    pool = descriptor_pool.DescriptorPool()
    _add_all(pool, files, path)
    defined = [pool.FindFileByName(f.name) for f in files.file]
    method = _find_method(defined, pool, rpc, path)
    try:
        request = message_factory.GetMessageClass(method.input_type)
        response = message_factory.GetMessageClass(method.output_type)
    except (TypeError, ValueError) as exc:  # pragma: no cover - descriptors the pool accepted build classes
        raise ProtoError(f"{path}: cannot build message classes for {method.full_name}: {exc}") from exc
    return EventService(pool=pool, method=method, request_class=request, response_class=response, source=str(path))


def read_descriptor_set(path: Path) -> descriptor_pb2.FileDescriptorSet:
    """A binary FileDescriptorSet as is; anything else is compiled as ``.proto`` source."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProtoError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise ProtoError(f"{path} is empty")
    if path.suffix != ".proto":
        files = descriptor_pb2.FileDescriptorSet()
        try:
            files.ParseFromString(data)
        except DecodeError:
            pass  # not a descriptor set: compiled as source below
        else:
            if files.file and all(f.name for f in files.file):
                return files
    return compile_proto(path)


def compile_proto(path: Path) -> descriptor_pb2.FileDescriptorSet:
    """``protoc --include_imports --descriptor_set_out`` via grpc_tools, in a child process (its errors captured).

    The set is written to the child's stdout, so nothing needs a writable disk (the bridge's task runs
    with a read-only root file system).
    """
    try:
        import grpc_tools
    except ImportError as exc:
        raise ProtoError(
            f"{path} is .proto source; compiling it needs grpcio-tools (pip install grpcio-tools), "
            "or give a descriptor set made with protoc --descriptor_set_out=FILE --include_imports"
        ) from exc
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--proto_path={path.parent.resolve()}",
        f"--proto_path={well_known}",
        "--descriptor_set_out=/dev/stdout",
        "--include_imports",
        str(path.resolve()),
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProtoError(f"{path}: protoc did not run: {exc}") from exc
    if done.returncode != 0 or not done.stdout:
        reason = done.stderr.decode("utf-8", "replace").strip() or f"protoc exited with {done.returncode}"
        raise ProtoError(f"{path} is neither a descriptor set nor a .proto protoc can compile: {reason}")
    files = descriptor_pb2.FileDescriptorSet()
    try:
        files.ParseFromString(done.stdout)
    except DecodeError as exc:  # pragma: no cover - protoc wrote something else to stdout
        raise ProtoError(f"{path}: protoc's output is not a descriptor set: {exc}") from exc
    return files


def _add_all(pool: descriptor_pool.DescriptorPool, files: descriptor_pb2.FileDescriptorSet, path: Path) -> None:
    """Add every file, dependencies first; well-known imports the set does not carry come from protobuf itself."""
    pending = {f.name: f for f in files.file}
    added: set[str] = set()
    well_known = {f.name: f for f in _WELL_KNOWN}
    while pending:
        progressed = False
        for name, proto in list(pending.items()):
            missing = [d for d in proto.dependency if d not in added]
            for dependency in list(missing):
                if dependency not in pending and dependency in well_known:
                    _add_with_dependencies(pool, well_known[dependency])
                    added.add(dependency)
                    missing.remove(dependency)
            if missing:
                continue
            try:
                pool.Add(proto)
            except (TypeError, ValueError, KeyError) as exc:
                raise ProtoError(f"{path}: {name} does not load: {exc}") from exc
            added.add(name)
            del pending[name]
            progressed = True
        if not progressed:
            absent = sorted({d for p in pending.values() for d in p.dependency if d not in added and d not in pending})
            what = f"imports {', '.join(absent)}, which the set does not carry" if absent else "circular imports"
            raise ProtoError(f"{path}: {what} (make it with protoc --include_imports)")


def _add_with_dependencies(pool: descriptor_pool.DescriptorPool, file: DescribedFile) -> None:
    try:
        pool.FindFileByName(file.name)
        return
    except KeyError:
        pass
    for dependency in file.dependencies:
        _add_with_dependencies(pool, dependency)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    pool.Add(proto)


def _unary(method: MethodDescriptor) -> bool:
    return not (method.client_streaming or method.server_streaming)


def _find_method(
    files: list[FileDescriptor], pool: descriptor_pool.DescriptorPool, rpc: str | None, path: Path
) -> MethodDescriptor:
    services = [service for file in files for service in file.services_by_name.values()]
    listed = ", ".join(f"{s.full_name}/{m.name}" for s in services for m in s.methods) or "none"
    if rpc is None or not rpc.strip():
        unary = [m for s in services for m in s.methods if _unary(m)]
        if len(unary) != 1:
            raise ProtoError(
                f"{path} has {len(unary)} unary methods ({listed}); name the one Exotel calls as package.Service/Method"
            )
        return unary[0]
    text = rpc.strip().lstrip("/")
    service_name, slash, method_name = text.rpartition("/")
    if not slash:
        service_name, _, method_name = text.rpartition(".")
    try:
        service = pool.FindServiceByName(service_name)
    except KeyError:
        raise ProtoError(f"rpc {rpc!r}: {path} defines no service {service_name!r} (methods: {listed})") from None
    method = service.methods_by_name.get(method_name)
    if method is None:
        raise ProtoError(f"rpc {rpc!r}: service {service_name} has no method {method_name!r} (methods: {listed})")
    if not _unary(method):
        raise ProtoError(f"rpc {rpc!r} is a streaming method; Exotel's push is a unary call")
    return method


class Described(TypedDict):
    """The served method, as the bridge's start-up log line names it."""

    rpc: str
    request: str
    response: str
    proto: str


def describe(service: EventService) -> Described:
    """What a log line says about the served method."""
    return {
        "rpc": service.method_path,
        "request": service.request_name,
        "response": service.response_name,
        "proto": service.source,
    }
