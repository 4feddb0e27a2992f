import sys

from airflow_e2e_harness.cli import main

sys.exit(main())
