"""``convnp summary MODEL``: the layer-by-layer table of a zoo model (cn.summary).

    convnp summary vgg16 --input 3,224,224
    convnp summary lenet5 --variant original
    convnp summary resnet18 --depth 2 --json

Columns: layer path (indented by depth), type, output shape, parameters, trainable parameters,
multiply-accumulates, connections (LeCun's count), receptive field and jump on the input; then the
totals and the memory of the activations. ``--json`` prints ``cn.summary(...).to_dict()``.
By default the trace is a shape-only dry run (instant even for VGG16 at 224x224, same counts);
``--compute`` runs the real forward pass.
"""

from __future__ import annotations

import argparse
import json

from convnp.cli.common import CLIError, build_model, check_model_name, one_line

__all__ = ["add_parser", "run", "default_input", "MAX_INPUT_ELEMENTS", "MAX_NUM_CLASSES"]

# The largest traced input, N*C*H*W values (the dry run still allocates the input: 2**26 float32 values
# are 256 MiB; VGG16 at 3x224x224 is 150,528), and the largest --num-classes. Adjustable here.
MAX_INPUT_ELEMENTS = 1 << 26
MAX_NUM_CLASSES = 100_000


def default_input(name: str) -> tuple[int, int, int]:
    """The (C, H, W) each zoo model is made for."""
    if name == "lenet5":
        return (1, 32, 32)
    if name == "tinyvgg":
        return (3, 64, 64)
    if name in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110"):
        return (3, 32, 32)
    return (3, 224, 224)


def _parse_shape(text: str) -> tuple[int, ...]:
    parts = text.replace("x", ",").replace(" ", "").split(",")
    try:
        values = tuple(int(p) for p in parts if p != "")
    except ValueError:
        values = ()
    if len(values) not in (3, 4) or any(v < 1 for v in values):
        raise CLIError(
            f"--input must be C,H,W (or N,C,H,W) in positive whole numbers, for example --input 3,224,224; "
            f"received {text!r}"
        )
    return values


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "summary",
        help="layer-by-layer table of a model: shapes, parameters, MACs, connections, receptive fields",
        description="Trace one forward pass of a zoo model and print, per layer, the output shape, parameters, "
        "multiply-accumulates, connections (LeCun's count), receptive field and jump.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  convnp summary vgg16 --input 3,224,224\n  convnp summary lenet5 --variant original\n"
        "  convnp summary resnet50 --depth 1 --json",
    )
    p.add_argument("model", help="model name from the zoo (e.g. lenet5, alexnet, vgg16, resnet18, googlenet)")
    p.add_argument(
        "--input",
        default=None,
        metavar="C,H,W",
        help="input size, channels first (default: the model's own, e.g. 3,224,224; 1,32,32 for lenet5)",
    )
    p.add_argument("--batch-size", type=int, default=1, metavar="N", help="batch size of the traced input (default 1)")
    p.add_argument("--num-classes", type=int, default=None, metavar="K", help="classes (default: the model's)")
    p.add_argument("--variant", default=None, help="lenet5 only: modern (default) or original")
    p.add_argument("--no-aux", action="store_true", help="googlenet only: build without the auxiliary classifiers")
    p.add_argument(
        "--train-mode", action="store_true", help="trace in training mode (dropout on, googlenet's auxiliary heads run)"
    )
    p.add_argument("--depth", type=int, default=None, metavar="D", help="show rows down to this nesting depth")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="dtype of the model and input")
    p.add_argument(
        "--compute",
        action="store_true",
        help="run the real forward pass instead of the shape-only dry run (same numbers, slower)",
    )
    p.add_argument("--json", action="store_true", help="print the table as JSON (the keys of summary().to_dict())")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from convnp.summary import summary

    name = check_model_name(args.model)
    shape = _parse_shape(args.input) if args.input else default_input(name)
    if len(shape) == 3:
        if args.batch_size < 1:
            raise CLIError(
                f"--batch-size must be a positive whole number, for example --batch-size 1; received {args.batch_size}"
            )
        shape = (args.batch_size,) + shape
    elements = 1
    for v in shape:
        elements *= v
    if elements > MAX_INPUT_ELEMENTS:
        raise CLIError(
            f"--input {','.join(map(str, shape[1:]))} with batch {shape[0]} is {elements:,} values, more "
            f"than the {MAX_INPUT_ELEMENTS:,} convnp summary traces (convnp.cli.summary.MAX_INPUT_ELEMENTS); "
            f"give a smaller --input or --batch-size"
        )
    if args.depth is not None and args.depth < 1:
        raise CLIError(f"--depth must be a positive whole number, for example --depth 2; received {args.depth}")
    kwargs = {"in_channels": shape[1]}
    if args.num_classes is not None:
        if not 1 <= args.num_classes <= MAX_NUM_CLASSES:
            raise CLIError(
                f"--num-classes must be a whole number from 1 to {MAX_NUM_CLASSES:,}, for example "
                f"--num-classes 10; received {args.num_classes}"
            )
        kwargs["num_classes"] = args.num_classes
    if args.variant is not None:
        if name != "lenet5":
            raise CLIError(f"--variant applies to lenet5 only; received --variant {args.variant} for {name}")
        kwargs["variant"] = args.variant
    if args.no_aux:
        if name != "googlenet":
            raise CLIError(f"--no-aux applies to googlenet only; received it for {name}")
        kwargs["aux_logits"] = False
    model = build_model(name, kwargs)
    if args.dtype == "float64":
        model.double()
    try:
        table = summary(
            model, shape, dtype=args.dtype, compute=args.compute, training=args.train_mode, depth=args.depth
        )
    except ValueError as exc:
        raise CLIError(f"{name} cannot take an input of {','.join(map(str, shape[1:]))}: {one_line(exc)}") from exc
    if args.json:
        print(json.dumps(table.to_dict(), indent=2))
    else:
        print(table)
    return 0
