"""`symphony task show|cancel` — one task as the chain records it (read-only, no key needed), and ending one.

`cancel` is for a task its `ask` left open (the process was killed, the machine went down): the requester's key
closes every step not yet assigned and withdraws the refunds; assigned steps may still deliver (and are paid) or
are reclaimed after their deadline, which `cancel` does for those already past it."""

from __future__ import annotations

import argparse
import json

from symphony.cli.options import command, config, connection_options


def register(subparsers: argparse._SubParsersAction) -> None:
    task = subparsers.add_parser("task", help="inspect tasks on the chain")
    task_sub = task.add_subparsers(dest="task_command", metavar="SUBCOMMAND", required=True)
    show = command(task_sub, "show", "a task's chains, steps, bids with scores, executors, deliveries and its vote")
    show.add_argument("task_id", metavar="ID", help="the task number (as `ask` prints it) or its 0x… bytes32")
    connection_options(show)
    show.add_argument("--json", action="store_true", help="print the task as JSON")
    show.set_defaults(func=_show)
    cancel = command(task_sub, "cancel", "cancel a task you posted: close its unassigned steps, reclaim late ones, "
                                         "withdraw the refunds (key from the environment)")
    cancel.add_argument("task_id", metavar="ID", help="the task number (as `ask` prints it) or its 0x… bytes32")
    connection_options(cancel, signer=True)
    cancel.set_defaults(func=_cancel)


def _show(args: argparse.Namespace) -> int:
    from chain.connection import connect
    from chain.task_view import format_record, parse_task_id, task_record

    task_id = parse_task_id(args.task_id)
    record = task_record(connect(config(args).chain).contracts(), task_id)
    print(json.dumps(record, indent=1) if args.json else format_record(record))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from chain.connection import connect
    from chain.task_view import cancel_task, parse_task_id

    task_id = parse_task_id(args.task_id)
    print(cancel_task(connect(config(args).chain, signer=True).contracts(), task_id))
    return 0
