"""The ``convnp`` command: ``convnp train``, ``convnp eval``, ``convnp predict``, ... (``python -m convnp`` too).

Each subcommand is a module of this package exposing ``add_parser(subparsers)`` (which registers
itself with ``set_defaults(func=run)``) and ``run(args) -> int``. :func:`main` parses the command
line, runs the subcommand and turns problems into exit statuses:

- 0: done; 2: bad input (a missing or corrupt file, an unknown name, an impossible option): one
  line ``convnp: error: ...`` on stderr naming the problem and the fix, no traceback;
- 1: something failed while running (the line says what); 130: interrupted by Ctrl-C.

``--debug`` (anywhere on the command line) prints the traceback as well.
"""

from __future__ import annotations

import os


def _prepare_environment() -> None:
    """HOOK: process-wide settings that must be in place before NumPy loads its BLAS.

    Called first thing when this module is imported. It currently sets nothing. The place for:

        os.environ.setdefault("OPENBLAS_CORETYPE", "...")   # only if a measurement shows it pays
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")  # thread counts, if unset (left unset for now)
        os.environ.setdefault("OMP_NUM_THREADS", "2")

    Note: ``import convnp.cli`` runs ``convnp/__init__.py`` first, which imports NumPy, so a
    variable read by OpenBLAS when it loads has to be set before that import (for example at the
    top of ``convnp/__init__.py``) to take effect for the ``convnp`` command.
    """
    _ = os.environ  # nothing yet


_prepare_environment()

import argparse  # noqa: E402  (after the environment hook)
import importlib  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402

from convnp.cli.common import CLIError, one_line  # noqa: E402

__all__ = ["main", "build_parser", "CLIError", "SUBCOMMANDS"]

# The subcommand modules, in the order `convnp --help` lists them. Modules that are not there yet
# (written separately) are skipped; one that fails to import becomes a command that reports why.
SUBCOMMANDS = ("train", "eval", "predict", "summary", "explain", "inspect")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``convnp: error: train: argument --lr: ...; see 'convnp train --help'``."""

    def error(self, message):
        prog = self.prog.split()
        sub = " ".join(prog[1:])
        where = f"{sub}: " if sub else ""
        helpcmd = " ".join(prog) + " --help"
        raise CLIError(f"{where}{message}; see '{helpcmd}'")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("convnp")
    except Exception:  # noqa: BLE001
        import convnp

        return convnp.__version__


def _broken_command(name: str, exc: BaseException):
    def run(args) -> int:
        raise CLIError(f"the '{name}' command cannot load: {type(exc).__name__}: {one_line(exc)}", status=1)

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="convnp", description="Convolutional neural networks in NumPy: train, evaluate, predict and look inside."
    )
    parser.add_argument("--version", action="version", version=f"convnp {_version()}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"convnp.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"convnp.cli.{name}":
                continue  # not written yet
            p = subparsers.add_parser(name, help=f"(cannot load: {one_line(exc)})")
            p.set_defaults(func=_broken_command(name, exc))
            continue
        except Exception as exc:  # noqa: BLE001 - a broken module must not take the other commands down
            p = subparsers.add_parser(name, help=f"(cannot load: {one_line(exc)})")
            p.set_defaults(func=_broken_command(name, exc))
            continue
        before = set(subparsers.choices)
        module.add_parser(subparsers)
        for new in set(subparsers.choices) - before:  # --debug after the subcommand works too
            sp = subparsers.choices[new]
            if not any("--debug" in a.option_strings for a in sp._actions):
                sp.add_argument(
                    "--debug",
                    action="store_true",
                    default=argparse.SUPPRESS,
                    help="show the full traceback of an error",
                )
    return parser


def _print_error(message: str) -> None:
    print(f"convnp: error: {one_line(message)}", file=sys.stderr, flush=True)


# NumPy's floating-point warnings ("overflow encountered in exp", "invalid value encountered in divide",
# "Mean of empty slice", ...) and Pillow's (a decompression bomb, a truncated EXIF block, ...) are noise on a
# command line, whose outcome is told by its output and its one error line; the library still warns.
_NUMPY_RUNTIME_MESSAGES = r"(.*encountered|Mean of empty slice|Degrees of freedom <= 0)"


def _quiet_warnings() -> None:
    """Filters (inside the caller's ``warnings.catch_warnings()``) dropping NumPy RuntimeWarnings and Pillow's
    warnings; other warnings (convnp's own) are shown as usual."""
    warnings.filterwarnings("ignore", message=_NUMPY_RUNTIME_MESSAGES, category=RuntimeWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"numpy(\.|$)")
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def main(argv=None) -> int:
    """Run the command line ``argv`` (default sys.argv[1:]); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv[: argv.index("--")] if "--" in argv else "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except CLIError as exc:
        if debug:
            traceback.print_exc()
        _print_error(str(exc))
        return exc.status
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            _quiet_warnings()
            return int(args.func(args) or 0)
    except CLIError as exc:
        if debug:
            traceback.print_exc()
        _print_error(str(exc))
        return exc.status
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print("convnp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `convnp predict ... | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback, unless --debug
        if debug:
            traceback.print_exc()
        _print_error(f"{type(exc).__name__}: {one_line(exc)} (run again with --debug for the traceback)")
        return 1
