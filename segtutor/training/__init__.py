"""Training: the live plot, schedules, checkpoints, progress, recipes and the run behind ``segtutor train``.

Modules, one idea each:

=============  =================================================================================
live           :class:`LiveHistory` (the live loss plot callback), :func:`fit`, :func:`check_batch`
schedules      :func:`cosine_schedule`
options        :class:`TrainOptions`, every option of a run, checked once
data           :func:`load_training_data`, :func:`batch_indices` (Mask R-CNN's batches as pure functions
               of the step; the semantic models' come from ``segmentation_dataset(start_step=...)``)
recipes        one recipe object per model (:data:`RECIPES`): build, batch, evaluate
semi_recipes   the semi-supervised methods' recipes (:data:`SEMI_RECIPES`, notebook 11)
checkpoints    checkpoints with the random state, :func:`find_checkpoint`
progress       :class:`ProgressBar`, the text bar of ``segtutor train``
run            :func:`run_training`, the loop behind ``segtutor train``
shipped        the recipes that make the shipped weights and the ablation (``segtutor weights``)
=============  =================================================================================

Names load on first use (``lazy_loader``, as in scikit-image), so the command
line's ``--help`` does not import TensorFlow.

Examples
--------
>>> from segtutor.training import TrainOptions, RECIPES
>>> TrainOptions(model="maskrcnn").model in RECIPES
True
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
