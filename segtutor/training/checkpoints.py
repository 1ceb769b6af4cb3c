"""Checkpoints of ``segtutor train`` that survive ``kill -9``, random state included.

A checkpoint folder holds the model's weights, the optimiser's state (Adam's
two moments and its step counter, which also drives the cosine schedule),
the run's state (step, metrics so far, the options it must be resumed with)
and the random state of Python, NumPy, Keras, each layer's own seed
generator (DeepLab's dropout: ``save_weights`` leaves it out) and
TensorFlow's global generator.

It is written into a temporary folder, flushed to disk, renamed (atomic on
one file system) and only then named in ``checkpoints/latest`` (itself
replaced atomically), so ``kill -9`` at any moment leaves the previous
complete checkpoint in place.

Examples
--------
>>> import tempfile
>>> find_checkpoint(tempfile.mkdtemp()) is None
True
"""

from __future__ import annotations

import json
import os
import random
import shutil
import warnings
from pathlib import Path

import numpy as np

from .. import _backend
from .._files import atomic_write_text
from .errors import TrainError

__all__ = ["find_checkpoint", "CHECKPOINT_FORMAT"]

#: Version of the checkpoint folder's layout; a checkpoint of another format is refused.
CHECKPOINT_FORMAT = 1


def find_checkpoint(out) -> Path | None:
    """The last complete checkpoint folder of a run, or None."""
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out should be a run folder (str or Path), got {type(out).__name__}.")
    ckdir = Path(out) / "checkpoints"
    latest = ckdir / "latest"
    if not latest.is_file():
        return None
    folder = ckdir / latest.read_text(encoding="utf-8").strip()
    return folder if (folder / "state.json").is_file() else None


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _keras_seed_state():
    """The variable behind Keras's global SeedGenerator (dropout, ``keras.random`` without a seed), or None."""
    try:
        from keras.src.random.seed_generator import global_seed_generator
    except ImportError:  # pragma: no cover - a Keras that moved it: nothing of ours draws from it
        return None
    return global_seed_generator().state


def _layer_seed_states(model) -> dict:
    """The state variables of the layers' own seed generators (DeepLab's dropout), by variable path.

    ``Layer.variables`` holds them and ``Layer.weights``, which ``save_weights`` writes, does not: without
    them a resumed run would draw the dropout masks of step 0 again.
    """
    weights = {id(w) for w in model.weights}
    return {v.path: v for v in model.variables if id(v) not in weights}


def _rng_state(model) -> dict:
    tf = _backend.tensorflow()

    py = random.getstate()
    np_state = np.random.get_state()
    return {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "keras": None if _keras_seed_state() is None else np.asarray(_keras_seed_state().value).tolist(),
        "tensorflow": tf.random.get_global_generator().state.numpy().tolist(),
        "layers": {path: np.asarray(v.value).tolist() for path, v in _layer_seed_states(model).items()},
    }


def _set_rng_state(state: dict, model, folder: Path) -> None:
    tf = _backend.tensorflow()

    layers = _layer_seed_states(model)
    saved = state.get("layers", {})  # absent from checkpoints written before it was saved: fine without dropout
    if not isinstance(saved, dict) or sorted(saved) != sorted(layers):
        raise TrainError(f"the random state in {folder} does not fit this model (seed generators "
                         f"{sorted(saved) if isinstance(saved, dict) else saved!r}, the model has {sorted(layers)}).")
    for path, variable in layers.items():
        variable.assign(np.array(saved[path], dtype=variable.dtype))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], np.array(n[1], np.uint32), n[2], n[3], n[4]))
    variable = _keras_seed_state()
    if variable is not None and state["keras"] is not None:
        variable.assign(np.array(state["keras"], dtype=variable.dtype))
    tf.random.get_global_generator().reset(np.array(state["tensorflow"], dtype=np.int64))


def save_checkpoint(out: Path, model, state: dict, keep: int) -> Path:
    """Write checkpoint ``step-{state['step']}`` into ``out/checkpoints`` and keep the last ``keep``."""
    ckdir = out / "checkpoints"
    ckdir.mkdir(parents=True, exist_ok=True)
    name = f"step-{state['step']:08d}"
    tmp = ckdir / f".{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    model.save_weights(tmp / "model.weights.h5")
    np.savez(tmp / "optimizer.npz", *[np.asarray(v.value if hasattr(v, "value") else v)
                                     for v in model.optimizer.variables])
    (tmp / "state.json").write_text(json.dumps({**state, "rng": _rng_state(model)}), encoding="utf-8")
    _fsync_tree(tmp)
    final = ckdir / name
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)  # atomic: the folder appears complete or not at all
    atomic_write_text(ckdir / "latest", name + "\n")  # only now does a resume look at it
    done = sorted(p for p in ckdir.glob("step-*") if p.is_dir())
    for old in done[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def check_checkpoint(folder: Path, expected: dict) -> dict:
    """The checkpoint's state, after checking that it belongs to this run (before any model is built)."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TrainError(f"{folder / 'state.json'} cannot be read ({type(exc).__name__}); it is not a "
                         "segtutor train checkpoint.") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"{folder} is not a segtutor train checkpoint (format "
                         f"{state.get('format') if isinstance(state, dict) else None!r}).")
    run = folder.parent.parent
    if state.get("model") != expected["model"]:
        raise TrainError(f"the checkpoint in {run} is from a {state.get('model')} run, not "
                         f"{expected['model']}; pass --model {state.get('model')} or another --out.")
    old_steps = state.get("steps")
    if not isinstance(old_steps, int) or isinstance(old_steps, bool) or expected["steps"] < old_steps:
        # Growing --steps extends a run, as Keras' initial_epoch does; shrinking it would end before the checkpoint.
        raise TrainError(f"the checkpoint in {run} was made with --steps {old_steps!r}; a resumed run can be longer "
                         f"(a larger --steps), not shorter than that, got {expected['steps']}.")
    for key in ("spec", "seed", "data_fingerprint", "batch_size", "learning_rate", "checkpoint_every",
                "val_fraction"):
        if state.get(key) != expected[key]:
            what = "data" if key == "data_fingerprint" else key
            raise TrainError(f"the checkpoint in {run} was made with other {what} ({state.get(key)!r}, this run "
                             f"has {expected[key]!r}); resume with the same options and data, or use another --out.")
    return state


def load_checkpoint(folder: Path, model, state: dict) -> None:
    """Restore weights, optimiser state and random state from a checkpoint checked by :func:`check_checkpoint`."""
    try:
        with warnings.catch_warnings():
            # Keras warns once per variable that does not fit (dozens of lines)
            # before it raises; the one line below says it.
            warnings.simplefilter("ignore")
            model.load_weights(folder / "model.weights.h5")
    except Exception as exc:  # Keras raises ValueError, KeyError or h5py errors for a foreign file
        raise TrainError(f"the weights in {folder} do not fit this model ({type(exc).__name__}).") from None
    with np.load(folder / "optimizer.npz") as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    variables = model.optimizer.variables
    if len(values) != len(variables) or any(v.shape != tuple(s.shape) for v, s in zip(values, variables)):
        raise TrainError(f"the optimiser state in {folder} does not fit this model.")
    for var, value in zip(variables, values):
        var.assign(value)
    if not isinstance(state.get("rng"), dict):
        raise TrainError(f"{folder / 'state.json'} holds no random state; it is not a complete segtutor train "
                         "checkpoint.")
    _set_rng_state(state["rng"], model, folder)
