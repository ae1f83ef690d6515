"""Run an Ansible module file in this process and write its time and memory use as JSON.

Usage: python3 module_launcher.py MODULE.py ARGS.json MEASUREMENT.json [PROFILE.prof]

ARGS.json has the form {"ANSIBLE_MODULE_ARGS": {...}}, which AnsibleModule reads from the path
in sys.argv[1]. The module's own JSON result goes to stdout as usual. MEASUREMENT.json receives
`seconds` (wall time of the module's code, imports included, interpreter start-up excluded),
the CPU seconds and maximum resident set size (`max_rss_kib`) of this process, and the same for
its waited-for child processes (whack, addconn). With PROFILE.prof the run is profiled with
cProfile, which slows it down, so profiled runs are not the timed ones.
"""

import cProfile
import json
import resource
import runpy
import sys
import time


def resource_usage(scope):
    data = resource.getrusage(scope)
    # ru_maxrss is in KiB on Linux.
    return {"user_seconds": data.ru_utime, "system_seconds": data.ru_stime, "max_rss_kib": data.ru_maxrss}


def run_module(module_path):
    try:
        runpy.run_path(module_path, run_name="__main__")
    except SystemExit as exit_request:
        return exit_request.code
    return 0


def main():
    module_path, args_path, measurement_path = sys.argv[1:4]
    profile_path = sys.argv[4] if len(sys.argv) > 4 else None
    sys.argv = [module_path, args_path]

    started = time.perf_counter()
    if profile_path:
        profiler = cProfile.Profile()
        exit_code = profiler.runcall(run_module, module_path)
        profiler.dump_stats(profile_path)
    else:
        exit_code = run_module(module_path)
    seconds = time.perf_counter() - started

    measurement = {
        "seconds": seconds,
        "exit_code": exit_code,
        "self": resource_usage(resource.RUSAGE_SELF),
        "children": resource_usage(resource.RUSAGE_CHILDREN),
        "profiled": bool(profile_path),
    }
    with open(measurement_path, "w") as stream:
        json.dump(measurement, stream)
    sys.stdout.flush()
    return 0 if exit_code in (0, None) else 1


if __name__ == "__main__":
    sys.exit(main())
