"""Every place the harness reaches into an internal of Airflow, a provider, the kubernetes clients or
pytest-kind: what, where, why no public extension point does it, and what it was tested on.

This file is the list to review on an upgrade. Code that uses an entry gets it from here (a
:class:`~.patch.Patch` for kind ``patch``, ``entry.load()`` or ``entry.require()`` for the rest),
so the target is checked before it is relied on, and an error names the entry, the installed
version and this file. ``tests/unit/test_internals_registry.py`` checks every entry on the
installed versions, and that no harness module imports an internal module without an entry here.

One adapter per Airflow line: where a target differs by line, ``by_line`` names it per line (None:
that line has none, and the code using it does without); a new line (2.11) adds its targets there.
"""

from __future__ import annotations

from airflow_e2e_harness.internals.entry import (
    Internal,
    is_cached_property,
    names_in,
    per_line,
    sets_only,
    takes,
)

AIRFLOW_VERSIONS = "3.1.8, 3.2.2, 3.3.2"
AIRFLOW_2_VERSIONS = "2.11.2"  # Airflow 2: core and what became the task SDK are apache-airflow itself
ALL_AIRFLOW = f"{AIRFLOW_2_VERSIONS}, {AIRFLOW_VERSIONS}"
CORE = {"apache-airflow-core": AIRFLOW_VERSIONS, "apache-airflow": ALL_AIRFLOW}
SDK = {"apache-airflow-task-sdk": "1.1.8, 1.2.2, 1.3.2", "apache-airflow": ALL_AIRFLOW}
CNCF = {"apache-airflow-providers-cncf-kubernetes": "10.25.0", "apache-airflow": ALL_AIRFLOW}
DOCKER = {"apache-airflow-providers-docker": "4.6.1", "apache-airflow": ALL_AIRFLOW}
DAG_TEST = "airflow.sdk.definitions.dag:DAG.test"
DAG_TEST_2 = "airflow.models.dag:DAG.test"  # Airflow 2.11: DAG, dag.test() and its helpers in one module

# -- Airflow: dag.test() and the task runner ---------------------------------------------------------
RUN_TASK_IN_PROCESS = Internal(
    "supervisor.run_task_in_process", "patch", "airflow.sdk.execution_time.supervisor:run_task_in_process",
    by_line={"2.11": "airflow.models.dag:_run_task"},
    why="dag.test() imports it for each task (in _run_task); when it returns, control is outside the "
        "task runner's catch-all, the one point where a Ctrl-C that landed inside a task can stop the DAG "
        "run. Listeners run inside the runner and their exceptions are logged; dag.test() has no per-task "
        "hook. Airflow 2.11 has no supervisor: dag.test() calls the module's own _run_task for each task.",
    distribution="apache-airflow-task-sdk", tested=SDK,
    used_by="airflow.interrupts.InterruptGuard (each DAG run); on 2.11 also airflow.lines.Airflow2.dag_test "
            "(each task's start date)",
    check=per_line({"2.11": names_in("_run_task", reader=DAG_TEST_2)},
                   default=names_in("run_task_in_process", reader="airflow.sdk.definitions.dag:_run_task")),
)
IN_PROCESS_API_SERVER = Internal(
    "supervisor.in_process_api_server", "patch",
    "airflow.sdk.execution_time.supervisor:in_process_api_server",
    by_line={"2.11": None},
    why="Airflow 3.1 and 3.2 build the in-process execution API anew for every task dag.test() runs "
        "(about 3 s a task on 3.2); 3.3 caches it per process with functools.lru_cache. No setting does: "
        "the harness wraps it in the same cache for the session (and builds it early, in a thread). "
        "Airflow 2.11 has no execution API: tasks write to the metadata DB themselves.",
    distribution="apache-airflow-task-sdk", tested=SDK,
    used_by="airflow.prestart.keep_one_execution_api (the session; undone at its end)",
)
TASK_RUNNER = Internal(
    "task_runner._execute_task", "private-attribute", "airflow.sdk.execution_time.task_runner:_execute_task",
    by_line={"2.11": "airflow.models.taskinstance:_run_raw_task"},
    why="Whether a signal landed inside a task is read from the stack: frames of this module mean the "
        "runner's catch-all will turn an exception into a task failure. Nothing public says a task is "
        "executing in this thread. On Airflow 2.11 the runner's module (taskinstance) also serves "
        "dag.test()'s loop between tasks, so there only frames of _run_raw_task (which fails the task, then "
        "re-raises) count.",
    distribution="apache-airflow-task-sdk", tested=SDK,
    used_by="airflow.interrupts.inside_task_runner (on 2.11 with "
            "airflow.lines.Airflow2.task_runner_function)",
)
PRE_EXECUTE_HOOK = Internal(
    "BaseOperator._pre_execute_hook", "private-attribute",
    "airflow.sdk.bases.operator:BaseOperator._pre_execute_hook",
    by_line={"2.11": "airflow.models.baseoperator:BaseOperator.pre_execute"},
    why="The harness's checks (redirects, image check, interrupts) must run as each task starts: rendered, "
        "each mapped instance known, before pre_execute and execute. The pre_execute= argument is the DAG "
        "author's; a cluster policy (parse time) chains onto the private attribute it is stored in. "
        "Listeners cannot refuse a task (their exceptions are logged). Airflow 2.11 keeps the attribute "
        "per instance (set in __init__), and BaseOperator.pre_execute calls it, after rendering, also when a "
        "deferred task resumes.",
    distribution="apache-airflow-task-sdk", tested=SDK, used_by="policies.base.chain_pre_execute",
    check=per_line({"2.11": names_in("_pre_execute_hook")},
                   default=names_in("_pre_execute_hook",
                                    reader="airflow.sdk.execution_time.task_runner:_execute_task")),
)
MAPPED_PARTIAL_KWARGS = Internal(
    "MappedOperator.partial_kwargs", "private-attribute",
    "airflow.sdk.definitions.mappedoperator:MappedOperator.partial_kwargs",
    by_line={"2.11": "airflow.models.mappedoperator:MappedOperator.partial_kwargs"},
    why="A cluster policy gets a mapped task as one MappedOperator; its operator arguments (pre_execute, "
        "KubernetesPodOperator intervals) live in partial_kwargs until each instance is made with them, "
        "so that is where a policy changes them.",
    distribution="apache-airflow-task-sdk", tested=SDK,
    used_by="policies.base (is_mapped, chain_pre_execute), policies.k8s_waits.shorten, "
            "policies.k8s_redirect.what_the_dag_said",
    check=per_line({"2.11": takes("pre_execute", of="airflow.models.baseoperator:BaseOperator.__init__")},
                   default=takes("pre_execute", of="airflow.sdk.bases.operator:BaseOperator.__init__")),
)
POLICY_PLUGIN_MANAGER = Internal(
    "settings policy plugin manager", "moved-import", "airflow.settings:get_policy_plugin_manager",
    by_line={line: "airflow.settings:POLICY_PLUGIN_MANAGER" for line in ("2.11", "3.1")},
    why="Cluster policies are Airflow's supported hook, but airflow_local_settings.py and the airflow.policy "
        "entry points are read once per process; the harness registers its policies for a session, on the "
        "manager the DagBag calls. 2.11 and 3.1 keep it in a module global, 3.2 behind a cached function.",
    distribution="apache-airflow-core", tested=CORE, used_by="policies.base.policy_manager",
)
INIT_DB = Internal(
    "db.initdb", "internal-import", "airflow.utils.db:initdb",
    why="dag.test() needs a migrated metadata DB; `airflow db migrate` does this in a new process (seconds "
        "of Airflow start-up), and its in-process command function is no more public than this.",
    distribution="apache-airflow-core", tested=CORE, used_by="airflow.home.AirflowHome.migrate",
)
DAG_BAG = Internal(
    "DagBag", "moved-import", "airflow.dag_processing.dagbag:DagBag",
    by_line={"3.1": "airflow.models.dagbag:DagBag", "2.11": "airflow.models.dagbag:DagBag"},
    why="Parsing a DAG folder as the DAG processor does (import errors, cluster policies) takes a DagBag; "
        "Airflow 3 documents no public way. It moved in 3.2 (airflow.models.dagbag keeps a deprecated "
        "alias).",
    distribution="apache-airflow-core", tested=CORE, used_by="airflow.runner.DagRunner.load",
)
COERCE_TO_CORE_TIMETABLE = Internal(
    "coerce_to_core_timetable", "moved-import", "airflow.serialization.encoders:coerce_to_core_timetable",
    by_line={"3.1": None, "2.11": None},
    why="The scheduler and dag.test() compute runs with the core timetable, which 3.2 split from the SDK "
        "one a DAG holds; this is what dag.test() converts it with. On 2.11 and 3.1 the DAG holds the core "
        "one.",
    distribution="apache-airflow-core", tested=CORE, used_by="airflow.scheduled_runs.core_timetable",
)
GET_OR_CREATE_DAGRUN = Internal(
    "dagrun.get_or_create_dagrun", "patch", "airflow.models.dagrun:get_or_create_dagrun",
    by_line={"2.11": "airflow.models.dag:_get_or_create_dagrun"},
    why="dag.test() always creates a manual run (whose data interval differs from the scheduled run's) "
        "and has no run type argument; it imports this function when called, so standing in for it "
        "during one call makes it run the scheduled run instead. On Airflow 2.11 it is a global of "
        "dag.test()'s own module, looked up when called.",
    distribution="apache-airflow-core", tested={**CORE, **SDK}, used_by="airflow.scheduled_runs.as_scheduled",
    check=per_line({"2.11": names_in("_get_or_create_dagrun", reader=DAG_TEST_2)},
                   default=names_in("get_or_create_dagrun", reader=DAG_TEST)),
)
DAG_RUN = Internal(
    "DagRun", "internal-import", "airflow.models.dagrun:DagRun",
    why="The scheduled-run stand-in first deletes an earlier run of the same logical date, as "
        "get_or_create_dagrun does; only the metadata DB's model can.",
    distribution="apache-airflow-core", tested=CORE, used_by="airflow.scheduled_runs.as_scheduled",
)
TASK_INSTANCE = Internal(
    "TaskInstance", "internal-import", "airflow.models.taskinstance:TaskInstance",
    why="A finished run's task instances, read from the metadata DB: dag.test() runs no API server to ask.",
    distribution="apache-airflow-core", tested=CORE, used_by="airflow.xcoms.read_xcoms",
)
XCOM_MODEL = Internal(
    "XComModel", "internal-import", "airflow.models.xcom:XComModel",
    by_line={"2.11": "airflow.models.xcom:BaseXCom"},
    why="XComs as stored (the raw column), so that they are decoded once, the way a downstream task gets "
        "them; TaskInstance.xcom_pull decodes twice. No API server runs under dag.test(). On Airflow 2.11 "
        "the table's model is BaseXCom, whose rows a downstream task's pull decodes with the backend.",
    distribution="apache-airflow-core", tested=CORE, used_by="airflow.xcoms.read_xcoms",
)
XCOM_RESULT = Internal(
    "XComResult", "internal-import", "airflow.sdk.execution_time.comms:XComResult",
    by_line={"2.11": None},
    why="What the execution API hands a task's XCom backend to decode; the read-back decodes the same way. "
        "Airflow 2.11 has no execution API: the backend decodes the stored row itself.",
    distribution="apache-airflow-task-sdk", tested=SDK, used_by="airflow.xcoms.read_xcoms",
)
RESOLVE_XCOM_BACKEND = Internal(
    "resolve_xcom_backend", "internal-import", "airflow.sdk.execution_time.xcom:resolve_xcom_backend",
    by_line={"2.11": "airflow.models.xcom:resolve_xcom_backend"},
    why="The XCom backend as the task SDK resolves it ([core] xcom_backend): a custom backend decodes too. "
        "On Airflow 2.11 airflow.models.xcom resolves it.",
    distribution="apache-airflow-task-sdk", tested=SDK, used_by="airflow.xcoms.read_xcoms",
)
RENDERED_FIELDS = Internal(
    "RenderedTaskInstanceFields", "internal-import",
    "airflow.models.renderedtifields:RenderedTaskInstanceFields",
    why="Each task's rendered template fields as the UI shows them, read from the metadata DB: no API "
        "server runs under dag.test().",
    distribution="apache-airflow-core", tested=CORE, used_by="airflow.rendered_fields.read_rendered_fields",
)

FAB_USER = Internal(
    "FAB User model (ab_user)", "internal-import", "airflow.providers.fab.auth_manager.models:User",
    by_line={"3.1": None, "3.2": None, "3.3": None},
    why="Airflow 2.11's DagRun has a note whose user_id references the FAB provider's ab_user table, which "
        "only its model defines; without it imported, deleting an earlier run of the same date (dag.test() "
        "does, for every rerun) fails with NoReferencedTableError. Airflow 3 dropped that reference.",
    distribution="apache-airflow-providers-fab", tested={"apache-airflow-providers-fab": "1.5.4"},
    used_by="airflow.lines.Airflow2.dag_test", optional=True,
)
CONNECTION = Internal(
    "Connection", "moved-import", "airflow.sdk:Connection",
    by_line={"2.11": "airflow.models.connection:Connection"},
    why="The harness's Kubernetes connections are written by Airflow's own Connection.as_json(), so that "
        "they read back exactly; Airflow 3 exports the class from airflow.sdk, 2.11 only from "
        "airflow.models.",
    distribution="apache-airflow-task-sdk", tested=SDK, used_by="policies.k8s_redirect.connection_json",
)

# -- cncf-kubernetes provider ------------------------------------------------------------------------
POD_MANAGER = "airflow.providers.cncf.kubernetes.utils.pod_manager"
CNCF_DIST = "apache-airflow-providers-cncf-kubernetes"
AWAIT_POD_COMPLETION = Internal(
    "PodManager.await_pod_completion", "patch", f"{POD_MANAGER}:PodManager.await_pod_completion",
    why="Its poll is a hard-coded time.sleep(2): no operator argument, connection extra or setting "
        "changes it, and pod_mutation_hook edits pods, not waits. The harness re-reads the pod every 0.1 s "
        "until it settles, then calls the provider's own.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_waits.KubernetesWaits",
)
FETCH_CONTAINER_LOGS = Internal(
    "PodManager.fetch_container_logs", "patch", f"{POD_MANAGER}:PodManager.fetch_container_logs",
    why="Wrapped only to know that a log follow is under way, for the container_is_running patch.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_waits.KubernetesWaits",
    check=names_in("container_is_running"),
)
CONTAINER_IS_RUNNING = Internal(
    "PodManager.container_is_running", "patch", f"{POD_MANAGER}:PodManager.container_is_running",
    why="When a followed log stream ends, the provider asks this once, then sleeps a hard-coded second "
        "and prints the last second's lines again; the harness re-reads for up to that second.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_waits.LogFollowSettle",
)
POD_PHASE = Internal(
    "PodPhase.terminal_states", "internal-import", f"{POD_MANAGER}:PodPhase.terminal_states",
    why="The completion patch stops re-reading where the provider's own loop would stop.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_waits.settle_then_await",
)
POD_EARLY_TERMINATION = Internal(
    "detect_pod_terminate_early_issues", "internal-import",
    f"{POD_MANAGER}:detect_pod_terminate_early_issues",
    why="The completion patch stops re-reading where the provider's own loop would stop.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_waits.settle_then_await",
)
CONTAINER_IS_COMPLETED = Internal(
    "container_is_completed", "internal-import",
    "airflow.providers.cncf.kubernetes.utils.container:container_is_completed",
    why="The completion patch stops re-reading where the provider's own loop would stop.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_waits.settle_then_await",
)
SIDECAR_CONTAINER_NAME = Internal(
    "PodDefaults.SIDECAR_CONTAINER_NAME", "internal-import",
    "airflow.providers.cncf.kubernetes.utils.xcom_sidecar:PodDefaults.SIDECAR_CONTAINER_NAME",
    why="The log-follow patch leaves the XCom sidecar's questions alone.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_waits.LogFollowSettle",
)
KPO_CACHED_HOOK = Internal(
    "KubernetesPodOperator cached hook", "private-attribute",
    "airflow.providers.cncf.kubernetes.operators.pod:KubernetesPodOperator.hook",
    why="A hook or client built while the DAG was parsed is cached in the task's __dict__ (cached_property "
        "hook, client, pod_manager); a redirected task must drop them or it keeps the old cluster. The "
        "policy changes the arguments (the public part); no API drops the cache.",
    distribution=CNCF_DIST, tested=CNCF, used_by="policies.k8s_redirect.point_at",
    check=is_cached_property,
)

# -- docker provider ---------------------------------------------------------------------------------
DOCKER_OPERATOR = "airflow.providers.docker.operators.docker:DockerOperator"
DOCKER_CACHED_HOOK = Internal(
    "DockerOperator cached hook", "private-attribute", f"{DOCKER_OPERATOR}.hook",
    why="The hook (and its API client) made from the DAG's docker_url is cached in the task's __dict__ "
        "(cached_property); a redirected task must drop it or it keeps the old daemon.",
    distribution="apache-airflow-providers-docker", tested=DOCKER,
    used_by="policies.docker_redirect.point_at",
    check=is_cached_property,
)
DOCKER_ON_KILL = Internal(
    "DockerOperator.on_kill", "private-attribute", f"{DOCKER_OPERATOR}.on_kill",
    why="It stops task.container through task.cli with Docker's 10 s grace, and no argument, connection or "
        "daemon setting shortens it; the harness gives the task instance an on_kill that first stops the "
        "same container (task.container, task.cli) within a second.",
    distribution="apache-airflow-providers-docker", tested=DOCKER,
    used_by="policies.docker_redirect.shorten_stop",
    check=names_in("container", "cli", "stop"),
)

# -- kubernetes clients ------------------------------------------------------------------------------
KUBE_CONFIG_LOCATION = Internal(
    "kubernetes KUBE_CONFIG_DEFAULT_LOCATION", "patch",
    "kubernetes.config.kube_config:KUBE_CONFIG_DEFAULT_LOCATION",
    why="The client reads KUBECONFIG once, at import; code outside the operator family that loads the "
        "default kubeconfig during a run must get the harness's, not the developer's current context.",
    distribution="kubernetes", tested={"kubernetes": "36.0.3"}, used_by="policies.k8s_redirect (each run)",
)
ASYNC_KUBE_CONFIG_LOCATION = Internal(
    "kubernetes_asyncio KUBE_CONFIG_DEFAULT_LOCATION", "patch",
    "kubernetes_asyncio.config.kube_config:KUBE_CONFIG_DEFAULT_LOCATION",
    why="As for the sync client, for the provider's async hook (deferrable operators).",
    distribution="kubernetes_asyncio", tested={"kubernetes_asyncio": "36.1.0"},
    used_by="policies.k8s_redirect (each run)",
    optional=True,
)

WS_ERROR_CHANNEL = Internal(
    "kubernetes ws_client ERROR_CHANNEL", "internal-import", "kubernetes.stream.ws_client:ERROR_CHANNEL",
    why="Copying inputs into a claim streams a tar to an exec's stdin and needs the command's exit "
        "status: stream() with _preload_content=False gives the WSClient, whose status arrives on this "
        "channel (read_channel, before read_all drops every channel). kubernetes.stream has no public "
        "way to write stdin in chunks and read the exit status.",
    distribution="kubernetes", tested={"kubernetes": "36.0.3"},
    used_by="kubernetes.claim_copy.stage_claim",
)

# -- pytest-kind -------------------------------------------------------------------------------------
KIND_CLUSTER_INIT = Internal(
    "pytest_kind KindCluster.__init__", "subclass", "pytest_kind:KindCluster.__init__",
    why="KindCluster(name, kubeconfig, image, kind_path, kubectl_path) always creates ./.pytest-kind/<name> "
        "in the working directory (the user's repository); the harness's subclass sets the same "
        "attributes itself, with its own folder, and uses create, delete and load_docker_image as they are.",
    distribution="pytest-kind-ng", tested={"pytest-kind-ng": "26.7.0"},
    used_by="kubernetes.cluster._KindCluster",
    check=sets_only("name", "image", "path", "kubeconfig_path", "kind_path", "kubectl_path", "platform"),
)

REGISTRY: tuple[Internal, ...] = (
    RUN_TASK_IN_PROCESS, IN_PROCESS_API_SERVER, TASK_RUNNER, PRE_EXECUTE_HOOK, MAPPED_PARTIAL_KWARGS,
    POLICY_PLUGIN_MANAGER, INIT_DB, DAG_BAG, COERCE_TO_CORE_TIMETABLE, GET_OR_CREATE_DAGRUN, DAG_RUN,
    TASK_INSTANCE, XCOM_MODEL, XCOM_RESULT, RESOLVE_XCOM_BACKEND, RENDERED_FIELDS, CONNECTION, FAB_USER,
    AWAIT_POD_COMPLETION, FETCH_CONTAINER_LOGS, CONTAINER_IS_RUNNING, POD_PHASE, POD_EARLY_TERMINATION,
    CONTAINER_IS_COMPLETED, SIDECAR_CONTAINER_NAME, KPO_CACHED_HOOK,
    DOCKER_CACHED_HOOK, DOCKER_ON_KILL,
    KUBE_CONFIG_LOCATION, ASYNC_KUBE_CONFIG_LOCATION, WS_ERROR_CHANNEL,
    KIND_CLUSTER_INIT,
)
