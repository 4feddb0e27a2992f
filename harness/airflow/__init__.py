"""The Airflow side: an isolated Airflow home, running DAGs with dag.test(), reading results back,
scheduled runs, interrupts, the run report."""
