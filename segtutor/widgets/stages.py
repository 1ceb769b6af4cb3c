"""Stage browser: step through Mask R-CNN's forward pass on one image.

Every stage is a picture from :func:`segtutor.maskrcnn.pictures.stage_picture`
of the results of :meth:`MaskRCNN.inspect`. Inspection runs on a chunk of
:data:`CHUNK` images at a time (about 0.2-0.3 s on 2 idle cores, little more
than one image costs) and is cached, so only the first image of each chunk
waits for the model; moving to another image of the chunk, the stage or the
score threshold only redraws.

Examples
--------
>>> from segtutor.widgets.stages import StageBrowser   # doctest: +SKIP
>>> StageBrowser(model, images, class_names=data.class_names)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from .._validate import ArgumentTypeError
from ..maskrcnn.inference import check_images
from ..maskrcnn.pictures import STAGES, check_gt_boxes, stage_picture
from ._base import CAPTION_STYLE, Visualiser

__all__ = ["StageBrowser"]

#: Images inspected together; the browsers of notebooks 09 and 10 show at most this many.
CHUNK = 8

_CAPTIONS = {
    "input and truth": "The input image with its true boxes (white).",
    "FPN features": "Mean absolute activation of P2, P3 and P4 (strides 4, 8, 16), each scaled to its maximum.",
    "RPN objectness": "Per cell, the highest objectness of its anchors on P2, P3 and P4 (dark 0, yellow 1).",
    "proposals before NMS": "The highest-scoring decoded anchors (green) whose objectness passes the threshold.",
    "proposals after NMS": "What NMS (IoU 0.7) keeps: far fewer boxes, most objects covered once or twice.",
    "RoIAlign crops": "The 16 best proposals (cyan) and their 7x7 RoIAlign crops (mean absolute activation).",
    "detections and masks": "Final detections above the threshold: class, score, box and pasted 28x28 mask.",
}


class StageBrowser(Visualiser):
    """Browse the stages of a trained :class:`~segtutor.maskrcnn.model.MaskRCNN`.

    Parameters
    ----------
    model : MaskRCNN
    images : array, shape (N, S, S, 3)
    gt_boxes : sequence of N arrays (K_i, 4), optional
    class_names : sequence of str, optional
    """

    css_class = "segtutor-stage-browser"
    # Beside a 300-px column of controls, in a fixed 600 x 384 box: one 128-px
    # panel at 3x or three side by side, scaled to fit, so the widget keeps its
    # height from stage to stage and fits a 1366 x 768 laptop's notebook area.
    display_width = 600
    display_height = 384

    def __init__(self, model, images, *, gt_boxes=None, class_names=None) -> None:
        super().__init__()
        import ipywidgets as w

        # Imported here: the model module imports TensorFlow, which the widget's other users need not load.
        from ..maskrcnn.model import check_maskrcnn

        model = check_maskrcnn(model)
        imgs = check_images(images, "images")
        s = model.config.image_size
        if imgs.ndim != 4 or imgs.shape[1:] != (s, s, 3) or imgs.shape[0] == 0:
            raise ValueError(f"images should have shape (N, {s}, {s}, 3) for this model, got {imgs.shape}.")
        if gt_boxes is not None:
            if isinstance(gt_boxes, (str, bytes)) or not isinstance(gt_boxes, (list, tuple, np.ndarray)):
                raise ArgumentTypeError(f"gt_boxes should be a list with one (K, 4) array per image, "
                                        f"got {type(gt_boxes).__name__}.")
            if len(gt_boxes) != len(imgs):
                raise ValueError(f"gt_boxes should have one (K, 4) array per image: {len(imgs)} images, "
                                 f"{len(gt_boxes)} entries.")
            gt_boxes = [check_gt_boxes(b) for b in gt_boxes]
        if class_names is not None and (isinstance(class_names, (str, bytes))
                                        or not isinstance(class_names, (list, tuple))):
            raise ArgumentTypeError(f"class_names should be a list such as ['background', 'square', ...], "
                                    f"got {type(class_names).__name__}.")
        self.model, self.images, self.gt_boxes, self.class_names = model, imgs, gt_boxes, class_names
        self._cache: dict[int, dict] = {}  # first index of a chunk -> inspect() of that chunk
        common = dict(style={"description_width": "60px"}, layout=w.Layout(width="290px"))
        self.image_index = w.IntSlider(value=0, min=0, max=len(imgs) - 1, description="image", **common)
        self.stage = w.Dropdown(options=list(STAGES), value=STAGES[0], description="stage", **common)
        self.score = w.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="score ≥", **common)
        # The stage's caption sits under the controls, beside the picture it describes.
        self.caption_text = w.HTML(layout=w.Layout(width="290px"))
        # No flex here: _finish_layout stacks these controls over the caption in a
        # 300-px column, where a flex basis would set their height.
        controls = w.VBox([self.image_index, self.stage, self.score], layout=w.Layout(width="300px"))
        self._finish_layout(controls, extra=self.caption_text, side_by_side=True)

    def inspection(self, index: int) -> tuple[dict, int]:
        """``(inspect() of the chunk holding image `index`, its position in that chunk)``."""
        start = index - index % CHUNK
        if start not in self._cache:
            # One batched pass costs little more than one image, and the image slider's next steps then
            # redraw from the cache (bench/bench_widgets_browser.py: an uncached step took 200-300 ms).
            self._cache[start] = self.model.inspect(self.images[start:start + CHUNK])
        return self._cache[start], index - start

    def render(self) -> np.ndarray:
        i = self.image_index.value
        self.caption_text.value = f"<div style='{CAPTION_STYLE}'>{_CAPTIONS[self.stage.value]}</div>"
        gt = self.gt_boxes[i] if self.gt_boxes is not None else None
        insp, k = self.inspection(i)
        return stage_picture(insp, k, self.images[i], self.stage.value,
                             score_threshold=self.score.value, class_names=self.class_names, gt_boxes=gt,
                             strides=self.model.config.strides, titles=True)

    def status(self) -> str:
        insp, k = self.inspection(self.image_index.value)
        n = int(insp["n_valid"][k])
        above = int((insp["scores"][k][:n] >= self.score.value).sum())
        return (f"{int(insp['proposal_valid'][k].sum())} proposals after NMS; {n} detections, "
                f"{above} at score ≥ {self.score.value:.2f}.")
