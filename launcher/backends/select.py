"""Which backend to use: an explicit choice, else Kubernetes when a cluster is configured, else
local. The answer always carries the reason, so the CLI and the TUI can say what is in use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from launcher.backends.base import Backend
from launcher.errors import ConfigurationError
from launcher.safe_text import error_line

if TYPE_CHECKING:
    from launcher.kube.job_builder import JobSettings

CHOICES = ("auto", "local", "kubernetes")
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True)
class Choice:
    kind: str  # "local" or "kubernetes"
    reason: str
    kubeconfig: str | None = None  # the file(s) found; the client reads $KUBECONFIG only once


def _kubeconfig_paths(env: Mapping[str, str]) -> list[Path]:
    if env.get("KUBECONFIG"):
        return [Path(p).expanduser() for p in env["KUBECONFIG"].split(os.pathsep) if p]
    return [Path(env.get("HOME", str(Path.home()))) / ".kube" / "config"]


def choose(explicit: str | None = None, env: Mapping[str, str] | None = None) -> Choice:
    env = os.environ if env is None else env
    wanted = explicit or env.get("GREGORY_BACKEND") or "auto"
    if wanted not in CHOICES:
        raise ConfigurationError(f"unknown backend {wanted!r}; choose from {', '.join(CHOICES)}")
    if wanted != "auto":
        how = "--backend" if explicit else "GREGORY_BACKEND"
        return Choice(wanted, f"chosen by {how}")
    if env.get("KUBERNETES_SERVICE_HOST") and SERVICE_ACCOUNT_TOKEN.exists():
        return Choice("kubernetes", "in-cluster service account found")
    found = [str(path) for path in _kubeconfig_paths(env) if path.is_file()]
    if found:
        return Choice("kubernetes", f"kubeconfig {found[0]} found", os.pathsep.join(found))
    return Choice("local", "no kubeconfig or in-cluster config found")


def job_settings(env: Mapping[str, str] | None = None) -> JobSettings:
    """Job settings from the environment (GREGORY_JOB_IMAGE, GREGORY_NAMESPACE, …).

    Without an image the settings still serve status, logs and cancel; submit refuses.
    """
    from launcher.kube.job_builder import ENV_PREFIX, JobSettings

    env = os.environ if env is None else env
    try:
        if not env.get(ENV_PREFIX + "IMAGE"):
            return JobSettings.from_env(env, image="")
        return JobSettings.from_env(env)
    except ValueError as error:
        raise ConfigurationError(f"Kubernetes Job settings: {error}") from error


def make_backend(choice: Choice, env: Mapping[str, str] | None = None) -> Backend:
    """Build the chosen backend; a cluster configuration that cannot be loaded is one line."""
    if choice.kind == "local":
        from launcher.backends.local import LocalBackend

        return LocalBackend()
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    from launcher.backends.kubernetes import KubernetesBackend

    configuration = client.Configuration()
    files = choice.kubeconfig or os.pathsep.join(
        str(path) for path in _kubeconfig_paths(env or os.environ)
    )
    try:
        if (env or os.environ).get("KUBERNETES_SERVICE_HOST") and SERVICE_ACCOUNT_TOKEN.exists():
            config.load_incluster_config(client_configuration=configuration)
            source = "in-cluster"
        else:
            config.load_kube_config(config_file=files, client_configuration=configuration)
            _, active = config.list_kube_config_contexts(config_file=files)
            source = f"context {active['name']}"
    except yaml.YAMLError as error:
        raise ConfigurationError(
            f"cannot load the Kubernetes configuration: {files} is not valid YAML "
            f"({error_line(error)})"
        ) from error
    except (ConfigException, OSError) as error:
        raise ConfigurationError(
            f"cannot load the Kubernetes configuration: {error_line(error)}"
        ) from error
    except (TypeError, KeyError, ValueError, AttributeError) as error:
        # YAML, but not shaped like a kubeconfig: the client fails deep inside on it.
        raise ConfigurationError(
            f"cannot load the Kubernetes configuration: {files} is not a kubeconfig "
            f"({type(error).__name__}: {error_line(error)})"
        ) from error
    # No silent retries inside urllib3: the backend retries, one line each (ApiPolicy).
    configuration.retries = False
    return KubernetesBackend(job_settings(env), client.ApiClient(configuration), source=source)
