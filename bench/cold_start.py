"""Cold-start cost of the sandbox: Init Duration (runtime start to its first /next) and
the client-observed latency of a cold invoke, for the lambda_runtime fixture, sandboxed
without network, sandboxed with egress, and as a plain process, in the same run. Prints a
Markdown table with medians and ratios against the plain process.

Usage: python3 bench/cold_start.py [--tenants N]
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
from harness import ROLE, Server, fixture_bootstrap, make_zip  # noqa: E402

INIT = re.compile(r"Init Duration: ([0-9.]+) ms")


def measure(extra_args, tenants, tags=None):
    with tempfile.TemporaryDirectory() as data:
        server = Server(data, "--max-environments", str(tenants + 8), *extra_args).start()
        try:
            client = server.client()
            name = f"bench-{uuid.uuid4().hex[:8]}"
            client.create_function(
                FunctionName=name, Runtime="provided.al2023", Handler="bootstrap", Role=ROLE,
                Code={"ZipFile": make_zip({"bootstrap": (fixture_bootstrap(), 0o755)})},
                TenancyConfig={"TenantIsolationMode": "PER_TENANT"},
                Tags=tags or {},
            )
            client.invoke(FunctionName=name, TenantId="warmup")
            latencies = []
            for _ in range(tenants):
                started = time.perf_counter()
                response = client.invoke(FunctionName=name, TenantId=uuid.uuid4().hex, LogType="Tail")
                latencies.append((time.perf_counter() - started) * 1000)
                assert json.loads(response["Payload"].read())["counter"] == 0
            inits = []
            for root, _, files in os.walk(os.path.join(data, "logs")):
                for file in files:
                    with open(os.path.join(root, file)) as f:
                        inits += [float(m) for m in INIT.findall(f.read())]
            return statistics.median(inits), statistics.median(latencies)
        finally:
            server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=100)
    args = parser.parse_args()
    sandboxed = measure([], args.tenants)
    egress = measure([], args.tenants, tags={"alcove:network": "egress"})
    plain = measure(["--insecure-no-sandbox"], args.tenants)
    print(f"cold starts per mode: {args.tenants} distinct tenants, lambda_runtime fixture\n")
    print("| figure (median) | plain process | sandboxed | sandboxed − plain | sandboxed with egress | egress − plain |")
    print("|---|---|---|---|---|---|")
    for label, index in (("Init Duration (start → first /next)", 0), ("cold invoke, client-observed", 1)):
        print(f"| {label} | {plain[index]:.2f} ms | {sandboxed[index]:.2f} ms | {sandboxed[index] - plain[index]:+.2f} ms "
              f"({sandboxed[index] / plain[index]:.2f}×) | {egress[index]:.2f} ms | {egress[index] - plain[index]:+.2f} ms "
              f"({egress[index] / plain[index]:.2f}×) |")


if __name__ == "__main__":
    main()
