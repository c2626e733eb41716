"""The throwaway PostgreSQL cluster the cluster tests run on: it starts and answers."""

import subprocess


def test_a_created_database_answers_psql(postgres):
    url = postgres.create_database("harness_check")
    assert url.endswith("/harness_check")
    out = subprocess.run(
        [postgres.tool("psql"), "-X", "-A", "-t", "-c", "select 1", url],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
