"""pisvm-cnn: train the 3D-CNN of Lange et al. (IGARSS 2018) on a split, predict scenes.

    pisvm-cnn train indian.h5 split.h5 --out run1 --epochs 600 --batch 50 --window 9
    pisvm-cnn predict indian.h5 split.h5 run1 --out run1/eval

``train`` writes to ``--out``: config.json, classes.json, history.csv,
checkpoint.keras (every --checkpoint-every epochs; a killed run resumes from
it when started again with the same --out), best.weights.h5 (best epoch on
the validation part of the training pixels), model.keras, and the results of
the test pixels: results.txt, results.json, classification_map.png/.npy.
The test pixels are used once, after training.

TensorFlow's start-up log stays off the terminal; a TF_CPP_MIN_LOG_LEVEL you
set (e.g. to 0) applies to its log after the import.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from pisvm.cli.common import OneLineParser, number, run

from .config import LOSSES, OPTIMIZERS, PIPELINES, STRATEGIES
from .quiet import import_tensorflow_quietly

PROG = "pisvm-cnn"


def _odd_window(text):
    value = number(int, 1, False)(text)
    if value % 2 == 0:
        raise argparse.ArgumentTypeError(f"window == {value}, must be odd")
    return value


def build_parser():
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train on the split's training pixels, evaluate its test pixels")
    train.add_argument("scene", help="scene HDF5 file (data, labels)")
    train.add_argument("split", help="selection HDF5 file from pisvm-split")
    train.add_argument("--out", required=True, help="output directory (resumes a run found there)")
    train.add_argument("--window", type=_odd_window, default=9, help="window side, pixels (odd)")
    train.add_argument("--epochs", type=number(int, 1, False), default=600, help="training epochs (the paper: 600)")
    train.add_argument("--batch", type=number(int, 1, False), default=50, help="batch size, windows")
    train.add_argument("--loss", choices=LOSSES, default="mse", help="loss on the softmax outputs (the paper: mse)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="optimizer (the paper: sgd)")
    train.add_argument("--learning-rate", type=number(float, 0, True), default=1.0,
                       help="initial learning rate (the paper: 1.0)")
    train.add_argument("--decay", type=number(float, 0, False), default=5e-6,
                       help="inverse-time learning-rate decay per step")
    train.add_argument("--momentum", type=number(float, 0, False), default=0.0, help="SGD momentum")
    train.add_argument("--dropout", type=number(float, 0, False), default=0.0,
                       help="dropout rate after each hidden dense layer (0: none)")
    train.add_argument("--l2", type=number(float, 0, False), default=0.0, help="L2 weight penalty (0: none)")
    train.add_argument("--mixed-precision", action="store_true", help="float16 compute, float32 weights")
    train.add_argument("--validation-fraction", type=number(float, 0, False), default=0.1,
                       help="share of each class's training pixels that chooses the checkpoint")
    train.add_argument("--checkpoint-every", type=number(int, 1, False), default=10, help="epochs")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the weights, the validation pixels and the batch order")
    train.add_argument("--strategy", choices=STRATEGIES, default="auto",
                       help="tf.distribute strategy (auto: SLURM multi-node, several GPUs, or one device)")
    train.add_argument("--pipeline", choices=PIPELINES, default="pydataset",
                       help="input pipeline over the strided windows: keras PyDataset (exact resume) or tf.data "
                            "(faster on GPUs)")
    train.add_argument("--predict-batch", type=number(int, 1, False), default=1024, help="windows")
    train.add_argument("--map", choices=["scene", "test"], default="scene",
                       help="predict every pixel (classification map of the whole scene) or the test pixels only")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=2, help="Keras fit verbosity")
    train.add_argument("--collapse-patience", type=number(int, 0, False), default=25, metavar="EPOCHS",
                       help="warn when a class has had no correct training prediction, or the loss has not moved, "
                            "for this many epochs (0: no check)")

    predict = commands.add_parser("predict", help="predict a scene with a trained model and evaluate the split")
    predict.add_argument("scene", help="scene HDF5 file (data, labels)")
    predict.add_argument("split", help="selection file whose test pixels are evaluated")
    predict.add_argument("model_dir", help="--out directory of pisvm-cnn train")
    predict.add_argument("--out", required=True, help="output directory")
    predict.add_argument("--predict-batch", type=number(int, 1, False), default=1024, help="windows")
    predict.add_argument("--pipeline", choices=PIPELINES, default="pydataset",
                         help="input pipeline over the strided windows: keras PyDataset or tf.data (faster on GPUs)")
    predict.add_argument("--map", choices=["scene", "test"], default="scene",
                         help="predict every pixel (classification map of the whole scene) or the test pixels only")
    return parser


def _load(args, window_px):
    """Read and check scene and split before TensorFlow is imported (bad input fails fast)."""
    from pisvm.data.scene import read_scene
    from pisvm.data.selection import read_selection

    from .checks import check_inputs

    data, labels = read_scene(args.scene)
    selection, info = read_selection(args.split, shape=labels.shape)
    classes = check_inputs(data, labels, selection, window_px)
    for key in ("mean", "stddev"):
        if key in info and np.shape(info[key]) != (data.shape[2],):
            raise ValueError(f"{args.split}: {key} has shape {np.shape(info[key])}, "
                             f"the scene has {data.shape[2]} bands")
    return data, labels, selection, info, classes


def _evaluate(args, model, data, labels, selection, info, classes, mean, stddev, window_px, extra, history=None):
    """Predict, score the test pixels, name a class never predicted or a collapse (stderr and results.json)."""
    from pisvm.data.selection import TEST
    from pisvm.results.metrics import format_report

    from .collapse import final_warnings
    from .predict import evaluate_test, predict_scene, write_results

    mask = None if args.map == "scene" else (selection == TEST)
    start = time.perf_counter()
    label_map = predict_scene(model, data, mean, stddev, window_px, batch_size=args.predict_batch, classes=classes,
                              mask=mask, pipeline=args.pipeline)
    predict_s = time.perf_counter() - start
    report = evaluate_test(labels, selection, label_map, classes=classes)
    warnings = final_warnings(history or {}, report)
    for message in warnings:
        print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)
    n_predicted = data.shape[0] * data.shape[1] if mask is None else mask.sum()
    extra = dict(extra, training_warnings=list(extra.get("training_warnings", [])) + warnings,
                 predict_s=predict_s, predicted_pixels=int(n_predicted))
    write_results(args.out, report, label_map, labels=labels, split_info=info, extra=extra)
    print("\n".join(format_report(report, title="Test")))
    print(f"{args.out}: results.txt, results.json, classification_map.png ({predict_s:.1f} s prediction)")


def _check_out(args):
    """Refuse, before any work, an --out folder where a file this command writes is one of its inputs."""
    from pisvm.data.atomic import check_outputs

    from .checks import RESULT_FILES, TRAINING_FILES

    inputs = [args.scene, args.split]
    names = RESULT_FILES
    if args.command == "train":
        names = TRAINING_FILES + RESULT_FILES
    else:
        inputs += [os.path.join(args.model_dir, name) for name in ("model.keras", "classes.json")]
    if os.path.isdir(args.out):  # a new folder holds no input
        check_outputs([os.path.join(args.out, name) for name in names], inputs)


def _main(argv):
    args = build_parser().parse_args(argv)
    _check_out(args)
    if args.command == "train":
        from .config import CNNConfig

        config = CNNConfig(window_px=args.window, epochs=args.epochs, batch_size=args.batch, loss=args.loss,
                           optimizer=args.optimizer, learning_rate=args.learning_rate, decay_per_step=args.decay,
                           momentum=args.momentum, dropout=args.dropout, l2=args.l2,
                           mixed_precision=args.mixed_precision, validation_fraction=args.validation_fraction,
                           checkpoint_every_epochs=args.checkpoint_every, seed=args.seed,
                           pipeline=args.pipeline)
        data, labels, selection, info, classes = _load(args, config.window_px)
        import_tensorflow_quietly()
        from .train import choose_strategy, train_model

        start = time.perf_counter()
        result = train_model(data, labels, selection, config, out_dir=args.out, mean=info.get("mean"),
                             stddev=info.get("stddev"), strategy=choose_strategy(args.strategy),
                             verbose=args.verbose, collapse_patience=args.collapse_patience or None,
                             on_warning=lambda message: print(f"{PROG}: warning: {message}", file=sys.stderr,
                                                              flush=True))
        train_s = time.perf_counter() - start
        print(f"{args.out}: trained {len(result.history.get('epoch', []))} epochs in {train_s:.1f} s "
              f"({int((selection == 2).sum() - result.validation.sum())} training, "
              f"{int(result.validation.sum())} validation pixels)")
        if result.warnings:
            print(f"{PROG}: warning: {len(result.warnings)} training warning(s) above, also in results.json "
                  "('training_warnings')", file=sys.stderr)
        _evaluate(args, result.model, data, labels, selection, info, result.classes, result.mean, result.stddev,
                  config.window_px, {"config": json.loads(config.to_json()), "train_s": train_s,
                                     "scene": args.scene, "split_file": args.split,
                                     "training_warnings": list(result.warnings)}, history=result.history)
    else:
        classes_path = Path(args.model_dir) / "classes.json"
        if not classes_path.exists():
            raise ValueError(f"{args.model_dir}: no classes.json (not a pisvm-cnn train directory)")
        window_px = int(json.loads(classes_path.read_text())["window_px"])
        data, labels, selection, info, _ = _load(args, window_px)
        import_tensorflow_quietly()
        from .train import load_trained

        model, classes, mean, stddev, window_px = load_trained(args.model_dir)
        if model.input_shape[3] != data.shape[2]:
            raise ValueError(f"the model expects {model.input_shape[3]} bands, {args.scene} has {data.shape[2]}")
        _evaluate(args, model, data, labels, selection, info, classes, mean, stddev, window_px,
                  {"model_dir": args.model_dir, "scene": args.scene, "split_file": args.split})
    return 0


def main(argv=None):
    run(_main, PROG, argv)


if __name__ == "__main__":
    main()
