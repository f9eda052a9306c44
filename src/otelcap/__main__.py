"""`python -m otelcap` and the `otelcap` command: what the background service and Claude
Code's status line run (it works from any venv, pipx's too).

`otelcap statusline` is answered before cli.py loads: Typer and its imports cost ~60-100 ms,
the status line's whole budget (statusline.py).
"""

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["statusline"] and not {"--help", "-h"} & set(args):
        from otelcap.statusline import main as statusline

        raise SystemExit(statusline(args[1:]))
    from otelcap.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
