# Runs a Pulumi Python program for toolchain/langhost-python: connects the `pulumi` SDK to
# the engine (the address flags the language host passes), then runs the program's
# __main__.py (or the file named) inside the stack. The stack config comes from the
# PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS variables, which the SDK reads itself.
import argparse
import asyncio
import os
import runpy
import sys

import pulumi
import pulumi.runtime

parser = argparse.ArgumentParser()
for flag in ("monitor", "engine", "project", "stack", "organization", "root-directory", "pwd"):
    parser.add_argument("--" + flag)
parser.add_argument("--parallel", type=int)
parser.add_argument("--dry-run", action="store_true")
parser.add_argument("program")
opts, rest = parser.parse_known_args()

if opts.pwd:
    os.chdir(opts.pwd)
program = os.path.abspath(opts.program)
if os.path.isdir(program):
    program = os.path.join(program, "__main__.py")
# The program's folder first on the import path, as `python __main__.py` would have it.
sys.path.insert(0, os.path.dirname(program))
sys.argv = [program] + rest

pulumi.runtime.configure(
    pulumi.runtime.Settings(
        project=opts.project,
        stack=opts.stack,
        monitor=opts.monitor,
        engine=opts.engine,
        parallel=opts.parallel,
        dry_run=opts.dry_run,
        organization=opts.organization,
        root_directory=opts.root_directory,
    )
)


def main() -> None:
    runpy.run_path(program, run_name="__main__")


# The exit code that tells the language host the engine has already shown the error.
EXIT_BAIL = 32

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
try:
    loop.run_until_complete(pulumi.runtime.run_in_stack(main))
except Exception as e:  # noqa: BLE001 - any failure ends the run
    # A resource the engine refused (e.g. a component's invalid args): the engine printed
    # why and shut the monitor down; the traceback of the calls cut off adds nothing.
    if "resource monitor shut down" in str(e):
        sys.exit(EXIT_BAIL)
    raise
finally:
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.close()
