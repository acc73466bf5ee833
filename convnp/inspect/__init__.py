"""convnp.inspect: look inside a trained network.

    from convnp import inspect
    inspect.filters(model, "features.0")                        # filter images (array), .plot()
    inspect.feature_maps(model, x, layers=["features.0", "features.3"])
    inspect.top_patches(model, loader, layer="features.3", k=9) # per channel: the k strongest images + crops
    inspect.deconv(model, x, layer, channel)                    # Zeiler & Fergus projection to pixels
    inspect.guided_backprop(model, x, layer, channel)
    inspect.saliency(model, x, target)                          # max_c |dS_target / dx|
    inspect.grad_cam(model, x, target, layer)                   # Selvaraju et al. 2017
    inspect.explain_output(model, x, layer="features.0", n=0, c=2, y=5, x=7)
    inspect.predictions(model, x, k=5); inspect.evaluate_predictions(model, loader)
    inspect.receptive_field(model, layer, input_size)           # the input box behind each position
    inspect.report(model, loader, "out/")                       # report.html, one offline file

Layers are named by their dotted module path (``named_modules()``); a module called several
times (LeNet-5's shared ``act``) is ``act#0``, ``act#1``, ... Every function runs the model in
evaluation mode and leaves its training flags and parameters' gradients as they were.
"""

from convnp.inspect.attribution import class_scores, default_cam_layer, grad_cam, input_gradient, saliency, upsample
from convnp.inspect.deconvnet import deconv, deconv_layers, guided_backprop, project
from convnp.inspect.explain import OutputExplanation, explain_output
from convnp.inspect.maps import FeatureMaps, FilterImages, conv_layers, feature_maps, filters
from convnp.inspect.predictions import (
    Evaluation,
    TopK,
    evaluate_predictions,
    most_confused,
    predictions,
    softmax,
)
from convnp.inspect.receptive import ReceptiveField, receptive_field, receptive_fields
from convnp.inspect.report import Report, report
from convnp.inspect.topk import StreamingTopK, TopPatches, top_patches
from convnp.inspect.trace import LayerCall, ModelTrace, trace

confusion = evaluate_predictions  # the confusion matrix and the most confused pairs, one pass

__all__ = [
    "filters",
    "FilterImages",
    "feature_maps",
    "FeatureMaps",
    "conv_layers",
    "top_patches",
    "TopPatches",
    "StreamingTopK",
    "deconv",
    "guided_backprop",
    "deconv_layers",
    "project",
    "saliency",
    "input_gradient",
    "grad_cam",
    "upsample",
    "default_cam_layer",
    "class_scores",
    "explain_output",
    "OutputExplanation",
    "predictions",
    "TopK",
    "evaluate_predictions",
    "confusion",
    "Evaluation",
    "most_confused",
    "softmax",
    "receptive_field",
    "receptive_fields",
    "ReceptiveField",
    "trace",
    "ModelTrace",
    "LayerCall",
    "report",
    "Report",
]
