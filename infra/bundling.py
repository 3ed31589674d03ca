"""The one Lambda asset, built without Docker: copy ``lambdas/``, ``legs/``, ``contract/`` and pip-install for ARM64.

CDK calls :class:`LocalPythonBundler` first (through jsii); only when it returns False does CDK
fall back to the Docker image in the bundling options (``pip`` missing, an exotic host, or
``EXOTEL_LEGS_BUNDLE_IN_DOCKER=1``). The asset hash is computed here from the inputs so that CDK
never fingerprints the whole repository (which holds a virtualenv).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Packages of this repository that go into the asset.
PACKAGES = ("lambdas", "legs", "contract")
REQUIREMENTS = REPO_ROOT / "lambdas" / "requirements.txt"
PYTHON_VERSION = "3.12"
PLATFORM = "manylinux2014_aarch64"
FALLBACK_IMAGE = "public.ecr.aws/sam/build-python3.12:latest-arm64"
#: Shipped by the Lambda Python runtime; removed from the asset after ``pip install``.
RUNTIME_PROVIDED = (
    "botocore",
    "botocore-*.dist-info",
    "boto3",
    "boto3-*.dist-info",
    "s3transfer",
    "s3transfer-*.dist-info",
)
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "*.egg-info")


def _source_files() -> list[Path]:
    files: list[Path] = [REQUIREMENTS]
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.append(path)
    return files


def asset_hash(keep_sdk: bool = False) -> str:
    """Hash of what goes into the asset (file names and bytes) plus the target platform."""
    digest = hashlib.sha256(f"{PLATFORM}|{PYTHON_VERSION}{'|sdk' if keep_sdk else ''}".encode())
    for path in _source_files():
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pip_install_command(target: str) -> list[str]:
    """Binary wheels for Lambda's ARM64 Python 3.12, whatever the host is."""
    cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--requirement",
        str(REQUIREMENTS),
        "--platform",
        PLATFORM,
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        target,
        "--cache-dir",
        cache,
    ]


@jsii.implements(ILocalBundling)
class LocalPythonBundler:
    """``tryBundle`` for CDK: returns True when the asset was built on this machine.

    ``keep_sdk``: keep the pinned boto3/botocore in the asset instead of the runtime's (ordered mode: the redrive
    function calls ``eventbridgev2``, which a runtime's older botocore may not know).
    """

    def __init__(self, keep_sdk: bool = False) -> None:
        self.keep_sdk = keep_sdk

    @jsii.member(jsii_name="tryBundle")
    def try_bundle(self, output_dir: str, _options: object = None) -> bool:
        if os.environ.get("EXOTEL_LEGS_BUNDLE_IN_DOCKER") == "1":
            return False
        out = Path(output_dir)
        for package in PACKAGES:
            shutil.copytree(REPO_ROOT / package, out / package, ignore=_IGNORED, dirs_exist_ok=True)
        try:
            subprocess.run(pip_install_command(str(out)), check=True, timeout=600, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            print(f"local bundling failed:\n{exc.stderr}\nfalling back to Docker bundling", file=sys.stderr)
            return False
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"local bundling failed ({exc}); falling back to Docker bundling", file=sys.stderr)
            return False
        if not self.keep_sdk:
            _drop_runtime_provided(out)
        return True


def _drop_runtime_provided(out: Path) -> None:
    """botocore arrives as a dependency of aws-xray-sdk; the runtime's own must win (it matches its boto3)."""
    for pattern in RUNTIME_PROVIDED:
        for path in out.glob(pattern):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def lambda_code(keep_sdk: bool = False) -> lambda_.Code:
    """The shared asset of every function (handlers are ``lambdas.<name>.handler.handler``)."""
    steps = [
        "cp -r " + " ".join(f"/asset-input/{package}" for package in PACKAGES) + " /asset-output/",
        "pip install --no-compile -r /asset-input/lambdas/requirements.txt -t /asset-output",
    ]
    if not keep_sdk:
        steps.append("rm -rf /asset-output/botocore* /asset-output/boto3* /asset-output/s3transfer*")
    command = " && ".join(steps)
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        asset_hash=asset_hash(keep_sdk),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            image=DockerImage.from_registry(FALLBACK_IMAGE),
            command=["bash", "-c", command],
            local=LocalPythonBundler(keep_sdk),
        ),
    )
