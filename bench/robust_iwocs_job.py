#!/usr/bin/env python3
"""Runs one solvd job through the HTTP API and prints its result as JSON, for
bench/robust_iwocs.sh. Usage: robust_iwocs_job.py PORT JOB.json [REPEAT]: with REPEAT > 1 the job
runs that many times and the result of the fastest solve (least solve_time_s) is printed (the
bench machine is shared: the minimum is the least disturbed run)."""
import json
import sys
import time
import urllib.error
import urllib.request


def run(base, body):
    req = urllib.request.Request(base, data=body, headers={"Content-Type": "application/json"})
    try:
        job = json.load(urllib.request.urlopen(req))
    except urllib.error.HTTPError as err:
        sys.exit(f"robust_iwocs_job: {err.code} {err.read().decode()[:500]}")
    while True:
        d = json.load(urllib.request.urlopen(f"{base}/{job['id']}"))
        if d["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.05)
    return d["result"] or d


def main():
    base = f"http://127.0.0.1:{sys.argv[1]}/v1/jobs"
    body = open(sys.argv[2], "rb").read()
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    runs = [run(base, body) for _ in range(repeat)]
    print(json.dumps(min(runs, key=lambda r: r.get("solve_time_s", float("inf")))))


if __name__ == "__main__":
    main()
