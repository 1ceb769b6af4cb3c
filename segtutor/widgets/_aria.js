// Names the slider handles of the course widget this helper sits in, for
// screen readers (see _aria.py for why this exists and why anywidget).
//
// ipywidgets 8.1 builds each slider with noUiSlider: the focusable handle
// (.noUi-handle, role=slider) has no accessible name, and its aria-valuetext
// is noUiSlider's own formatting of the raw float, e.g. "59.99999999999999".
// For each handle this sets
//   aria-label     = the slider's description ("low", "threshold"), with
//                    "(lower)" / "(upper)" on the two handles of a range slider;
//   aria-valuetext = the text of the slider's readout, exactly what a sighted
//                    student reads next to it (rounded by readout_format).
// A MutationObserver keeps both in step: noUiSlider rewrites aria-valuetext on
// every move, ipywidgets rewrites the readout, and replaces the handles when a
// slider is rebuilt (new min/max). Attributes are only written when they
// differ, so the observer does not wake itself up in a loop.

const RANGE_SEPARATOR = " \u2013 "; // ipywidgets' range readout: "0.20 – 0.80"

function sliderName(slider) {
  const label = slider.querySelector(":scope > .widget-label");
  const text = label ? label.textContent.trim() : "";
  // Without a description ipywidgets puts the tooltip on the slider's title.
  return text || (slider.getAttribute("title") || "").trim() || "slider";
}

function setIfChanged(el, name, value) {
  if (value && el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}

function nameHandles(box) {
  for (const slider of box.querySelectorAll(".widget-slider")) {
    const handles = slider.querySelectorAll(".noUi-handle");
    if (handles.length === 0) continue;
    const name = sliderName(slider);
    const readout = slider.querySelector(":scope > .widget-readout");
    const shown = readout ? readout.textContent.trim() : "";
    const parts = handles.length > 1 ? shown.split(RANGE_SEPARATOR.trim()).map((s) => s.trim()) : [shown];
    handles.forEach((handle, i) => {
      const suffix = handles.length === 2 ? (i === 0 ? " (lower)" : " (upper)") : "";
      setIfChanged(handle, "aria-label", name + suffix);
      // A hidden readout (readout=False) may be empty; noUiSlider's own text stays then.
      if (parts.length === handles.length && parts[i]) {
        setIfChanged(handle, "aria-valuetext", parts[i]);
      }
    });
  }
}

function render({ el }) {
  let observer = null;
  let tries = 0;
  let timer = null;
  // The helper's element is attached to the page after render() returns, so
  // find the widget box it belongs to once it is in the document.
  const attach = () => {
    const box = el.isConnected ? el.closest(".segtutor-widget") : null;
    if (box === null) {
      if (++tries < 600) timer = setTimeout(attach, 50);
      return;
    }
    nameHandles(box);
    observer = new MutationObserver(() => nameHandles(box));
    observer.observe(box, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["aria-valuetext", "aria-valuenow", "title"],
    });
  };
  attach();
  return () => {
    if (timer !== null) clearTimeout(timer);
    if (observer !== null) observer.disconnect();
  };
}

export default { render };
