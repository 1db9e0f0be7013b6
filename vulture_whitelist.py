"""Names the dead-code check (vulture, ``make lint``) cannot see used, because a framework
calls or reads them by name. Each line names one; vulture reads this file as code that uses
them (it is never imported)."""

# Airflow reads these on operators, sensors, hooks and links.
_.template_fields  # noqa: F821
_.template_fields_renderers  # noqa: F821
_.ui_color  # noqa: F821
_.operator_extra_links  # noqa: F821
_.get_link  # noqa: F821
_.conn_name_attr  # noqa: F821
_.hook_name  # noqa: F821
_.execute_resume  # noqa: F821  # a deferral's method_name
_.execute_complete  # noqa: F821  # a deferral's method_name
_.soft_fail  # noqa: F821
_.pytestmark  # noqa: F821
# Airflow's HITL detail, faked in a test
_.chosen_options  # noqa: F821
_.responded_by  # noqa: F821
_.params_input  # noqa: F821
# pydantic: model settings, validators and fields parsed from PostHog's answers
_.model_config  # noqa: F821
_._no_pagination  # noqa: F821
_._check_properties  # noqa: F821
_._check_having  # noqa: F821
_._check_entities  # noqa: F821
_._check_console  # noqa: F821
_._person_filters_compatible  # noqa: F821
_._window_in_order  # noqa: F821
_.last_modified_by  # noqa: F821
# http.server and socketserver hooks and settings
_.daemon_threads  # noqa: F821
_.block_on_close  # noqa: F821
_.allow_reuse_address  # noqa: F821
_.request_queue_size  # noqa: F821
_.handle_error  # noqa: F821
_.protocol_version  # noqa: F821
_.version_string  # noqa: F821
_.log_message  # noqa: F821
_.close_connection  # noqa: F821
_.do_GET  # noqa: F821
_.do_POST  # noqa: F821
_.do_PATCH  # noqa: F821
_.do_DELETE  # noqa: F821
_.do_PUT  # noqa: F821
_.row_factory  # noqa: F821  # sqlite3
# signal handlers, context managers and protocols: their signatures are fixed
_.signum  # noqa: F821
_.frame  # noqa: F821
_.exc_type  # noqa: F821
_.tb  # noqa: F821
_.exist_ok  # noqa: F821
# pytest: fixtures asked for by name, hooks, and DAGs found by Airflow's DagBag
_.no_sleep  # noqa: F821
_.airflow_db  # noqa: F821
_.fast_windows  # noqa: F821
_.far_timezone  # noqa: F821
_.pytest_runtest_makereport  # noqa: F821
_.pytest_collection_modifyitems  # noqa: F821
# psycopg2: a connection's setting (tests/system/distributed)
_.autocommit  # noqa: F821
_.bind_field  # noqa: F821  # WTForms
_.wait_dag  # noqa: F821
_.timeout_dag  # noqa: F821
# documented data (emulator.py's docstring) and a benchmark's JSON output field
_.LIST_PLAN_LIMITS  # noqa: F821
_.budget_waits  # noqa: F821
