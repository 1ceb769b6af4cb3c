"""`python3 course.py open` turns JupyterLab's news pop-up and update checks off in the course's venv."""

import importlib.util
import json

import pytest

import browserlab as bl


def _course():
    spec = importlib.util.spec_from_file_location("course", bl.REPO / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NEWS = "@jupyterlab/apputils-extension:notification"


def test_writes_news_off_into_the_environment_overrides(tmp_path):
    path = _course().write_lab_overrides(tmp_path)
    assert path == tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings = json.loads(path.read_text())
    assert settings[NEWS] == {"fetchNews": "false", "checkForUpdates": False}
    # the same values the browser tests run JupyterLab with
    assert settings[NEWS] == bl.NEWS_OFF[NEWS]


def test_keeps_other_overrides_and_is_idempotent(tmp_path):
    path = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
                                NEWS: {"doNotDisturbMode": True, "fetchNews": "true"}}))
    course = _course()
    course.write_lab_overrides(tmp_path)
    course.write_lab_overrides(tmp_path)
    settings = json.loads(path.read_text())
    assert settings["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert settings[NEWS] == {"doNotDisturbMode": True, "fetchNews": "false", "checkForUpdates": False}


@pytest.mark.parametrize("broken", ["{not json", "[1, 2]"])
def test_replaces_a_broken_overrides_file(tmp_path, broken):
    path = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True)
    path.write_text(broken)
    _course().write_lab_overrides(tmp_path)
    assert json.loads(path.read_text()) == bl.NEWS_OFF


def test_open_writes_the_overrides_before_starting_jupyterlab():
    source = (bl.REPO / "course.py").read_text()
    body = source[source.index("def cmd_open"):source.index("def cmd_test")]
    assert body.index("write_lab_overrides(VENV)") < body.index('"-m", "jupyterlab"')


def test_jupyterlab_reads_the_overrides_written(tmp_path):
    """JupyterLab's settings API serves the news setting off when the app settings hold the file."""
    import subprocess
    import sys
    import urllib.request

    course = _course()
    course.write_lab_overrides(tmp_path)
    settings_dir = tmp_path / "share" / "jupyter" / "lab" / "settings"
    port = bl.free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
           "--port-retries=0", "--IdentityProvider.token=", f"--LabApp.app_settings_dir={settings_dir}",
           f"--LabApp.user_settings_dir={tmp_path / 'user'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
           f"--ServerApp.root_dir={tmp_path}"]
    import os
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    log_path = tmp_path / "lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
        try:
            bl.wait_ready(proc, f"http://127.0.0.1:{port}/api/status", log_path, "JupyterLab")
            url = f"http://127.0.0.1:{port}/lab/api/settings/{NEWS.replace(':', '%3A')}"
            with urllib.request.urlopen(url, timeout=30) as response:
                plugin = json.loads(response.read())
        finally:
            bl.stop(proc)
    defaults = plugin["schema"]["properties"]
    assert defaults["fetchNews"]["default"] == "false"
    assert defaults["checkForUpdates"]["default"] is False
