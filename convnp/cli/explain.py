"""``convnp explain conv|pool|fc``: one layer's arithmetic, the lectures' formulas with the numbers in.

    convnp explain conv --input 32x32x3 --filters 10 --kernel 5 --stride 1 --padding 2
    convnp explain conv --input 7 --kernel 3 --stride 3          # the stride does not fit
    convnp explain conv --input 56x56x256 --filters 256 --kernel 3 --padding same
    convnp explain pool --input 224x224x64 --kernel 2
    convnp explain fc --input 7x7x512 --units 4096

Sizes are width x height x depth, as in the lectures ('7' is 7x7x1, for fc a vector of 7; 'C,H,W'
with commas is PyTorch's order). ``--rf`` and ``--jump`` give the receptive field and jump of the input's units
(1 and 1 on the image) to follow a field through a network. ``--json`` prints the numbers.
"""

from __future__ import annotations

import argparse
import json

from convnp.cli.common import CLIError, one_line

__all__ = ["add_parser", "run", "MAX_NUMBER"]

# The largest number explain takes in any option (sizes, filters, units, rf, jump): the arithmetic
# lists positions, so 10**9 would build a list of 10**9 elements. Adjustable here.
MAX_NUMBER = 100_000

_EXAMPLES = (
    "examples:\n"
    "  convnp explain conv --input 32x32x3 --filters 10 --kernel 5 --stride 1 --padding 2\n"
    "  convnp explain conv --input 7 --kernel 3 --stride 3\n"
    "  convnp explain pool --input 224x224x64 --kernel 2\n"
    "  convnp explain fc --input 7x7x512 --units 4096"
)


def _common(p: argparse.ArgumentParser, kernel_default) -> None:
    p.add_argument(
        "--input",
        required=True,
        metavar="WxHxC",
        help="input volume, width x height x depth (e.g. 32x32x3; '7' is 7x7x1; 'C,H,W' also works)",
    )
    if kernel_default is not None:
        p.add_argument(
            "--kernel", default=kernel_default, metavar="F", help=f"filter size F or WxH (default {kernel_default})"
        )
        p.add_argument("--padding", default="0", metavar="P", help="zero padding P per side, WxH, 'same' or 'valid'")
        p.add_argument("--dilation", default="1", metavar="D", help="dilation (default 1)")
    p.add_argument(
        "--rf", default="1", metavar="R", help="receptive field of the input's units on the image (default 1)"
    )
    p.add_argument("--jump", default="1", metavar="J", help="jump of the input's units on the image (default 1)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an error"
    )


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "explain",
        help="the arithmetic of one layer: output size, weights, connections, receptive field",
        description="Show the lectures' formulas for one layer with the numbers filled in.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EXAMPLES,
    )
    layers = p.add_subparsers(title="layer", metavar="LAYER", dest="layer", parser_class=type(p))
    conv = layers.add_parser(
        "conv", help="a convolution layer", epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _common(conv, "3")
    conv.add_argument("--filters", type=int, default=1, metavar="K", help="number of filters K (default 1)")
    conv.add_argument("--stride", default="1", metavar="S", help="stride S or WxH (default 1)")
    conv.set_defaults(func=run)
    pool = layers.add_parser(
        "pool", help="a pooling layer", epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _common(pool, "2")
    pool.add_argument("--stride", default=None, metavar="S", help="stride (default: the window size)")
    pool.add_argument("--ceil-mode", action="store_true", help="round the output size up (PyTorch's ceil_mode)")
    pool.add_argument("--mode", default="max", choices=("max", "avg"), help="max (default) or avg")
    pool.set_defaults(func=run)
    fc = layers.add_parser(
        "fc", help="a fully connected layer", epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _common(fc, None)
    fc.add_argument("--units", type=int, required=True, metavar="N", help="number of units (outputs)")
    fc.set_defaults(func=run)
    p.set_defaults(func=_no_layer)
    return p


def _no_layer(args) -> int:
    raise CLIError(
        "explain needs a layer: conv, pool or fc, for example 'convnp explain conv --input 32x32x3 "
        "--filters 10 --kernel 5 --padding 2'"
    )


def _int_text(text):
    """'5' -> 5 (the explain functions read ints or 'WxH' text)."""
    return int(text) if isinstance(text, str) and text.strip().isdigit() else text


def _check_numbers(args) -> None:
    """CLIError when any whole number in explain's options exceeds MAX_NUMBER."""
    import re

    for option in ("input", "kernel", "stride", "padding", "dilation", "rf", "jump", "filters", "units"):
        value = getattr(args, option, None)
        if value is None:
            continue
        for number in re.findall(r"\d+", str(value)):
            if int(number) > MAX_NUMBER:
                raise CLIError(
                    f"explain {args.layer}: --{option} {value}: {int(number):,} is larger than the "
                    f"{MAX_NUMBER:,} explain works with (convnp.cli.explain.MAX_NUMBER); give sizes of at "
                    f"most {MAX_NUMBER:,}"
                )


def run(args) -> int:
    from convnp.explain import explain_conv, explain_fc, explain_pool

    layer = getattr(args, "layer", None)
    if layer is not None:
        _check_numbers(args)
    try:
        if layer == "conv":
            e = explain_conv(
                _int_text(args.input),
                filters=args.filters,
                kernel=_int_text(args.kernel),
                stride=_int_text(args.stride),
                padding=_int_text(args.padding),
                dilation=_int_text(args.dilation),
                rf_in=_int_text(args.rf),
                jump_in=_int_text(args.jump),
            )
        elif layer == "pool":
            e = explain_pool(
                _int_text(args.input),
                kernel=_int_text(args.kernel),
                stride=None if args.stride is None else _int_text(args.stride),
                padding=_int_text(args.padding),
                dilation=_int_text(args.dilation),
                ceil_mode=args.ceil_mode,
                mode=args.mode,
                rf_in=_int_text(args.rf),
                jump_in=_int_text(args.jump),
            )
        elif layer == "fc":
            e = explain_fc(
                _int_text(args.input), units=args.units, rf_in=_int_text(args.rf), jump_in=_int_text(args.jump)
            )
        else:
            return _no_layer(args)
    except (ValueError, TypeError) as exc:
        detail = one_line(str(exc)).removeprefix("explain: ").removeprefix(f"explain {layer}: ")
        raise CLIError(f"explain {layer}: {detail}") from exc
    print(json.dumps(e.to_dict(), indent=2) if args.json else e)
    return 0
