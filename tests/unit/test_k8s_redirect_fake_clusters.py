"""Kubernetes tasks reach the harness's cluster and nothing else: in-process runs against two fake clusters.

Two pretend Kubernetes API servers on loopback ports (HTTPS, one self-signed
certificate) count every TCP connection and record every request: "harness"
and "prod". Everything a developer laptop could fall back to points at prod:
``KUBECONFIG``, ``~/.kube/config`` (contexts ``prod`` and ``docker-desktop``),
the in-cluster service variables and service-account files, and a
``prod_k8s`` connection. A DAG written for production (every way of naming a
cluster, deferrable pods and jobs, resource and job-delete operators, a
subclass, a mapped task, ``@task.kubernetes``, and a user policy that forces
the production connection) then runs with ``dag.test()``:

* with the redirect pointed at the harness kubeconfig, prod sees no connection
  and every task's requests reach the harness (told apart by namespace), the
  deferrable tasks' triggers included;
* without the redirect (the control run), every task does reach prod, so the
  fallbacks in this test are real;
* with no cluster, every task fails at once with ``NoClusterError``.

The tasks fail or succeed depending on how far the fake API lets them get;
what is asserted is where they connected. No kind, no Docker.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import textwrap
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from airflow_e2e_harness.airflow.runner import DagRunner, RunResult
from airflow_e2e_harness.fixtures.plugin import SESSION_KEY
from airflow_e2e_harness.policies.base import hookimpl, policy_manager
from airflow_e2e_harness.policies.k8s_redirect import (
    CONN_ID,
    CONN_ID_WITH_PATH,
    KubernetesRedirect,
    NoClusterError,
)

SERVER_LIFETIME = 600.0  # seconds; a fake API never outlives a stuck test by more
STARTUP_TIMEOUT = 10

DAG_ID = "written_for_prod"
DAG = '''
import pendulum
from airflow.providers.cncf.kubernetes.operators.job import KubernetesDeleteJobOperator, KubernetesJobOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.operators.resource import KubernetesCreateResourceOperator
from airflow import DAG
try:
    from airflow.sdk import task
except ImportError:  # Airflow 2.11
    from airflow.decorators import task

PROD = {prod!r}
CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: prod
"""


class TeamPodOperator(KubernetesPodOperator):
    """A team's own subclass with production baked in."""

    def __init__(self, **kwargs):
        kwargs.setdefault("kubernetes_conn_id", "prod_k8s")
        kwargs.setdefault("cluster_context", "prod")
        super().__init__(**kwargs)


def pod(task_id, **kwargs):
    slug = task_id.replace("_", "-")
    return dict(task_id=task_id, name=slug, namespace="ns-" + slug, image="busybox:1.36", retries=0,
                startup_timeout_seconds={startup}, **kwargs)


with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")):
    KubernetesPodOperator(**pod("no_connection"))
    KubernetesPodOperator(**pod("custom_conn_id", kubernetes_conn_id="prod_k8s"))
    KubernetesPodOperator(**pod("docker_desktop", cluster_context="docker-desktop"))
    KubernetesPodOperator(**pod("in_cluster", in_cluster=True))
    KubernetesPodOperator(**pod("config_file", config_file=PROD))
    KubernetesPodOperator(**pod("deferrable", deferrable=True, poll_interval=1, kubernetes_conn_id="prod_k8s",
                                cluster_context="prod"))
    KubernetesPodOperator(**pod("policy_says_prod"))  # a user cluster policy gives it prod_k8s
    TeamPodOperator(**pod("subclass"))
    KubernetesJobOperator(**pod("job", kubernetes_conn_id="prod_k8s"))
    KubernetesJobOperator(**pod("job_deferrable", deferrable=True, wait_until_job_complete=True,
                                job_poll_interval=1, get_logs=False, parallelism=1, config_file=PROD))
    KubernetesCreateResourceOperator(task_id="create_resource", namespace="ns-create-resource",
                                     yaml_conf=CONFIGMAP, kubernetes_conn_id="prod_k8s", retries=0)
    KubernetesDeleteJobOperator(task_id="delete_job", name="nightly", namespace="ns-delete-job",
                                config_file=PROD, cluster_context="prod", retries=0)
    KubernetesPodOperator.partial(**pod("mapped", kubernetes_conn_id="prod_k8s")).expand(
        arguments=[["one"], ["two"]]
    )

    @task.kubernetes(**pod("taskflow"))
    def taskflow():
        return {{"ran": "in a pod"}}

    taskflow()
'''
TASKS = {
    "no_connection", "custom_conn_id", "docker_desktop", "in_cluster", "config_file", "deferrable",
    "policy_says_prod", "subclass", "job", "job_deferrable", "create_resource", "delete_job", "mapped",
    "taskflow",
}
TASK_INSTANCES = (TASKS - {"mapped"}) | {"mapped[0]", "mapped[1]"}


def namespace(task_id: str) -> str:
    return "ns-" + task_id.replace("_", "-")


# -- a pretend Kubernetes API ------------------------------------------------------------------
class FakeApiServer:
    """HTTPS on 127.0.0.1: counts TCP connections, records requests, answers like a tiny API server.

    Created objects are kept (a Job also gets one Pod); read back, a Pod has failed
    and so has a Job, so every task ends quickly, whichever way it waits.
    """

    def __init__(self, name: str, tls: ssl.SSLContext) -> None:
        self.name = name
        self.connections = 0
        self.requests: list[tuple[str, str, str]] = []  # (method, path, user agent)
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}  # collection path -> name -> object
        self._lock = threading.Lock()
        self._httpd = _CountingHTTPServer(("127.0.0.1", 0), _handler_class(self, tls))
        self._httpd.on_connection = self._count
        self.port = self._httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"fake-{name}", daemon=True)
        self._deadline = threading.Timer(SERVER_LIFETIME, self._httpd.shutdown)
        self._deadline.daemon = True

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        self._deadline.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._deadline.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            self.connections = 0
            self.requests.clear()
            self._objects.clear()

    def namespaces_seen(self) -> set[str]:
        with self._lock:
            paths = [p for _, p, _ in self.requests if "/namespaces/" in p]
            return {p.split("/namespaces/")[1].split("/")[0] for p in paths}

    def agents_in(self, ns: str) -> set[str]:
        with self._lock:
            return {a for _, p, a in self.requests if f"/namespaces/{ns}/" in p}

    def _count(self) -> None:
        with self._lock:
            self.connections += 1

    # -- the API --------------------------------------------------------------------------
    def answer(self, method: str, target: str, body: bytes, agent: str) -> tuple[int, str, bytes]:
        url = urlsplit(target)
        path = url.path.rstrip("/")
        with self._lock:
            self.requests.append((method, path, agent))
            parts = path.strip("/").split("/")
            if "namespaces" not in parts or len(parts) < parts.index("namespaces") + 3:
                return _status(404, "NotFound", f"{path} is not served by this fake")
            at = parts.index("namespaces")
            ns, plural, rest = parts[at + 1], parts[at + 2], parts[at + 3:]
            stored = self._objects.setdefault("/".join([*parts[:at], ns, plural]), {})
            if not rest and method == "POST":
                obj = json.loads(body or b"{}")
                meta = obj.setdefault("metadata", {})
                meta.setdefault("name", meta.get("generateName", "obj-") + uuid.uuid4().hex[:5])
                meta.update(namespace=ns, uid=str(uuid.uuid4()), resourceVersion="1")
                meta["creationTimestamp"] = _now()
                if plural == "pods":
                    obj["status"] = {"phase": "Pending"}
                if plural == "jobs":
                    self._start_job_pod(ns, obj)
                stored[meta["name"]] = obj
                return _json(201, obj)
            if not rest and method == "GET":
                query = parse_qs(url.query)
                if "true" in query.get("watch", []):
                    return 200, "application/json", b""
                selector = query.get("labelSelector", [""])[0]
                items = [_read_back(plural, o) for o in stored.values() if _selects(selector, o)]
                return _json(200, {"apiVersion": "/".join(parts[1:at]), "kind": "List",
                                   "metadata": {"resourceVersion": "1"}, "items": items})
            name = rest[0] if rest else ""
            if name not in stored:
                return _status(404, "NotFound", f'{plural} "{name}" not found')
            if rest[1:] == ["log"]:
                return 200, "text/plain", b""
            if method in ("GET", "PATCH", "PUT"):
                return _json(200, _read_back(plural, stored[name]))
            if method == "DELETE":
                del stored[name]
                return _status(200, "", "deleted", status="Success")
            return _status(405, "MethodNotAllowed", f"{method} {path}")

    def _start_job_pod(self, ns: str, job: dict[str, Any]) -> None:
        """What the job controller would do: one Pod with the template's labels."""
        template = job.get("spec", {}).get("template", {})
        name = job["metadata"]["name"]
        labels = {**template.get("metadata", {}).get("labels", {}), "job-name": name}
        pod = {"apiVersion": "v1", "kind": "Pod", "spec": template.get("spec", {}), "status": {},
               "metadata": {"name": f"{name}-x1z2", "namespace": ns, "labels": labels,
                            "uid": str(uuid.uuid4()), "creationTimestamp": _now()}}
        self._objects.setdefault(f"api/v1/{ns}/pods", {})[pod["metadata"]["name"]] = pod


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_back(plural: str, obj: dict[str, Any]) -> dict[str, Any]:
    obj = json.loads(json.dumps(obj))
    if plural == "pods":
        obj["status"] = {"phase": "Failed", "reason": "FakeCluster", "message": "this cluster is a fake"}
    elif plural == "jobs":
        obj["status"] = {"failed": 1, "conditions": [{
            "type": "Failed", "status": "True", "reason": "FakeCluster", "message": "this cluster is a fake",
        }]}
    return obj


def _selects(selector: str, obj: dict[str, Any]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "(" in term or ")" in term:
            continue  # set-based terms: not needed here
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _json(code: int, doc: dict[str, Any]) -> tuple[int, str, bytes]:
    return code, "application/json", json.dumps(doc).encode()


def _status(code: int, reason: str, message: str, status: str = "Failure") -> tuple[int, str, bytes]:
    return _json(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": status,
                        "reason": reason, "message": message, "code": code})


class _CountingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    on_connection: Any = None

    def process_request(self, request: Any, client_address: Any) -> None:
        self.on_connection()  # every accepted TCP connection, before TLS and HTTP
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-handshake or mid-stream are expected


def _handler_class(api: FakeApiServer, tls: ssl.SSLContext) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            self.request = tls.wrap_socket(self.request, server_side=True)
            super().setup()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            agent = self.headers.get("User-Agent", "")
            code, content_type, payload = api.answer(self.command, self.path, body, agent)
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A CA-capable certificate for 127.0.0.1 and its key, both as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-kube-apiserver")])
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(
        digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "apiserver.crt", folder / "apiserver.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption(),
    ))
    return cert_path, key_path


def write_kubeconfig(path: Path, server: str, ca: Path, contexts: list[str]) -> Path:
    cluster = contexts[0]
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": contexts[0],
        "clusters": [{"name": cluster, "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode(),
        }}],
        "users": [{"name": f"{cluster}-admin", "user": {"token": f"{cluster}-token"}}],
        "contexts": [
            {"name": c, "context": {"cluster": cluster, "user": f"{cluster}-admin"}} for c in contexts
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))
    return path


def sync_client_agent() -> str:
    """The kubernetes (sync) client's User-Agent; kubernetes_asyncio, the triggers' client, sends another."""
    from kubernetes.client import ApiClient

    client = ApiClient()
    try:
        return client.user_agent
    finally:
        client.close()


# -- fixtures ----------------------------------------------------------------------------------
class Clusters:
    def __init__(self, harness: FakeApiServer, prod: FakeApiServer, harness_kubeconfig: Path,
                 prod_kubeconfig: Path) -> None:
        self.harness, self.prod = harness, prod
        self.harness_kubeconfig, self.prod_kubeconfig = harness_kubeconfig, prod_kubeconfig

    def reset(self) -> None:
        self.harness.reset()
        self.prod.reset()

    def counts(self) -> str:
        return (f"harness: {self.harness.connections} connections, {len(self.harness.requests)} requests; "
                f"prod: {self.prod.connections} connections, {len(self.prod.requests)} requests "
                f"{sorted(self.prod.requests)[:20]}")


@pytest.fixture
def clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clusters]:
    """Both fake clusters, and every default on this machine pointing at prod."""
    import kubernetes.config.incluster_config as sync_incluster
    import kubernetes.config.kube_config as sync_kube_config
    import kubernetes_asyncio.config.incluster_config as async_incluster
    import kubernetes_asyncio.config.kube_config as async_kube_config

    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with FakeApiServer("harness", tls) as harness, FakeApiServer("prod", tls) as prod:
        home = tmp_path / "home"
        prod_config = write_kubeconfig(home / ".kube" / "config", prod.url, cert, ["prod", "docker-desktop"])
        harness_config = write_kubeconfig(
            tmp_path / "kind" / "kubeconfig", harness.url, cert, ["kind-airflow-e2e"],
        )
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("KUBECONFIG", str(prod_config))
        # The clients read KUBECONFIG once, at import (and the plugin imported them long ago).
        monkeypatch.setattr(sync_kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(prod_config))
        monkeypatch.setattr(async_kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(prod_config))
        # In-cluster configuration: the service variables, and the service account's token and CA files.
        token = tmp_path / "serviceaccount" / "token"
        token.parent.mkdir()
        token.write_text("prod-service-account-token")
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(prod.port))
        for module in (sync_incluster, async_incluster):
            monkeypatch.setattr(module, "SERVICE_TOKEN_FILENAME", str(token))
            monkeypatch.setattr(module, "SERVICE_CERT_FILENAME", str(cert))
        monkeypatch.setenv("AIRFLOW_CONN_PROD_K8S", json.dumps(
            {"conn_type": "kubernetes", "extra": {"kube_config_path": str(prod_config)}}
        ))
        yield Clusters(harness, prod, harness_config, prod_config)


@pytest.fixture
def no_other_redirect(pytestconfig: pytest.Config) -> Iterator[None]:
    """The plugin's session installed its own redirect (no cluster there): step it aside meanwhile."""
    session = pytestconfig.stash.get(SESSION_KEY, None)
    redirect = session.policies.kubernetes if session is not None else None
    was_installed = bool(redirect is not None and redirect.installed)
    if was_installed:
        redirect.uninstall()
    try:
        yield
    finally:
        if was_installed:
            redirect.install()


@pytest.fixture
def runner(pytestconfig: pytest.Config, tmp_path: Path) -> DagRunner:
    """Runs DAGs in the session's private Airflow home; artifacts stay under tmp_path."""
    session = pytestconfig.stash[SESSION_KEY]
    return DagRunner(session.home, tmp_path / "artifacts")


@pytest.fixture
def dags(tmp_path: Path, clusters: Clusters) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    source = DAG.format(prod=str(clusters.prod_kubeconfig), dag_id=DAG_ID, startup=STARTUP_TIMEOUT)
    (folder / f"{DAG_ID}.py").write_text(textwrap.dedent(source))
    return folder


class ProductionPolicy:
    """A user's own airflow_local_settings policy: pins one task to production (connection and file)."""

    def __init__(self, prod_kubeconfig: Path) -> None:
        self.prod_kubeconfig = prod_kubeconfig
        self.seen: set[str] = set()

    @hookimpl
    def task_policy(self, task: Any) -> None:
        self.seen.add(task.task_id)
        if task.task_id == "policy_says_prod":
            task.kubernetes_conn_id = "prod_k8s"
            task.config_file = str(self.prod_kubeconfig)


@pytest.fixture
def installed(
    no_other_redirect: None, clusters: Clusters,
) -> Iterator[tuple[KubernetesRedirect, ProductionPolicy]]:
    """The user's policy (registered first, as local settings are), then the redirect; both removed after.

    Pluggy calls the last registered first: without ``trylast`` the user's policy would undo the redirect.
    """
    users = ProductionPolicy(clusters.prod_kubeconfig)
    redirect = KubernetesRedirect()
    manager = policy_manager()
    manager.register(users, name="users-local-settings-policy")
    try:
        redirect.install()
        redirect.install()  # idempotent
        yield redirect, users
    finally:
        redirect.uninstall()
        redirect.uninstall()
        manager.unregister(users)


def run(runner: DagRunner, dags: Path) -> RunResult:
    return runner.run(dags, DAG_ID, "2026-01-05")


def describe(result: RunResult, clusters: Clusters) -> str:
    return f"{result.describe()}\n{clusters.counts()}"


# -- tests -------------------------------------------------------------------------------------
def test_every_task_reaches_the_harness_cluster_and_none_reaches_prod(
    installed: tuple[KubernetesRedirect, ProductionPolicy], clusters: Clusters, dags: Path,
    runner: DagRunner, monkeypatch: pytest.MonkeyPatch,
) -> None:
    redirect, users = installed
    redirect.kubeconfig = clusters.harness_kubeconfig  # the policy alone: no target(), no global patch
    for name, value in redirect.connections().items():
        monkeypatch.setenv(name, value)

    result = run(runner, dags)

    print(f"redirected run: {result.seconds:.1f}s, {clusters.counts()}")
    assert set(result.tasks) == TASK_INSTANCES, describe(result, clusters)
    assert clusters.prod.connections == 0, describe(result, clusters)
    assert clusters.prod.requests == [], describe(result, clusters)
    assert clusters.harness.connections >= len(TASK_INSTANCES), describe(result, clusters)
    missing = {t for t in TASKS if namespace(t) not in clusters.harness.namespaces_seen()}
    assert not missing, f"never reached the harness: {missing}\n{describe(result, clusters)}"
    # The deferrable tasks' triggers polled the harness too (their async client), not only their sync part.
    for task_id in ("deferrable", "job_deferrable"):
        triggers = clusters.harness.agents_in(namespace(task_id)) - {sync_client_agent()}
        assert triggers, clusters.harness.requests

    mapped = redirect.mapped_in(DAG_ID)
    assert set(mapped) == TASKS, mapped
    assert mapped["no_connection"] == "kubernetes_conn_id='kubernetes_default' -> the session's cluster"
    assert mapped["docker_desktop"] == (
        "kubernetes_conn_id='kubernetes_default', cluster_context='docker-desktop' -> the session's cluster"
    )
    assert "in_cluster=True" in mapped["in_cluster"]
    assert f"config_file='{clusters.prod_kubeconfig}'" in mapped["config_file"]
    assert "each mapped instance" in mapped["mapped"]
    assert mapped["policy_says_prod"].startswith(  # the user's policy ran first ...
        f"kubernetes_conn_id='prod_k8s', config_file='{clusters.prod_kubeconfig}'"
    )
    assert users.seen >= TASKS  # ... for every task

    # -- CONTROL RUN: the same DAG, machine and user policy, no redirect: every task does reach prod. --
    redirect.uninstall()
    clusters.reset()
    control = run(runner, dags)
    print(f"control run: {control.seconds:.1f}s, {clusters.counts()}")
    assert clusters.prod.connections > 0, describe(control, clusters)
    not_prod = {t for t in TASKS if namespace(t) not in clusters.prod.namespaces_seen()}
    assert not not_prod, f"control: these never reached prod, so they proved nothing: {not_prod}"
    assert clusters.harness.connections == 0, describe(control, clusters)


def test_without_a_cluster_every_kubernetes_task_fails_at_once(
    installed: tuple[KubernetesRedirect, ProductionPolicy], clusters: Clusters, dags: Path,
    runner: DagRunner,
) -> None:
    redirect, _ = installed
    assert redirect.kubeconfig is None
    assert redirect.connections() == {} and redirect.connection_json() is None

    result = run(runner, dags)

    print(f"no-cluster run: {result.seconds:.1f}s, {clusters.counts()}")
    assert result.states == dict.fromkeys(TASK_INSTANCES, "failed"), describe(result, clusters)
    for task_id, task in result.tasks.items():
        assert NoClusterError.__name__ in task.log, f"{task_id}:\n{task.log}"
        assert (
            "harness environment has no kind cluster: run the DAG in an environment made with "
            "`airflow_e2e.kind(...)`"
        ) in task.log, f"{task_id}:\n{task.log}"
        assert f"task '{task_id.split('[')[0]}' of DAG '{DAG_ID}'" in task.log, task.log
    assert "is a TeamPodOperator" in result.tasks["subclass"].log
    assert "is a KubernetesJobOperator" in result.tasks["job_deferrable"].log
    assert clusters.prod.connections == 0, describe(result, clusters)
    assert clusters.harness.connections == 0, describe(result, clusters)
    # "At once": no task reached any cluster (the counts above) before it failed (no timing asserted).
    assert all(how.endswith("refused: no kind cluster in this environment")
               for how in redirect.mapped_in(DAG_ID).values())


def test_connections_carry_the_kubeconfig_where_no_config_dict_can_clash(tmp_path: Path) -> None:
    redirect = KubernetesRedirect(kubeconfig=tmp_path / "kubeconfig", sidecar_image="sidecar:e2e")
    plain = json.loads(redirect.connection_json())
    with_path = json.loads(redirect.connection_json(CONN_ID_WITH_PATH))
    assert plain == {"conn_type": "kubernetes", "extra": {"xcom_sidecar_container_image": "sidecar:e2e"}}
    assert with_path["extra"] == {
        "kube_config_path": str(tmp_path / "kubeconfig"), "xcom_sidecar_container_image": "sidecar:e2e",
    }
    assert set(redirect.connections()) == {
        f"AIRFLOW_CONN_{CONN_ID.upper()}", f"AIRFLOW_CONN_{CONN_ID_WITH_PATH.upper()}",
    }
    redirect.sidecar_image = None
    assert json.loads(redirect.connection_json()).get("extra", {}) == {}  # as_json leaves an empty extra out
