#!/usr/bin/env bash
# Regenerate the protobuf/gRPC stubs from protos/ into a directory (default: legs/pb).
# grpc_tools writes an absolute "import exotel_legs_pb2"; we make it package-relative.
set -euo pipefail
out="${1:-legs/pb}"
py="${PYTHON:-.venv/bin/python}"
mkdir -p "$out"
"$py" -m grpc_tools.protoc -I protos --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" protos/exotel_legs.proto
sed -i 's/^import exotel_legs_pb2 as/from . import exotel_legs_pb2 as/' "$out/exotel_legs_pb2_grpc.py"
