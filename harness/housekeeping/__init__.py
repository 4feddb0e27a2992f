"""Session housekeeping: records and leases shared between sessions, the sweep after a crash,
the failure bundle."""
