"""Run a rendered container as its pod would, without a cluster: the image's entrypoint and
environment, the manifest's command, args, env and envFrom, its volumes as host directories, its
user, and no write outside those volumes. Two forms:

- `run_in_engine`: in the image itself, built locally, by a Docker engine: `docker run` with the
  manifest's user, groups, read-only root, dropped capabilities, volumes, /dev/shm size, CPU
  and memory limits, on the host's network (where the API emulator and PostgreSQL listen).
- `run` (no engine here): a venv holding only that image's extras (tests/rehearsal/conftest.py)
  stands in for the image, whose entrypoint and environment are read from its Dockerfile; paths
  the pod mounts (/models, /tmp...) become host directories, and every env value and argument
  naming them is rewritten to match. As root the process runs as the pod's UID with the volumes
  owned by it, so the read-only root filesystem holds too: the venv and the working directory
  belong to root. Elsewhere it runs as the current (non-root) user and only the UID check is
  the manifest's.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.paths import REPO

IMAGES_DIR = REPO / "images"
# What each image is called in the manifests, and its Dockerfile.
DOCKERFILES = {
    "gregory-launcher": IMAGES_DIR / "launcher.Dockerfile",
    "gregory-train": IMAGES_DIR / "train.Dockerfile",
}
# The extras each Dockerfile installs (`pip install "/src[...]"`), checked against the file.
EXTRAS = {"gregory-launcher": "launcher", "gregory-train": "train,ml"}


@dataclass(frozen=True)
class Image:
    """The runtime stage of a Dockerfile, as far as a container's start depends on it."""

    repository: str
    extras: str
    entrypoint: tuple[str, ...]
    env: dict[str, str]
    workdir: str
    user: str


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def read_image(repository: str) -> Image:
    """The runtime stage (the last FROM) of the image's Dockerfile."""
    text = DOCKERFILES[repository].read_text()
    steps = _instructions(text)
    installs = [rest for keyword, rest in steps if keyword == "RUN" and "/src[" in rest]
    (extras,) = {re.search(r"/src\[([^\]]+)\]", rest).group(1) for rest in installs}
    assert extras == EXTRAS[repository], f"{repository} installs [{extras}]"
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    env: dict[str, str] = {}
    entrypoint: tuple[str, ...] = ()
    workdir, user = "/", "root"
    args = {}
    for keyword, rest in steps[last_from:]:
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
        elif keyword == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
        elif keyword == "ENTRYPOINT":
            entrypoint = tuple(json.loads(rest))
        elif keyword == "WORKDIR":
            workdir = rest
        elif keyword == "USER":
            user = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), rest)
    return Image(repository, extras, entrypoint, env, workdir, user)


def repository_of(image: str) -> str:
    """`registry/x/gregory-train@sha256:…` or `gregory-train:0.1.0-cpu` → `gregory-train`."""
    name = image.split("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name.rsplit("/", 1)[-1]


@dataclass
class Workload:
    """One container of one workload in a render."""

    owner: str  # e.g. "CronJob/gregory-nightly"
    pod: dict[str, Any]
    container: dict[str, Any]
    job_name: str  # what the Job controller would label the pod with

    @property
    def image(self) -> str:
        return self.container["image"]


def workloads(docs: list[dict[str, Any]]) -> list[Workload]:
    found = []
    for doc in docs:
        if doc["kind"] == "Job":
            pod, job_name = doc["spec"]["template"]["spec"], doc["metadata"]["name"]
        elif doc["kind"] == "CronJob":
            pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            job_name = f"{doc['metadata']['name']}-29000000"  # <cronjob>-<scheduled minute>
        else:
            continue
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            owner = f"{doc['kind']}/{doc['metadata']['name']}"
            found.append(Workload(owner, pod, container, job_name))
    return found


def _cpu_whole(quantity: str) -> str:
    value = float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)
    return str(math.ceil(value))  # the downward API rounds limits.cpu up to whole cores


@dataclass
class Sandbox:
    """Host stand-ins for a pod's surroundings, shared by the workloads of one rehearsal."""

    root: Path  # world-traversable, root-owned: the container's read-only "root filesystem"
    secrets: dict[tuple[str, str], str]  # (secret, key) → value
    namespace: str = "gregory"
    extra_env: dict[str, str] = field(default_factory=dict)  # what the cluster provides

    def volume(self, name: str, source: dict[str, Any], uid: int | None) -> Path:
        if "persistentVolumeClaim" in source:
            path = self.root / "claims" / source["persistentVolumeClaim"]["claimName"]
        else:
            path = self.root / "pods" / f"{name}-{len(list((self.root / 'pods').glob('*')))}"
        path.mkdir(parents=True, exist_ok=True)
        if uid is not None and os.geteuid() == 0:
            os.chown(path, uid, uid)  # fsGroup, or the class's ownership (docs/kubernetes.md)
        return path


@dataclass
class Result:
    argv: list[str]
    env: dict[str, str]
    returncode: int
    stdout: str
    stderr: str
    mounts: dict[str, Path]
    as_pod_user: bool  # False: ran as the current user (see runs_as)


def security(workload: Workload) -> tuple[int, int]:
    """The pod's UID and fsGroup, after checking the manifest asks for what the run emulates."""
    pod_context = workload.pod.get("securityContext", {})
    context = {**pod_context, **workload.container.get("securityContext", {})}
    assert context.get("runAsNonRoot") is True, workload.owner
    assert context.get("readOnlyRootFilesystem") is True, workload.owner
    assert context.get("allowPrivilegeEscalation") is False, workload.owner
    assert context.get("capabilities", {}).get("drop") == ["ALL"], workload.owner
    uid = int(context["runAsUser"])
    assert uid != 0, workload.owner
    return uid, int(pod_context.get("fsGroup", context.get("runAsGroup", uid)))


def manifest_env(
    workload: Workload, docs: list[dict[str, Any]], sandbox: Sandbox
) -> dict[str, str]:
    """The container's env as the kubelet sets it: envFrom's ConfigMaps, then env (values,
    Secrets, the downward API)."""
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    env: dict[str, str] = {}
    for source in workload.container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]].get("data", {}))
    limits = workload.container.get("resources", {}).get("limits", {})
    for item in workload.container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        origin = item["valueFrom"]
        if "secretKeyRef" in origin:
            ref = origin["secretKeyRef"]
            env[item["name"]] = sandbox.secrets[(ref["name"], ref["key"])]
        elif "fieldRef" in origin:
            path = origin["fieldRef"]["fieldPath"]
            known = {
                "metadata.namespace": sandbox.namespace,
                "metadata.labels['batch.kubernetes.io/job-name']": workload.job_name,
            }
            env[item["name"]] = known[path]
        elif "resourceFieldRef" in origin:
            assert origin["resourceFieldRef"]["resource"] == "limits.cpu"
            env[item["name"]] = _cpu_whole(limits["cpu"])
        else:
            raise AssertionError(f"{workload.owner}: unknown valueFrom {origin}")
    return env


def _volumes(workload: Workload, sandbox: Sandbox, uid: int) -> dict[str, Path]:
    """mountPath → host directory, for every mount but /dev/shm (sized by the engine, or the
    host's own for a venv)."""
    volumes = {v["name"]: v for v in workload.pod.get("volumes", [])}
    mounts: dict[str, Path] = {}
    for mount in workload.container.get("volumeMounts", []):
        if mount["mountPath"] == "/dev/shm":
            continue
        mounts[mount["mountPath"]] = sandbox.volume(mount["name"], volumes[mount["name"]], uid)
    return mounts


def run(
    workload: Workload,
    docs: list[dict[str, Any]],
    bin_dir: Path,
    sandbox: Sandbox,
    timeout: float = 600,
) -> Result:
    """The venv form: the image's Python is `bin_dir`'s."""
    image = read_image(repository_of(workload.image))
    uid, group = security(workload)
    assert image.user.split(":")[0] == str(uid), f"{workload.owner}: image user {image.user}"
    mounts = _volumes(workload, sandbox, uid)
    workdir = sandbox.root / "rootfs" / image.workdir.strip("/")
    workdir.mkdir(parents=True, exist_ok=True)

    def host_path(value: str) -> str:
        for path, host in sorted(mounts.items(), key=lambda item: -len(item[0])):
            if value == path or value.startswith(path + "/"):
                return str(host) + value[len(path) :]
            # sqlite:////models/x.sqlite3 and the like
            value = value.replace(f"//{path}/", f"//{host}/")
        return value

    env = {k: v for k, v in image.env.items() if k != "PATH"}
    env.update(manifest_env(workload, docs, sandbox))
    # The pod's paths become the sandbox's; what the sandbox adds is a host path already.
    env = {name: host_path(value) for name, value in env.items()}
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", LANG="C.UTF-8", **sandbox.extra_env)
    command = workload.container.get("command") or list(image.entrypoint)
    if command[0] in ("python", "python3"):
        command = [str(bin_dir / "python"), *command[1:]]
    elif not command[0].startswith("/"):
        command = [str(bin_dir / command[0]), *command[1:]]
    argv = [*command, *(host_path(a) for a in workload.container.get("args", []))]
    as_pod_user = runs_as(uid, bin_dir)
    done = subprocess.run(
        argv,
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        user=uid if as_pod_user else None,
        group=uid if as_pod_user else None,
        extra_groups=[group] if as_pod_user else None,
    )
    return Result(argv, env, done.returncode, done.stdout, done.stderr, mounts, as_pod_user)


def _quantity_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6}
    units |= {"G": 10**9, "T": 10**12}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


# Files the sandbox provides (a kubeconfig) are mounted read-only here in the container.
PROVIDED = "/var/run/gregory-rehearsal"
_names = itertools.count()


def run_in_engine(
    workload: Workload,
    docs: list[dict[str, Any]],
    docker: str,
    sandbox: Sandbox,
    timeout: float = 600,
) -> Result:
    """The engine form: `docker run` of the image the manifest names (built beforehand, see
    tests/rehearsal/conftest.py), with what the kubelet would give the container. Not emulated:
    GPUs (no `--gpus`: the image's CUDA finds no device) and the pod network (the host's)."""
    uid, group = security(workload)
    context = {
        **workload.pod.get("securityContext", {}),
        **workload.container.get("securityContext", {}),
    }
    gid = int(context.get("runAsGroup", uid))
    mounts = _volumes(workload, sandbox, uid)
    name = f"gregory-rehearsal-{os.getpid()}-{next(_names)}"
    argv = [docker, "run", "--rm", "--name", name, "--network", "host"]
    argv += ["--user", f"{uid}:{gid}", "--group-add", str(group), "--read-only"]
    argv += ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    for path, host in mounts.items():
        if os.geteuid() != 0:
            host.chmod(0o777)  # cannot give it to the pod's UID: let it write
        argv += ["-v", f"{host}:{path}"]
    volumes = {v["name"]: v for v in workload.pod.get("volumes", [])}
    for mount in workload.container.get("volumeMounts", []):
        if mount["mountPath"] == "/dev/shm":
            size = volumes[mount["name"]]["emptyDir"].get("sizeLimit", "64Mi")
            argv += ["--shm-size", str(_quantity_bytes(size))]
    limits = workload.container.get("resources", {}).get("limits", {})
    if "memory" in limits:
        argv += ["--memory", str(_quantity_bytes(limits["memory"]))]
    if "cpu" in limits:  # at most what this host has, which the engine refuses to exceed
        cpus = float(limits["cpu"][:-1]) / 1000 if limits["cpu"].endswith("m") else limits["cpu"]
        argv += ["--cpus", str(min(float(cpus), os.cpu_count() or 1))]
    env = manifest_env(workload, docs, sandbox)
    for key, value in sandbox.extra_env.items():
        if Path(value).is_file():
            inside = f"{PROVIDED}/{Path(value).name}"
            argv += ["-v", f"{value}:{inside}:ro"]
            value = inside
        env[key] = value
    for key, value in env.items():
        argv += ["-e", f"{key}={value}"]
    if workload.container.get("workingDir"):
        argv += ["-w", workload.container["workingDir"]]
    command = workload.container.get("command") or []
    if command:  # as in Kubernetes, a command replaces the entrypoint and the image's CMD
        argv += ["--entrypoint", command[0]]
    argv += [workload.image, *command[1:], *workload.container.get("args", [])]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        subprocess.run([docker, "rm", "--force", name], capture_output=True, timeout=120)
        raise
    return Result(argv, env, done.returncode, done.stdout, done.stderr, mounts, True)


@functools.cache
def runs_as(uid: int, bin_dir: Path) -> bool:
    """Whether the venv's Python can run as the pod's UID here: as root, unless the interpreter
    it links to is private to root (a pyenv under /root); CI's Debian Python is not."""
    if os.geteuid() != 0:
        return False
    try:
        probe = subprocess.run(
            [str(bin_dir / "python"), "-c", "pass"], user=uid, group=uid, capture_output=True
        )
    except PermissionError:
        return False
    return probe.returncode == 0
