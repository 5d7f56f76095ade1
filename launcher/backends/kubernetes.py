"""Kubernetes backend: one Job per team/subject (training or prediction) through the official
client.

The Job objects come from the pure builder in `launcher.kube.job_builder`; this module only
talks to the API: create (409 means the run was already submitted), list and read Jobs, wait
for the pod's container to leave its waiting state before asking for logs (a creating pod
answers 400), follow the log in a stream that another thread can stop, and delete with
Foreground propagation so the pod goes with its Job.

Every call has a connect and a read timeout and is tried again a bounded number of times, one
line per retry (`ApiPolicy`, from GREGORY_KUBE_TIMEOUT and GREGORY_KUBE_RETRIES): an API server
that accepts and never answers ends a command in one line instead of hanging it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from gregory.flags import JobFlags
from launcher.backends.base import (
    IDLE,
    Backend,
    BackendError,
    LogStream,
    RunInfo,
    RunNotFound,
    RunState,
    Submission,
    last_line,
    lines_of,
)
from launcher.errors import ConfigurationError
from launcher.kube.job_builder import (
    ALL_SUBJECTS,
    APP,
    CONTAINER_NAME,
    KUEUE_GROUP,
    KUEUE_VERSION,
    LABEL_APP,
    LABEL_COMPONENT,
    LABEL_QUEUE,
    LABEL_SUBJECT,
    LABEL_TEAM,
    POD_JOB_NAME_LABEL,
    JobSettings,
    build_job,
)

T = TypeVar("T")
# The launcher's runs only: the suspended template Job and the nightly CronJob's Jobs carry other
# `app.kubernetes.io/name` values.
APP_SELECTOR = f"{LABEL_APP}={APP}"
# A container stuck in one of these will never start: stop waiting and say why.
HOPELESS_WAITING = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
}
WATCH_SECONDS = 5  # short watches, so a stop request is noticed between them
# Answers worth asking again: throttled, or an API server (or its proxy) briefly unwell.
RETRY_STATUSES = {429, 500, 502, 503, 504}
# After a call used up its retries on the connection, later calls fail at once this long.
DOWN_SECONDS = 30.0
TIMEOUT_ENV = "GREGORY_KUBE_TIMEOUT"
RETRIES_ENV = "GREGORY_KUBE_RETRIES"


class AlreadyExists(BackendError):
    """The API answered 409: an object of that name is there already."""


@dataclass(frozen=True)
class ApiPolicy:
    """How long one API call may take and how often it is tried again."""

    connect: float = 5.0  # seconds to open the connection
    read: float = 20.0  # seconds for the answer to start (and between its chunks)
    retries: int = 2  # further tries after a timeout, a broken connection or a 429/5xx
    backoff: float = 1.0  # seconds before the first retry, doubled for each next one
    # A followed log may be quiet while the job works: only this long a silence reopens it.
    log_idle: float = 300.0

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect, self.read)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiPolicy:
        """GREGORY_KUBE_TIMEOUT: READ or CONNECT,READ seconds (default 5,20);
        GREGORY_KUBE_RETRIES: 0-10 (default 2)."""
        env = os.environ if env is None else env
        policy = cls()
        if text := env.get(TIMEOUT_ENV, "").strip():
            parts = text.split(",")
            try:
                seconds = [float(part) for part in parts]
            except ValueError:
                seconds = []
            if len(seconds) not in (1, 2) or not all(0 < value <= 3600 for value in seconds):
                raise ConfigurationError(
                    f"{TIMEOUT_ENV}={text!r}: give READ or CONNECT,READ in seconds "
                    "(each above 0, at most 3600), e.g. 5,20"
                )
            connect, read = (
                (min(seconds[0], policy.connect), seconds[0]) if len(seconds) == 1 else seconds
            )
            policy = cls(connect=connect, read=read, retries=policy.retries)
        if text := env.get(RETRIES_ENV, "").strip():
            if not text.isdigit() or int(text) > 10:
                raise ConfigurationError(f"{RETRIES_ENV}={text!r}: give a whole number 0-10")
            policy = cls(connect=policy.connect, read=policy.read, retries=int(text))
        return policy


def why_failed(error: BaseException, policy: ApiPolicy) -> str:
    """A connection-level failure in a few words."""
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    # NewConnectionError is a ConnectTimeoutError to urllib3: ask about it first.
    if isinstance(error, urllib3.exceptions.NameResolutionError):
        return "host name not resolved"
    if isinstance(error, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        return "cannot connect"
    if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
        return f"no connection within {policy.connect:g}s"
    if isinstance(error, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return f"no answer within {policy.read:g}s"
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return "connection broken"
    return type(error).__name__


class KubernetesBackend(Backend):
    name = "kubernetes"
    split_subjects = True
    split_teams = True

    def __init__(
        self,
        settings: JobSettings,
        api_client: client.ApiClient,
        *,
        source: str = "",
        policy: ApiPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.api_client = api_client
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.source = source
        self.policy = ApiPolicy.from_env() if policy is None else policy
        # Until when (monotonic) and why the API counts as unreachable, after a call that
        # used up its retries on the connection.
        self._down: tuple[float, str] | None = None
        self._queues_seen: set[str] = set()  # LocalQueues known to exist (a fan-out asks once)

    @property
    def namespace(self) -> str:
        return self.settings.namespace

    def describe(self) -> str:
        where = self.source or self.api_client.configuration.host
        return f"kubernetes ({where}, namespace {self.namespace})"

    def _call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One API call under the policy's timeouts, tried again after a timeout, a broken
        connection or a 429/5xx (one line each); failures become BackendError (RunNotFound for
        404, AlreadyExists for 409) with one line."""
        if (down := self._down) is not None and time.monotonic() < down[0]:
            # Just found unreachable: a fan-out's next Jobs and the TUI's next refreshes fail
            # at once with the same line instead of waiting out every timeout again.
            raise BackendError(down[1])
        kwargs.setdefault("_request_timeout", self.policy.timeout)
        what = func.__name__.replace("_namespaced", "").replace("_", " ")
        attempt = 0
        while True:
            try:
                answer = func(*args, **kwargs)
                self._down = None
                return answer
            except ApiException as error:
                if error.status not in RETRY_STATUSES or attempt >= self.policy.retries:
                    raise self._failure(error, attempt) from error
                why = f"answered {error.status} {error.reason}".strip()
            except (urllib3.exceptions.HTTPError, OSError) as error:
                if attempt >= self.policy.retries:
                    failure = self._failure(error, attempt)
                    self._down = (time.monotonic() + DOWN_SECONDS, str(failure))
                    raise failure from error
                why = why_failed(error, self.policy)
            attempt += 1
            pause = self.policy.backoff * 2 ** (attempt - 1)
            self.notice(
                f"kubernetes: {what}: {why}; retry {attempt} of {self.policy.retries} in {pause:g}s"
            )
            time.sleep(pause)

    def _failure(self, error: BaseException, retried: int = 0) -> BackendError:
        """`error` as the one-line BackendError the operator sees."""
        tries = f" ({retried + 1} tries)" if retried else ""
        if isinstance(error, ApiException):
            if error.status == 404:
                return RunNotFound(f"not found in namespace {self.namespace}")
            if error.status == 409:
                return AlreadyExists(f"already exists in namespace {self.namespace}")
            reason = f"{error.status} {error.reason}".strip()
            return BackendError(f"Kubernetes API answered {reason}{tries}")
        host = self.api_client.configuration.host
        return BackendError(
            f"cannot reach the Kubernetes API at {host}: {why_failed(error, self.policy)}{tries}"
        )

    # -- runs -------------------------------------------------------------------------------

    def submit(self, flags: JobFlags, run_id: str) -> Submission:
        flags.validate()
        if not self.settings.image:
            raise BackendError("set GREGORY_JOB_IMAGE to the training image to submit Jobs")
        try:
            job = build_job(flags, run_id=run_id, settings=self.settings)
        except ValueError as error:  # e.g. a team whose queue name cannot be a label
            raise BackendError(str(error)) from error
        queue = (_meta(job).labels or {}).get(LABEL_QUEUE)
        if queue is not None:
            self._ensure_queue(queue, flags.team or "")
            # Last night's Job for this scope still waits for quota: it will read the data as
            # it is when it starts, so a second one would only train the same thing twice.
            if (waiting := self._still_queued(job)) is not None:
                return Submission(_run_info(waiting), already_existed=True)
        try:
            created = self._call(self.batch.create_namespaced_job, self.namespace, job)
        except AlreadyExists:
            # Same command, team, subject and run id: submitted before (or by a try of ours
            # whose answer was lost); do not start another.
            existing = self._call(self.batch.read_namespaced_job, _name(job), self.namespace)
            return Submission(_run_info(existing), already_existed=True)
        return Submission(_run_info(created))

    def _ensure_queue(self, queue: str, team: str) -> None:
        """The team's LocalQueue exists, or is created in the configured ClusterQueue; else a
        one-line refusal: a Job in a missing queue would wait suspended forever, one more each
        night."""
        if queue in self._queues_seen:
            return
        args = (KUEUE_GROUP, KUEUE_VERSION, self.namespace, "localqueues")
        try:
            self._call(self.custom.get_namespaced_custom_object, *args, queue)
        except RunNotFound:
            if not self.settings.cluster_queue:
                raise BackendError(
                    f"Kueue LocalQueue {queue} (team {team}) does not exist in namespace "
                    f"{self.namespace}: create it, or set GREGORY_JOB_CLUSTER_QUEUE so the "
                    "launcher creates it; nothing submitted for this team"
                ) from None
            body = {
                "apiVersion": f"{KUEUE_GROUP}/{KUEUE_VERSION}",
                "kind": "LocalQueue",
                "metadata": {
                    "name": queue,
                    "namespace": self.namespace,
                    "labels": {"app.kubernetes.io/part-of": "gregory-train"},
                },
                "spec": {"clusterQueue": self.settings.cluster_queue},
            }
            # Created meanwhile by another launcher (409): fine.
            with contextlib.suppress(AlreadyExists):
                self._call(self.custom.create_namespaced_custom_object, *args, body)
        self._queues_seen.add(queue)

    def _still_queued(self, job: client.V1Job) -> client.V1Job | None:
        """Another Job of the same command and scope that Kueue has not admitted yet."""
        labels = _meta(job).labels or {}
        selector = ",".join(
            f"{key}={labels[key]}"
            for key in (LABEL_APP, LABEL_COMPONENT, LABEL_TEAM, LABEL_SUBJECT)
        )
        found = self._call(self.batch.list_namespaced_job, self.namespace, label_selector=selector)
        waiting = [
            other
            for other in found.items
            if _name(other) != _name(job)
            and other.spec is not None
            and other.spec.suspend
            and _meta(other).deletion_timestamp is None
            and not {
                c.type
                for c in ((other.status and other.status.conditions) or [])
                if c.status == "True"
            }
            & {"Complete", "Failed"}
        ]
        return max(waiting, key=lambda other: str(_meta(other).creation_timestamp), default=None)

    def list_runs(self) -> list[RunInfo]:
        jobs = self._call(
            self.batch.list_namespaced_job, self.namespace, label_selector=APP_SELECTOR
        )
        pods = self._call(
            self.core.list_namespaced_pod, self.namespace, label_selector=APP_SELECTOR
        )
        by_job: dict[str, list[client.V1Pod]] = {}
        for pod in pods.items:
            job_name = (_meta(pod).labels or {}).get(POD_JOB_NAME_LABEL, "")
            by_job.setdefault(job_name, []).append(pod)
        runs = [_run_info(job, by_job.get(_name(job), [])) for job in jobs.items]
        return sorted(runs, key=lambda run: (run.created, run.name), reverse=True)

    def status(self, name: str) -> RunInfo:
        try:
            job = self._call(self.batch.read_namespaced_job, name, self.namespace)
        except RunNotFound:
            raise RunNotFound(f"no Job named {name!r} in namespace {self.namespace}") from None
        pods = self._call(
            self.core.list_namespaced_pod,
            self.namespace,
            label_selector=f"{POD_JOB_NAME_LABEL}={name}",
        )
        return _run_info(job, pods.items)

    def cancel(self, name: str) -> None:
        # Foreground: the Job stays (with a deletionTimestamp) until its pods are gone.
        self._call(
            self.batch.delete_namespaced_job,
            name,
            self.namespace,
            body=client.V1DeleteOptions(propagation_policy="Foreground"),
        )

    # -- logs -------------------------------------------------------------------------------

    def progress(self, name: str) -> str:
        pods = self._call(
            self.core.list_namespaced_pod,
            self.namespace,
            label_selector=f"{POD_JOB_NAME_LABEL}={name}",
        )
        pod, waiting = _newest_pod(pods.items)
        if pod is None or waiting is not None:
            return ""
        try:
            tail = self._raw_log(pod, limit_bytes=4096)
        except BackendError:
            return ""
        try:
            return last_line(tail.data)
        finally:
            tail.release_conn()

    def _raw_log(self, pod: str, **options: Any) -> urllib3.BaseHTTPResponse:
        """The job container's log in `pod` as the HTTP response itself, read as it comes."""
        answer = self._call(
            self.core.read_namespaced_pod_log,
            pod,
            self.namespace,
            container=CONTAINER_NAME,
            _preload_content=False,
            **options,
        )
        # The client declares str, what it returns with _preload_content=True.
        return cast(urllib3.BaseHTTPResponse, answer)

    def stream_logs(self, name: str, *, follow: bool = True) -> LogStream:
        self.status(name)  # RunNotFound early, in the caller's thread
        stop = threading.Event()
        return LogStream(self._logs(name, follow, stop), stop)

    def _logs(self, name: str, follow: bool, stop: threading.Event) -> Iterator[str]:
        """The log of the Job's newest pod; while following, a dropped stream is opened again
        (what was already shown is skipped) and a retry's new pod is followed in turn.

        A stream cut without a byte gained since the last cut counts against the policy's
        retries; past them, a BackendError ends the stream."""
        shown: dict[str, int] = {}  # bytes of each pod's log already read
        current: str | None = None
        cuts = 0  # consecutive cuts that brought nothing new
        while not stop.is_set():
            pod = yield from self._wait_for_container(name, stop, follow)
            if pod is None or stop.is_set():
                return
            if current is not None and pod != current:
                yield f"[launcher] retry: following pod {pod}"
            current = pod
            before = shown.get(pod, 0)
            cut = yield from self._pod_log(pod, follow, stop, shown)
            if not follow or stop.is_set():
                return
            gained = shown.get(pod, 0) > before
            if cut is not None:
                cuts = 0 if gained else cuts + 1
                if cuts > self.policy.retries:
                    raise BackendError(
                        f"the log stream of pod {pod} broke {cuts} times in a row ({cut}); gave up"
                    )
                yield f"[launcher] log stream cut ({cut}); reopening"
                if not gained:
                    stop.wait(self.policy.backoff)
                continue  # even if the run has ended: the rest of its log is still to read
            if self.status(name).state.finished:
                return
            if not gained:
                stop.wait(1)  # the pod's log is over (or cut at once) and no newer pod yet

    def _pod_log(
        self, pod: str, follow: bool, stop: threading.Event, shown: dict[str, int]
    ) -> Generator[str, None, str | None]:
        """Lines of one opening of `pod`'s log. Returns None when the log ended, or why the
        stream was cut while following (the caller opens it again)."""
        # A followed log may stay quiet for long while the job works; only its opening must
        # answer within the read timeout.
        timeout = (self.policy.connect, max(self.policy.read, self.policy.log_idle))
        response = self._raw_log(
            pod, follow=follow, _request_timeout=timeout if follow else self.policy.timeout
        )
        finished = threading.Event()

        def close_on_stop() -> None:
            # A blocked read only returns when the connection goes away: shut it from here.
            while not stop.wait(0.2):
                if finished.is_set():
                    return
            _shutdown(response)

        closer = threading.Thread(target=close_on_stop, name=f"log-closer-{pod}", daemon=True)
        closer.start()
        try:
            for line in lines_of(_unseen(_chunks(response, follow), pod, shown)):
                if stop.is_set():
                    break
                yield line
        except (urllib3.exceptions.HTTPError, OSError, AttributeError, ValueError) as error:
            if stop.is_set():  # a stop closes the socket under the reader; that is fine
                return None
            if not follow:
                raise self._failure(error) from error
            if isinstance(error, urllib3.exceptions.ReadTimeoutError | TimeoutError):
                return f"silent for {timeout[1]:g}s"
            return why_failed(error, self.policy)
        finally:
            finished.set()
            with contextlib.suppress(Exception):  # a broken connection may not release cleanly
                response.release_conn()
        return None

    def _wait_for_container(
        self, name: str, stop: threading.Event, follow: bool
    ) -> Generator[str, None, str | None]:
        """Yield status lines until the run's newest pod has a container out of waiting.

        Returns the pod name, or None when there is nothing to read. Lists, then watches from
        the list's resourceVersion; a 410 (the version is too old) or a broken watch means
        list again (the list has the policy's retries; so many broken watches in a row end
        the stream).
        """
        selector = f"{POD_JOB_NAME_LABEL}={name}"
        said = ""
        broken = 0
        while not stop.is_set():
            pods = self._call(
                self.core.list_namespaced_pod, self.namespace, label_selector=selector
            )
            pod, waiting = _newest_pod(pods.items)
            if pod is not None and waiting is None:
                return pod
            if waiting in HOPELESS_WAITING:
                yield f"[launcher] pod {pod} cannot start: {waiting}"
                return None
            if pod is None and self.status(name).state.finished:
                yield f"[launcher] Job {name} has no pod left to read"
                return None
            message = (
                f"[launcher] waiting for pod {pod} ({waiting})"
                if pod
                else (f"[launcher] waiting for Job {name} to create its pod")
            )
            if message != said:
                said = message
                yield message
            if not follow:
                return None
            version = pods.metadata.resource_version if pods.metadata else None
            broken = self._watch_for_change(selector, version, stop, broken)
        return None

    def _watch_for_change(
        self, selector: str, version: str | None, stop: threading.Event, broken: int
    ) -> int:
        """Wait until a pod of `selector` changes after `version` (or a stop, or the watch's
        end); returns how many watches in a row broke, this one counted."""
        watcher = watch.Watch()
        try:
            for event in watcher.stream(
                self.core.list_namespaced_pod,
                self.namespace,
                label_selector=selector,
                resource_version=version,
                timeout_seconds=WATCH_SECONDS,
                _request_timeout=(self.policy.connect, WATCH_SECONDS + self.policy.read),
            ):
                if stop.is_set() or event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    break  # something changed (or we are asked to stop): list again
            return 0
        except ApiException as error:
            if error.status != 410:
                raise self._failure(error) from error
            # 410 Gone: our resourceVersion expired; the caller lists again and resumes.
            return broken
        except (urllib3.exceptions.HTTPError, OSError) as error:
            broken += 1
            if broken > self.policy.retries:
                raise self._failure(error, broken - 1) from error
            self.notice(f"kubernetes: watch pods: {why_failed(error, self.policy)}; again")
            stop.wait(self.policy.backoff)
            return broken
        finally:
            watcher.stop()


def _chunks(response: urllib3.BaseHTTPResponse, follow: bool) -> Iterator[bytes]:
    """The log's bytes as they arrive; while following, each chunk is all there is for now."""
    for chunk in response.stream(amt=None, decode_content=False):
        yield chunk.encode() if isinstance(chunk, str) else chunk
        if follow:
            yield IDLE


def _unseen(chunks: Iterator[bytes], pod: str, shown: dict[str, int]) -> Iterator[bytes]:
    """Skip the bytes of `pod`'s log read before (the API sends a log from its start)."""
    skip = shown.get(pod, 0)
    for chunk in chunks:
        if chunk is IDLE:
            yield chunk
            continue
        shown[pod] = shown.get(pod, 0) + len(chunk) - min(skip, len(chunk))
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        chunk, skip = chunk[skip:], 0
        yield chunk


def _shutdown(response: urllib3.BaseHTTPResponse) -> None:
    # urllib3 ≥ 2.3 can interrupt a read in progress from another thread; close() otherwise.
    shutdown = getattr(response, "shutdown", None)
    # Closing a connection that is already gone is not worth reporting.
    with contextlib.suppress(Exception):
        (shutdown or response.close)()


def _newest_pod(pods: list[client.V1Pod]) -> tuple[str | None, str | None]:
    """(name, waiting reason or None) of the newest pod; (None, None) when there is none."""
    if not pods:
        return None, None
    epoch = datetime.min.replace(tzinfo=UTC)
    pod = max(pods, key=lambda item: _meta(item).creation_timestamp or epoch)
    statuses = (pod.status and pod.status.container_statuses) or []
    if not statuses:
        return _name(pod), (pod.status and pod.status.phase) or "Pending"
    for status in statuses:
        waiting = status.state.waiting if status.state is not None else None
        if status.state is None or waiting is not None:
            reason = waiting.reason if waiting is not None else None
            return _name(pod), reason or "ContainerCreating"
    return _name(pod), None


def _pod_story(pods: list[client.V1Pod]) -> tuple[str | None, str]:
    """What the newest pod says: (why it is not running yet or None, how its container ended).

    Not scheduled (Unschedulable and the scheduler's message), a container waiting
    (ContainerCreating, ImagePullBackOff), or terminated (OOMKilled and exit 137 shown)."""
    if not pods:
        return None, ""
    epoch = datetime.min.replace(tzinfo=UTC)
    pod = max(pods, key=lambda item: _meta(item).creation_timestamp or epoch)
    status = pod.status or client.V1PodStatus()
    for condition in status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False":
            reason = condition.reason or "not scheduled"
            return ": ".join(filter(None, [reason, condition.message])), ""
    ended = ""
    for container in status.container_statuses or []:
        state = container.state
        if state is None:
            continue
        if state.waiting is not None:
            waiting = state.waiting
            return ": ".join(filter(None, [waiting.reason or "waiting", waiting.message])), ""
        if state.terminated is not None:
            code, cause = state.terminated.exit_code, state.terminated.reason
            if cause == "OOMKilled" or code == 137:
                ended = f"OOMKilled (exit {code}): the container ran out of memory"
            elif code:
                ended = f"exit {code}" + (f" ({cause})" if cause and cause != "Error" else "")
    return None, ended


def _queued_detail(labels: dict[str, str], retries: str) -> str:
    """Why a suspended Job waits: for Kueue to admit it (again, after a preemption), or for
    someone to resume it."""
    queue = labels.get(LABEL_QUEUE)
    if queue is None:
        return "suspended: waits until the Job is resumed"
    return f"Kueue queue {queue}: waits for quota to be admitted{retries}"


def _meta(item: client.V1Job | client.V1Pod) -> client.V1ObjectMeta:
    """The object's metadata: optional in the client's models (a request body may leave it
    out), always there on what the API server answers and on what build_job makes."""
    if item.metadata is None:
        raise BackendError(f"the API answered a {type(item).__name__} without metadata")
    return item.metadata


def _name(item: client.V1Job | client.V1Pod) -> str:
    name = _meta(item).name
    if name is None:
        raise BackendError(f"the API answered a {type(item).__name__} without a name")
    return name


def _run_info(job: client.V1Job, pods: list[client.V1Pod] | None = None) -> RunInfo:
    meta = _meta(job)
    # The annotations hold the exact slugs; labels may be sanitised forms of them.
    notes = {**(meta.labels or {}), **(meta.annotations or {})}
    subject = notes.get(LABEL_SUBJECT)
    status = job.status or client.V1JobStatus()
    conditions = {c.type: c for c in (status.conditions or []) if c.status == "True"}
    finished = status.completion_time
    waiting, ended = _pod_story(pods or [])
    retries = f", retry {status.failed}" if status.failed and not conditions else ""
    if meta.deletion_timestamp is not None:
        state, detail = RunState.CANCELLED, "being deleted"
    elif "Complete" in conditions:
        state, detail = RunState.SUCCEEDED, "Complete"
    elif "Failed" in conditions:
        failed = conditions["Failed"]
        state, finished = RunState.FAILED, failed.last_transition_time
        detail = ": ".join(filter(None, [failed.reason, failed.message])) or "Failed"
        if ended:
            detail += f"; {ended}"
    elif "FailureTarget" in conditions:
        target = conditions["FailureTarget"]
        state = RunState.FAILING
        detail = ": ".join(filter(None, [target.reason, target.message])) or "failing"
        if ended:
            detail += f"; {ended}"
    elif job.spec is not None and job.spec.suspend:
        state, detail = RunState.QUEUED, _queued_detail(meta.labels or {}, retries)
    elif waiting is not None:
        state, detail = RunState.PENDING, waiting + retries
    elif status.active:
        state, detail = RunState.RUNNING, f"{status.active} pod(s) active{retries}"
    else:
        state, detail = RunState.PENDING, "no pod running yet" + retries
    pod = job.spec.template.spec if job.spec is not None else None
    container = pod.containers[0] if pod is not None and pod.containers else None
    return RunInfo(
        name=_name(job),
        team=notes.get(LABEL_TEAM, ""),
        subject=None if subject in (None, "", ALL_SUBJECTS) else subject,
        state=state,
        created=meta.creation_timestamp or datetime.now(UTC),
        finished=finished,
        detail=detail,
        argv=tuple((container.command or []) + (container.args or [])) if container else (),
    )
