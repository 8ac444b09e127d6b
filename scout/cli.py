"""The ``scout`` command line: thin commands over library functions.

Each command parses its options, makes one library call and reports.  Any
``ScoutError`` becomes a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import errno
import logging
import sys

import click

from scout import __version__
from scout.errors import ScoutError
from scout.quiet import quiet_libtiff, quiet_undecodable_gdal_messages


class ScoutGroup(click.Group):
    """Turns Scout's own errors into one line and exit 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ScoutError as exc:
            click.echo(f"scout: error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("scout: interrupted", err=True)
            ctx.exit(130)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # outputs are written under temporary names: nothing half-written is left behind
            click.echo(f"scout: error: {exc.filename or 'an output'}: disk full ({exc.strerror}); free some space and run again", err=True)
            ctx.exit(2)


@click.group(cls=ScoutGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scout")
@click.option("-v", "--verbose", count=True, help="More log detail on stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr; no progress.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Find suspected poppy and cannabis plots in aerial imagery, route teams to them, read decisions back."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)
    for noisy in ("distributed", "pyogrio", "fiona"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    # GDAL's warnings ("A strile cannot be rewritten in place" after a full disk) need -v:
    # Scout checks its inputs and reports a failed read or write itself, in one line
    logging.getLogger("rasterio").setLevel(max(level, logging.WARNING if verbose else logging.ERROR))
    for name in ("scout", "py.warnings"):  # an earlier command's -q in this process (a notebook, a test) does not linger
        logging.getLogger(name).setLevel(logging.NOTSET)
    quiet_libtiff()
    quiet_undecodable_gdal_messages()
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet


def _register() -> None:
    """Each command module adds its commands through ``register(group)``."""
    from scout.commands import detect_cmds, flights_cmds, model_cmds, review_cmds, survey_cmds

    for module in (detect_cmds, model_cmds, survey_cmds, flights_cmds, review_cmds):
        module.register(cli)


def main() -> None:
    try:
        _register()  # imports the command modules: a second or so in which Ctrl-C was a traceback
    except KeyboardInterrupt:
        click.echo("scout: interrupted", err=True)
        sys.exit(130)
    cli(prog_name="scout")


if __name__ == "__main__":
    main()
