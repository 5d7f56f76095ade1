"""A small Kubernetes API emulator for the launcher's tests, served over real HTTP on loopback.

It speaks just enough of the API for the official client: batch/v1 Jobs (create with 409 on a
duplicate name, get, list with equality label selectors, delete with the propagation policy
recorded), core/v1 Pods (list, watch from a resourceVersion, with a 410 on demand) and pod logs
(400 while the container waits, then the lines, following new ones until the container ends).
A creating Job gets one pod whose container is waiting (none while it is suspended); the tests
move it on with the helpers (`start`, `log`, `finish`, and `admit` in Kueue's part), playing the
part of the kubelet, the Job controller and Kueue.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

JOB_PATH = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+))?$")
POD_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?(/log)?$")
QUEUE_PATH = re.compile(
    r"^/apis/kueue.x-k8s.io/v1beta2/namespaces/([^/]+)/localqueues(?:/([^/]+))?$"
)
POD_JOB_LABEL = "batch.kubernetes.io/job-name"
CONTAINER = "train"


def timestamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def matches(labels: dict[str, str], selector: str | None) -> bool:
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


class KubeEmulator:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.local_queues: dict[tuple[str, str], dict[str, Any]] = {}  # Kueue's LocalQueues
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.logs: dict[tuple[str, str], list[str]] = {}
        self.events: list[tuple[int, str, dict[str, Any]]] = []  # (rv, type, pod)
        self.version = 100
        self.expire_watches = 0  # answer this many coming watches with a 410 Gone event
        self.deletions: list[tuple[str, str, str | None]] = []  # (kind, name, policy)
        self.log_queries: list[dict[str, str]] = []  # query of every pod log request
        self.dropping = 0  # bumped by drop_log_streams
        self.requests: list[tuple[str, str]] = []
        self.closed = False
        self.created_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> KubeEmulator:
        self.thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            self.closed = True
            self.lock.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # -- state changes (the kubelet's and the Job controller's part) ------------------------

    def _bump(self, obj: dict[str, Any]) -> int:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        return self.version

    def _pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        rv = self._bump(pod)
        self.events.append((rv, kind, copy.deepcopy(pod)))
        self.lock.notify_all()

    def _create_pod(self, namespace: str, job: dict[str, Any], suffix: str = "abcde") -> None:
        name = job["metadata"]["name"]
        template = job["spec"]["template"]
        labels = {**(template.get("metadata") or {}).get("labels", {}), POD_JOB_LABEL: name}
        labels["job-name"] = name
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{name}-{suffix}",
                "namespace": namespace,
                "labels": labels,
                "creationTimestamp": timestamp(self.created_at),
            },
            "spec": {"containers": [{"name": CONTAINER, "image": "gregory-train:test"}]},
            "status": {
                "phase": "Pending",
                "containerStatuses": [
                    self._container({"waiting": {"reason": "ContainerCreating"}})
                ],
            },
        }
        self.pods[(namespace, pod["metadata"]["name"])] = pod
        self.logs[(namespace, pod["metadata"]["name"])] = []
        job["status"] = {"active": 1, "startTime": timestamp(self.created_at)}
        self._pod_event("ADDED", pod)

    @staticmethod
    def _container(state: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": CONTAINER,
            "image": "gregory-train:test",
            "imageID": "",
            "ready": "running" in state,
            "restartCount": 0,
            "state": state,
        }

    def pod_of(self, job_name: str, namespace: str = "gregory") -> str:
        with self.lock:
            for (ns, name), pod in self.pods.items():
                labels = pod["metadata"]["labels"]
                # A failed try's pod is retired: the live one is the Job's pod now.
                if (
                    ns == namespace
                    and labels.get(POD_JOB_LABEL) == job_name
                    and "gregory-emulator/retired" not in labels
                ):
                    return name
        raise KeyError(job_name)

    def set_waiting(self, job_name: str, reason: str, namespace: str = "gregory") -> None:
        pod_name = self.pod_of(job_name, namespace)
        with self.lock:
            pod = self.pods[(namespace, pod_name)]
            pod["status"]["containerStatuses"] = [self._container({"waiting": {"reason": reason}})]
            pod["status"].pop("conditions", None)  # scheduled now, if it was not
            self._pod_event("MODIFIED", pod)

    def start_container(self, job_name: str, namespace: str = "gregory") -> None:
        pod_name = self.pod_of(job_name, namespace)
        with self.lock:
            pod = self.pods[(namespace, pod_name)]
            pod["status"]["phase"] = "Running"
            state = {"running": {"startedAt": timestamp()}}
            pod["status"]["containerStatuses"] = [self._container(state)]
            pod["status"].pop("conditions", None)
            self._pod_event("MODIFIED", pod)

    def unschedulable(self, job_name: str, message: str, namespace: str = "gregory") -> None:
        """The scheduler finds no node for the pod (no GPU free, taints, requests too big)."""
        pod_name = self.pod_of(job_name, namespace)
        with self.lock:
            pod = self.pods[(namespace, pod_name)]
            pod["status"].pop("containerStatuses", None)
            condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
            pod["status"]["conditions"] = [{**condition, "message": message}]
            self._pod_event("MODIFIED", pod)

    def retry(self, job_name: str, exit_code: int = 1, namespace: str = "gregory") -> str:
        """The pod's container fails and the Job controller makes the next pod; its name."""
        pod_name = self.pod_of(job_name, namespace)
        with self.lock:
            pod = self.pods[(namespace, pod_name)]
            pod["status"]["phase"] = "Failed"
            terminated = {"exitCode": exit_code, "reason": "Error"}
            pod["status"]["containerStatuses"] = [self._container({"terminated": terminated})]
            pod["metadata"]["labels"]["gregory-emulator/retired"] = "true"
            self._pod_event("MODIFIED", pod)
            job = self.jobs[(namespace, job_name)]
            failed = job.get("status", {}).get("failed", 0) + 1
            self.created_at = self.created_at + timedelta(minutes=1)  # the newer pod
            self._create_pod(namespace, job, suffix=f"retry{failed}")
            job["status"]["failed"] = failed
            self._bump(job)
        return f"{job_name}-retry{failed}"

    def drop_log_streams(self) -> None:
        """Every open log stream ends, as when an API server or a proxy cuts a connection."""
        with self.lock:
            self.dropping += 1
            self.lock.notify_all()

    def suspend(self, job_name: str, namespace: str = "gregory") -> None:
        with self.lock:
            job = self.jobs[(namespace, job_name)]
            job["spec"]["suspend"] = True
            job["status"] = {}
            self._bump(job)

    def admit(self, job_name: str, namespace: str = "gregory") -> None:
        """Kueue admits the Job: it resumes it, and the Job controller makes its pod."""
        with self.lock:
            job = self.jobs[(namespace, job_name)]
            job["spec"]["suspend"] = False
            self._create_pod(namespace, job)
            self._bump(job)

    def failure_target(self, job_name: str, reason: str, namespace: str = "gregory") -> None:
        """The Job controller has decided the Job fails and is ending its pods."""
        with self.lock:
            job = self.jobs[(namespace, job_name)]
            condition = {"type": "FailureTarget", "status": "True", "reason": reason}
            job["status"] = {**job.get("status", {}), "conditions": [condition]}
            self._bump(job)

    def log(self, job_name: str, *lines: str, namespace: str = "gregory") -> None:
        self.write(job_name, "".join(f"{line}\n" for line in lines), namespace=namespace)

    def write(self, job_name: str, text: str, namespace: str = "gregory") -> None:
        """Raw output, as a program writes it: a line without its newline yet, `\r` redraws."""
        pod_name = self.pod_of(job_name, namespace)
        with self.lock:
            self.logs[(namespace, pod_name)].append(text)
            self.lock.notify_all()

    def finish(
        self,
        job_name: str,
        *,
        succeeded: bool,
        reason: str = "",
        message: str = "",
        exit_code: int | None = None,
        pod_reason: str | None = None,
        namespace: str = "gregory",
    ) -> None:
        """The container ends (its log stream closes) and the Job gets its final condition;
        `pod_reason` is the container's own (OOMKilled), else the Job's reason."""
        pod_name = self.pod_of(job_name, namespace)
        finished = datetime(2026, 1, 2, 3, 14, 5, tzinfo=UTC)
        with self.lock:
            pod = self.pods[(namespace, pod_name)]
            pod["status"]["phase"] = "Succeeded" if succeeded else "Failed"
            code = exit_code if exit_code is not None else (0 if succeeded else 1)
            terminated = {"exitCode": code, "reason": pod_reason or reason or "Completed"}
            pod["status"]["containerStatuses"] = [self._container({"terminated": terminated})]
            self._pod_event("MODIFIED", pod)
            job = self.jobs[(namespace, job_name)]
            condition = {
                "type": "Complete" if succeeded else "Failed",
                "status": "True",
                "reason": reason or None,
                "message": message or None,
                "lastTransitionTime": timestamp(finished),
            }
            job["status"] = {
                "active": 0,
                "succeeded" if succeeded else "failed": 1,
                "conditions": [condition],
                "startTime": timestamp(self.created_at),
            }
            if succeeded:
                job["status"]["completionTime"] = timestamp(finished)
            self._bump(job)

    # -- HTTP -------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 with chunked streams, as the API server answers watches and log follows:
            # the client hands each chunk on as it arrives.
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def send_json(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def start_stream(self, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def chunk(self, data: bytes) -> bool:
                """Send one chunk (empty: the last one); False when the client has gone."""
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    return True
                except OSError:
                    self.close_connection = True
                    return False

            def body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def route(self, method: str) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                emulator.requests.append((method, url.path))
                if match := JOB_PATH.match(url.path):
                    emulator._jobs(self, method, match.group(1), match.group(2), query)
                elif match := QUEUE_PATH.match(url.path):
                    emulator._local_queues(self, method, match.group(1), match.group(2))
                elif match := POD_PATH.match(url.path):
                    namespace, name, log = match.groups()
                    if log and method == "GET":
                        emulator._pod_log(self, namespace, name, query)
                    elif method == "GET" and name is None:
                        emulator._pods(self, namespace, query)
                    elif method == "GET":
                        with emulator.lock:
                            pod = emulator.pods.get((namespace, name))
                        if pod is None:
                            self.send_json(404, status_body(404, "NotFound", f"pod {name}"))
                        else:
                            self.send_json(200, pod)
                    else:
                        self.send_json(405, status_body(405, "MethodNotAllowed", method))
                else:
                    self.send_json(404, status_body(404, "NotFound", url.path))

            def do_GET(self) -> None:
                self.route("GET")

            def do_POST(self) -> None:
                self.route("POST")

            def do_DELETE(self) -> None:
                self.route("DELETE")

        return Handler

    def _jobs(self, http: Any, method: str, ns: str, name: str | None, query: dict) -> None:
        with self.lock:
            if method == "POST" and name is None:
                job = http.body()
                job_name = job["metadata"]["name"]
                if (ns, job_name) in self.jobs:
                    message = f'jobs.batch "{job_name}" already exists'
                    http.send_json(409, status_body(409, "AlreadyExists", message))
                    return
                job["metadata"].update(
                    namespace=ns,
                    uid=f"uid-{job_name}",
                    creationTimestamp=timestamp(self.created_at),
                )
                job["status"] = {}
                self._bump(job)
                self.jobs[(ns, job_name)] = job
                # The Job controller makes no pod for a suspended Job (Kueue's queued ones).
                if not job["spec"].get("suspend"):
                    self._create_pod(ns, job)
                http.send_json(201, job)
            elif method == "GET" and name is None:
                items = [
                    job
                    for (job_ns, _), job in sorted(self.jobs.items())
                    if job_ns == ns
                    and matches(job["metadata"].get("labels", {}), query.get("labelSelector"))
                ]
                http.send_json(
                    200,
                    {
                        "apiVersion": "batch/v1",
                        "kind": "JobList",
                        "metadata": {"resourceVersion": str(self.version)},
                        "items": items,
                    },
                )
            elif method == "GET":
                job = self.jobs.get((ns, name))
                if job is None:
                    http.send_json(
                        404, status_body(404, "NotFound", f'jobs.batch "{name}" not found')
                    )
                else:
                    http.send_json(200, job)
            elif method == "DELETE" and name is not None:
                options = http.body()
                policy = options.get("propagationPolicy") or query.get("propagationPolicy")
                job = self.jobs.pop((ns, name), None)
                if job is None:
                    http.send_json(
                        404, status_body(404, "NotFound", f'jobs.batch "{name}" not found')
                    )
                    return
                self.deletions.append(("Job", name, policy))
                # The garbage collector's part: with Foreground the pods go before the Job.
                for key, pod in list(self.pods.items()):
                    if pod["metadata"]["labels"].get(POD_JOB_LABEL) == name:
                        del self.pods[key]
                        self._pod_event("DELETED", pod)
                job["metadata"]["deletionTimestamp"] = timestamp()
                if policy == "Foreground":
                    job["metadata"]["finalizers"] = ["foregroundDeletion"]
                http.send_json(200, job)
            else:
                http.send_json(405, status_body(405, "MethodNotAllowed", method))

    def add_local_queue(
        self, name: str, cluster_queue: str = "gregory", namespace: str = "gregory"
    ) -> None:
        """An operator (or the kueue component) created the LocalQueue."""
        with self.lock:
            self.local_queues[(namespace, name)] = {
                "apiVersion": "kueue.x-k8s.io/v1beta2",
                "kind": "LocalQueue",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"clusterQueue": cluster_queue},
            }

    def _local_queues(self, http: Any, method: str, ns: str, name: str | None) -> None:
        with self.lock:
            if method == "POST" and name is None:
                queue = http.body()
                key = (ns, queue["metadata"]["name"])
                if key in self.local_queues:
                    http.send_json(409, status_body(409, "AlreadyExists", f"{key[1]} exists"))
                    return
                queue["metadata"]["namespace"] = ns
                self.local_queues[key] = queue
                http.send_json(201, queue)
            elif method == "GET" and name is not None:
                queue = self.local_queues.get((ns, name))
                if queue is None:
                    message = f'localqueues.kueue.x-k8s.io "{name}" not found'
                    http.send_json(404, status_body(404, "NotFound", message))
                else:
                    http.send_json(200, queue)
            else:
                http.send_json(405, status_body(405, "MethodNotAllowed", method))

    def _pods(self, http: Any, ns: str, query: dict) -> None:
        selector = query.get("labelSelector")
        if query.get("watch") not in ("true", "1"):
            with self.lock:
                items = [
                    pod
                    for (pod_ns, _), pod in sorted(self.pods.items())
                    if pod_ns == ns and matches(pod["metadata"]["labels"], selector)
                ]
                body = {
                    "apiVersion": "v1",
                    "kind": "PodList",
                    "metadata": {"resourceVersion": str(self.version)},
                    "items": items,
                }
            http.send_json(200, body)
            return
        http.start_stream("application/json")
        try:
            self._watch_pods(http, ns, selector, query)
        finally:
            http.chunk(b"")

    def _watch_pods(self, http: Any, ns: str, selector: str | None, query: dict) -> None:
        with self.lock:
            if self.expire_watches > 0:
                self.expire_watches -= 1
                gone = status_body(410, "Expired", "too old resource version")
                http.chunk(json.dumps({"type": "ERROR", "object": gone}).encode() + b"\n")
                return
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 30)
        while True:
            with self.lock:
                fresh = [
                    (rv, kind, pod)
                    for rv, kind, pod in self.events
                    if rv > since
                    and pod["metadata"]["namespace"] == ns
                    and matches(pod["metadata"]["labels"], selector)
                ]
                if not fresh:
                    left = deadline - time.monotonic()
                    if left <= 0 or self.closed:
                        return
                    self.lock.wait(min(left, 0.5))
                    continue
            for rv, kind, pod in fresh:
                since = rv
                if not http.chunk(json.dumps({"type": kind, "object": pod}).encode() + b"\n"):
                    return

    def _pod_log(self, http: Any, ns: str, name: str, query: dict) -> None:
        with self.lock:
            self.log_queries.append(dict(query))
            pod = self.pods.get((ns, name))
            if pod is None:
                http.send_json(404, status_body(404, "NotFound", f'pods "{name}" not found'))
                return
            state = pod["status"]["containerStatuses"][0]["state"]
            if "waiting" in state:
                reason = state["waiting"]["reason"]
                message = f'container "{CONTAINER}" in pod "{name}" is waiting to start: {reason}'
                http.send_json(400, status_body(400, "BadRequest", message))
                return
        http.start_stream("text/plain")
        try:
            self._follow_log(http, ns, name, query.get("follow") in ("true", "1"))
        finally:
            http.chunk(b"")

    def _follow_log(self, http: Any, ns: str, name: str, follow: bool) -> None:
        sent = 0
        dropping = self.dropping
        while True:
            with self.lock:
                if self.dropping != dropping:
                    return
                lines = self.logs.get((ns, name), [])
                fresh, sent = lines[sent:], len(lines)
                pod = self.pods.get((ns, name))
                ended = (
                    pod is None or "terminated" in pod["status"]["containerStatuses"][0]["state"]
                )
                if not fresh:
                    if not follow or ended or self.closed:
                        return
                    self.lock.wait(0.5)
                    continue
            if not http.chunk("".join(fresh).encode()):
                return
