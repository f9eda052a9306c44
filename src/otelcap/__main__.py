"""`python -m otelcap` and the `otelcap` command: what the background service and Claude
Code's status line run (it works from any venv, pipx's too).

`otelcap statusline` and `otelcap query --list` are answered before cli.py loads: Typer and
its imports cost ~60-100 ms, the status line's whole budget (statusline.py), and running a
command costs Typer another ~100 ms of pydantic.
"""

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["statusline"] and not {"--help", "-h"} & set(args):
        from otelcap.statusline import main as statusline

        raise SystemExit(statusline(args[1:]))
    if args in (["query", "--list"], ["query", "--list", "--format", "json"]):
        # The list reads only the pack's files; Typer would add ~100-150 ms (it imports
        # pydantic to run any command), which `otelcap --help` does not pay.
        from otelcap.querypack import describe_all

        try:
            print(describe_all("json" if "json" in args else "text"), flush=True)
        except BrokenPipeError:  # `otelcap query --list | head`
            sys.stderr.close()
        return
    from otelcap.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
