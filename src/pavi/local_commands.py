"""The ``pavi`` commands of the local stack: ``run``, ``serve`` and ``stack``, each with the
template's ``--parameter-overrides`` (``pavi.local.parameters``). Their modules are imported
when a command runs: the other commands do not load the local stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _parameters(args: argparse.Namespace, command: str) -> dict[str, str] | int:
    """The ``--parameter-overrides``, checked against the template as the deploy would check them."""
    from pavi.local.parameters import ParameterError, check_overrides, parse_overrides
    from pavi.local.template import StackModel

    try:
        overrides = parse_overrides(args.parameter_overrides)
        check_overrides(StackModel.load().template, overrides)
    except ParameterError as error:
        print(f"pavi {command}: {error}", file=sys.stderr)
        return 2
    return overrides


def cmd_run(args: argparse.Namespace) -> int:
    import json
    import tempfile

    from pavi.domain.errors import PaviError
    from pavi.job_command import build_request
    from pavi.local.runner import run

    parameters = _parameters(args, "run")
    if isinstance(parameters, int):
        return parameters
    if bool(args.payload) == bool(args.annotation):
        print("pavi run: give a request file, or --genome, --annotation and --select (as pavi job)", file=sys.stderr)
        return 2
    if args.payload:
        return run(args.payload, args.out, lane=args.lane, parameters=parameters, aligner=args.aligner)
    try:  # the request pavi job would write (issue 30)
        request = build_request(args, lambda line: print(f"pavi run: {line}", file=sys.stderr))
    except (PaviError, OSError, ValueError) as error:
        print(f"pavi run: no job: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pavi-request-") as folder:
        path = Path(folder) / "request.json"
        path.write_text(json.dumps(request))
        return run(str(path), args.out, lane=args.lane, parameters=parameters, aligner=args.aligner)


def cmd_serve(args: argparse.Namespace) -> int:
    from pavi.local.serve import serve

    parameters = _parameters(args, "serve")
    if isinstance(parameters, int):
        return parameters
    return serve(args.host, args.port, parameters)


def _parameter_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--parameter-overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="the template's parameters, as sam deploy takes them (e.g. ApiAuth=NONE); unknown parameters and "
        "values outside AllowedValues are refused",
    )


def cmd_stack(args: argparse.Namespace) -> int:
    from pavi.local.serve import keep_stack_up

    parameters = _parameters(args, "stack")
    if isinstance(parameters, int):
        return parameters
    return keep_stack_up(parameters)


def add_local_commands(commands: Any) -> None:
    """``run``, ``serve`` and ``stack`` on the ``pavi`` parser's subcommands."""
    run = commands.add_parser(
        "run",
        help="run a job through the state machine on this machine (offline)",
        description="Execute statemachine/pipeline.asl.json locally: the Lambda steps run the real handlers, "
        "the Batch steps the real entrypoint as local processes, storage is a local S3. The results, the "
        "per-entry files, job-report.json and run.log are copied to --out. Exit 0 completed, 1 failed, "
        "2 invalid request.",
    )
    run.add_argument(
        "payload",
        nargs="?",
        help="JSON file: a list of entries or {'seq_regions': [...]}; relative FASTA paths resolve here (or build "
        "the request from files with --genome, --annotation, --select and --variants, as pavi job does)",
    )
    from pavi.job_command import add_job_options

    add_job_options(run, required=False)
    run.add_argument("--out", default=None, help="results folder (default ./pavi-results/<job-uuid>/)")
    run.add_argument(
        "--lane",
        choices=["lambda", "batch"],
        default=None,
        help="force a lane (default: the state machine chooses by the job's size, as on AWS)",
    )
    run.add_argument(
        "--aligner",
        choices=["clustalo", "famsa"],
        default=None,
        help="the aligner (default: the payload's 'aligner', else Clustal Omega up to 1,000 sequences, FAMSA past)",
    )
    _parameter_option(run)
    run.set_defaults(handler=cmd_run)

    serve = commands.add_parser(
        "serve",
        help="serve the PAVI API locally, jobs running in the local state machine",
        description="The API's routes (api/openapi.yaml) over HTTP on this machine, through the API function's "
        "handler, with jobs run by the unmodified state machine locally: for developing the web UI offline.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    _parameter_option(serve)
    serve.set_defaults(handler=cmd_serve)

    stack = commands.add_parser(
        "stack",
        help="keep the local stack up for the AWS CLI: prints export lines for its endpoint, keys and ARNs",
        description="Start the local stack (the template's state machines, functions, roles and job bucket) and "
        "keep it up until interrupted. Once ready, stdout holds export NAME=value lines (AWS_ENDPOINT_URL, "
        "AWS_DEFAULT_REGION, an administrator's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "PAVI_STATE_MACHINE_ARN, PAVI_EXPRESS_STATE_MACHINE_ARN, PAVI_BUCKET) for a shell to eval, so that "
        "aws stepfunctions and aws s3 commands work against it unchanged.",
    )
    _parameter_option(stack)
    stack.set_defaults(handler=cmd_stack)
