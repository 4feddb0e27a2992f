"""A team's production DAG, unmodified by its tests: two pods in namespace `etl`.

It names the production cluster's context, as DAGs written for production do;
under the harness every Kubernetes task goes to the test cluster instead.
"""

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

claim = k8s.V1PersistentVolumeClaimVolumeSource(claim_name="etl-data")
data = k8s.V1Volume(name="data", persistent_volume_claim=claim)
mount = k8s.V1VolumeMount(name="data", mount_path="/data")

with DAG(
    dag_id="etl_daily",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
):
    common = dict(namespace="etl", image="etl:1.0", cluster_context="prod-eu", volumes=[data],
                  volume_mounts=[mount], on_finish_action="delete_pod", get_logs=True)
    extract = KubernetesPodOperator(
        task_id="extract", name="extract", arguments=["extract", "--ds", "{{ ds }}", "--rows", "42"],
        do_xcom_push=True, **common,
    )
    load = KubernetesPodOperator(
        task_id="load", name="load", arguments=["load", "--ds", "{{ ds }}"], **common,
    )
    extract >> load
