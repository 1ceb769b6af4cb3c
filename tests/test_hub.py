"""A real JupyterHub on 127.0.0.1, set up as the README's hub sections say (issue 29).

One hub for the module: DummyAuthenticator, SimpleLocalProcessSpawner (every
student's home under a temporary folder), configurable-http-proxy from npm.
The spawner's command is the README's login step: release the student copies
from the world-readable folder of already-released copies into
``~/segtutor-work``, then start the single-user server with kernel culling on.

Two students log in through the login form and get their copies; the notebook
opens in the course kernel; a cell and a ``check`` run through the kernel's
websocket; an edit survives a second login; ``segtutor collect`` and
``segtutor grade`` grade their homes.

configurable-http-proxy comes from npm (``npm install --prefix`` into a cache
folder, once). Without npm, or offline on the first run, the tests skip
saying why; SEGTUTOR_REQUIRE_HUB=1 (set by .ci/run) makes them fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SOURCE_00 = ROOT / "notebooks" / "00_welcome.ipynb"
CHP_VERSION = "5.3.0"
REQUIRED = os.environ.get("SEGTUTOR_REQUIRE_HUB", "0") not in ("", "0")
FOLDER = "segtutor-work"
# The README's login step, word for word but for the paths the test chooses.
LOGIN_STEP = ('{segtutor} release {release}/ --to "$HOME/' + FOLDER + '" --update >"$HOME/.segtutor-login.log" 2>&1; '
              'exec "$@"')
KERNEL_CULLING = ["--MappingKernelManager.cull_idle_timeout=1800", "--MappingKernelManager.cull_interval=300",
                  "--MappingKernelManager.cull_connected=False"]


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"SEGTUTOR_REQUIRE_HUB is set, but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chp_command() -> str:
    """configurable-http-proxy, installed from npm once into the user's cache folder."""
    on_path = shutil.which("configurable-http-proxy")
    if on_path:
        return on_path
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "segtutor" / f"chp-{CHP_VERSION}"
    chp = cache / "node_modules" / ".bin" / "configurable-http-proxy"
    if chp.exists():
        return str(chp)
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        _unavailable("npm and Node.js are missing, and the hub's proxy (configurable-http-proxy) comes from npm: "
                     "install them (Debian: apt-get install npm) to run the JupyterHub tests")
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
                           f"configurable-http-proxy@{CHP_VERSION}"], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not chp.exists():
        _unavailable(f"npm could not install configurable-http-proxy@{CHP_VERSION} (offline?): "
                     + (proc.stderr.strip().splitlines() or ["no output"])[-1])
    return str(chp)


def _readme_block(first_line: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(first_line)
    return text[start:text.index("```", start)]


def test_readme_hub_recipes_are_what_this_test_runs():
    from traitlets.config import Config

    c = Config()
    exec(_readme_block("# /opt/tljh/config/jupyterhub_config.d/segtutor.py"), {"c": c})
    login = LOGIN_STEP.format(segtutor="/opt/segtutor/bin/segtutor", release="/opt/segtutor/release")
    assert c.Spawner.cmd == ["/bin/sh", "-c", login, "segtutor-login", "/opt/tljh/user/bin/jupyterhub-singleuser"]
    assert c.Spawner.args == KERNEL_CULLING
    assert c.Spawner.default_url == f"/lab/tree/{FOLDER}/00_welcome.ipynb"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    step = login.removesuffix('; exec "$@"')
    assert step in readme  # the login step under "For instructors"
    assert step.replace("/opt/segtutor/bin/", "/opt/conda/bin/") in readme  # Zero to JupyterHub's postStart
    assert "ipykernel install --prefix /opt/tljh/user --name segtutor" in readme
    pins = dict(line.split("==") for line in (ROOT / "requirements" / "constraints.txt").read_text().split()
                if "==" in line)
    for front_end in ("jupyterlab_widgets", "anywidget"):  # the hub's JupyterLab gets the locked versions
        assert f"{front_end}=={pins[front_end]}" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "export SEGTUTOR_REQUIRE_HUB=1" in ci


class Hub:
    """A running hub and the folders around it."""

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(16)
        self.release = root / "opt" / "segtutor" / "release"
        self.homes = root / "home"
        self.proc = None

    def api(self, method: str, path: str, **kwargs):
        import requests

        headers = {"Authorization": f"token {self.token}"}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs)

    def wait_ready(self, user: str, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            assert self.proc.poll() is None, "the hub died; see its log"
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server was not ready after {timeout} s: {model}; "
                             f"log: {(self.homes / user / '.segtutor-login.log').read_text(errors='replace')[-2000:]}")

    def stop(self, user: str):
        self.api("DELETE", f"/users/{user}/server")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not self.api("GET", f"/users/{user}").json().get("servers"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server did not stop")


def _hub_config(hub: Hub, chp: str, kernels: Path) -> str:
    login = LOGIN_STEP.format(segtutor=BIN / "segtutor", release=hub.release)
    return f"""
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {hub.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {_free_port()}
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{_free_port()}"
c.JupyterHub.db_url = "sqlite:///{hub.root / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(hub.root / 'cookie_secret')!r}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(hub.homes / '{username}')!r}
c.Spawner.cmd = ["/bin/sh", "-c", {login!r}, "segtutor-login", {str(BIN / 'jupyterhub-singleuser')!r}]
c.Spawner.args = {KERNEL_CULLING + (["--allow-root"] if os.geteuid() == 0 else [])!r}
c.Spawner.default_url = "/lab/tree/{FOLDER}/00_welcome.ipynb"
c.Spawner.environment = {{"JUPYTER_PATH": {str(kernels)!r}, "SEGTUTOR_FAST": "1"}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "segtutor-test", "api_token": {hub.token!r}}}]
c.JupyterHub.load_roles = [{{"name": "segtutor-test", "services": ["segtutor-test"],
                            "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
"""


@pytest.fixture(scope="module")
def hub():
    pytest.importorskip("jupyterhub", reason="jupyterhub is not installed: pip install -e '.[test]'")
    chp = _chp_command()
    # Not pytest's tmp_path: its parents are private to their owner, and the
    # release folder must be readable by every account, as on a real server.
    root = Path(tempfile.mkdtemp(prefix="segtutor-hub-"))
    root.chmod(0o755)
    hub = Hub(root)
    try:
        # The instructor's set-up, as the README says: the source notebooks
        # stay in a private clone; only the released copies are world-readable.
        subprocess.run([BIN / "segtutor", "release", *sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
                        "--to", hub.release], check=True, capture_output=True)
        for path in [hub.release, *hub.release.parents]:
            if path == root.parent:
                break
            path.chmod(0o755)
        for path in hub.release.iterdir():
            path.chmod(0o644)
        # The course kernel, installed into the prefix the hub's servers read
        # (README: `ipykernel install --prefix /opt/tljh/user --name segtutor`).
        prefix = root / "hub-env"
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--prefix", prefix, "--name", "segtutor",
                        "--display-name", "Python 3 (segtutor)"], check=True, capture_output=True)
        hub.homes.mkdir()
        # The news pop-up off in the hub's JupyterLab, as course.py does for its own
        # (README: write_lab_overrides on the hub environment's prefix).
        import runpy

        runpy.run_path(str(ROOT / "course.py"), run_name="course")["write_lab_overrides"](sys.prefix)
        config = root / "jupyterhub_config.py"
        config.write_text(_hub_config(hub, chp, prefix / "share" / "jupyter"))
        log = open(root / "hub.log", "wb")
        env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
        hub.proc = subprocess.Popen([BIN / "jupyterhub", "-f", config], cwd=root, stdout=log,
                                    stderr=subprocess.STDOUT, env=env)
        import requests

        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{hub.url}/hub/api", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if hub.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the hub did not start: " + (root / "hub.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield hub
    finally:
        if hub.proc is not None:
            hub.proc.terminate()
            try:
                hub.proc.wait(30)
            except subprocess.TimeoutExpired:
                hub.proc.kill()
        # SimpleLocalProcessSpawner leaves its servers to the hub; any still up die with their homes.
        shutil.rmtree(root, ignore_errors=True)


def _login(hub: Hub, user: str):
    """Log in through the form as a browser would; returns the session once the server answers."""
    import requests

    session = requests.Session()
    page = session.get(f"{hub.url}/hub/login", timeout=30)
    assert page.ok, page.text[:500]
    xsrf = session.cookies.get("_xsrf", "")
    response = session.post(f"{hub.url}/hub/login", data={"username": user, "password": "any", "_xsrf": xsrf},
                            timeout=60)
    assert response.ok, response.text[:500]
    hub.wait_ready(user)
    # The server's own page: the OAuth round trip gives the session its cookie.
    lab = session.get(f"{hub.url}/user/{user}/lab", timeout=60)
    assert lab.ok and f"/user/{user}/" in lab.url, lab.url
    session.headers["X-XSRFToken"] = session.cookies.get("_xsrf", path=f"/user/{user}/") or xsrf
    return session


def _run_in_kernel(hub: Hub, session, user: str, kernel_id: str, code: str, timeout: float = 180) -> str:
    """Execute ``code`` through the kernel's websocket; returns its stdout, raises on an error."""
    import websocket

    url = f"ws://127.0.0.1:{hub.port}/user/{user}/api/kernels/{kernel_id}/channels"
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws = websocket.create_connection(url, cookie=cookies, timeout=timeout,
                                     header=[f"X-XSRFToken: {session.headers['X-XSRFToken']}"])
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                raise AssertionError(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)
        raise AssertionError(f"no reply within {timeout} s")
    finally:
        ws.close()


def _cell(nb, function: str | None = None, contains: str | None = None):
    for cell in nb.cells:
        if function and cell.get("metadata", {}).get("segtutor", {}).get("function") == function:
            return cell
        if contains and cell.cell_type == "code" and contains in cell.source:
            return cell
    raise AssertionError(f"no cell for {function or contains}")


def test_two_students_work_on_the_hub_and_are_graded_from_their_homes(hub):
    alice = _login(hub, "alice")
    bob = _login(hub, "bob")
    for user in ("alice", "bob"):
        copy = hub.homes / user / FOLDER / "00_welcome.ipynb"
        assert copy.is_file(), (hub.homes / user / ".segtutor-login.log").read_text(errors="replace")
        assert "### BEGIN SOLUTION" not in copy.read_text()
    base = f"{hub.url}/user/alice/api"

    # The notebook names the course kernel, and the hub's servers have it.
    specs = alice.get(f"{base}/kernelspecs", timeout=30).json()["kernelspecs"]
    assert specs["segtutor"]["spec"]["display_name"] == "Python 3 (segtutor)"
    model = alice.get(f"{base}/contents/{FOLDER}/00_welcome.ipynb", timeout=30).json()
    assert model["content"]["metadata"]["kernelspec"]["name"] == "segtutor"
    # The news pop-up is off in the hub's JupyterLab (course.py's overrides, README step).
    settings = alice.get(f"{hub.url}/user/alice/lab/api/settings/@jupyterlab/apputils-extension:notification",
                         timeout=30).json()
    defaults = settings["schema"]["properties"]
    assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False

    # The widget front ends are in the hub's JupyterLab: ipywidgets 8's and anywidget's.
    extensions = alice.get(f"{hub.url}/user/alice/lab/api/extensions", timeout=60).json()
    installed = {e["name"] for e in (extensions[0] if isinstance(extensions[0], list) else extensions)
                 if e.get("installed") and e.get("enabled")}
    assert {"jupyter-widgets-jupyterlab-manager", "anywidget"} <= installed, sorted(installed)

    # Alice solves exercise 0.1 in the editor: the notebook is saved through the server.
    nb = nbformat.from_dict(model["content"])
    # A student's answer, so without the instructor's ### BEGIN/END SOLUTION marker lines.
    solution = "\n".join(line for line in _cell(nbformat.read(SOURCE_00, as_version=4),
                                                  function="my_fraction_above").source.splitlines()
                         if "### " not in line)
    _cell(nb, function="my_fraction_above").source = solution
    saved = alice.put(f"{base}/contents/{FOLDER}/00_welcome.ipynb", timeout=30,
                      json={"type": "notebook", "format": "json", "content": nb})
    assert saved.ok, saved.text[:500]

    # Opening it starts the kernel the notebook names; its first cell and the check run there.
    session = alice.post(f"{base}/sessions", timeout=60, json={
        "path": f"{FOLDER}/00_welcome.ipynb", "type": "notebook", "name": "00_welcome.ipynb",
        "kernel": {"name": model["content"]["metadata"]["kernelspec"]["name"]}}).json()
    assert session["kernel"]["name"] == "segtutor", session
    kernel = session["kernel"]["id"]
    first = next(c for c in nb.cells if c.cell_type == "code").source
    assert "mode: fast" in _run_in_kernel(hub, alice, "alice", kernel, first)
    where = _run_in_kernel(hub, alice, "alice", kernel, "import os, segtutor; print(os.getcwd()); print(segtutor.__file__)")
    assert where.split()[0] == str(hub.homes / "alice" / FOLDER) and where.split()[1].endswith("__init__.py")
    _run_in_kernel(hub, alice, "alice", kernel, solution)
    report = _run_in_kernel(hub, alice, "alice", kernel, _cell(nb, contains='check("fraction_above"').source)
    assert "fraction_above" in report and "not attempted" not in report, report

    # A second login keeps the edit: the login step's --update never overwrites edited work.
    hub.stop("alice")
    alice = _login(hub, "alice")
    kept = nbformat.read(hub.homes / "alice" / FOLDER / "00_welcome.ipynb", as_version=4)
    assert _cell(kept, function="my_fraction_above").source == solution
    assert "updated" not in " ".join(p.name for p in (hub.homes / "alice" / FOLDER).iterdir())

    # Grading the homes as collected: one folder per home, the student is the home's name.
    subs = hub.root / "submissions"
    subprocess.run([BIN / "segtutor", "collect", *sorted(hub.homes.glob(f"*/{FOLDER}")), "--to", subs],
                   check=True, capture_output=True)
    from segtutor.grading.sandbox import sandbox_problem

    args = [BIN / "segtutor", "grade", subs, "--source", SOURCE_00, "--out", hub.root / "grades" / "gradebook.csv",
            "--seed", "1", "--timeout", "600"]
    if sandbox_problem():
        args.append("--unsandboxed")  # this machine cannot start bubblewrap; the grading tests cover the sandbox
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, SEGTUTOR_FAST="1"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    import csv

    rows = list(csv.DictReader((hub.root / "grades" / "gradebook.csv").open()))
    totals = {row["student"]: float(row["total"]) for row in rows}
    assert totals == {"alice": 1.0, "bob": 0.0}, rows


def test_the_login_step_needs_no_solutions_and_a_student_cannot_read_them(hub):
    if os.geteuid() != 0:
        pytest.skip("needs root to act as a second, unprivileged account (the hub's students run as the test's user)")
    import pwd

    nobody = pwd.getpwnam("nobody")
    # The instructor's clone, private as the README says (chmod 700).
    clone = hub.root / "instructor" / "segtutor"
    shutil.copytree(ROOT / "notebooks", clone / "notebooks", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (hub.root / "instructor").chmod(0o700)
    home = hub.root / "student-home"
    home.mkdir()
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    login = LOGIN_STEP.format(segtutor=BIN / "segtutor", release=hub.release)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "SEGTUTOR_FAST": "1"}

    def as_student(*cmd, **kwargs):
        def drop():
            os.setgid(nobody.pw_gid)
            os.setgroups([])
            os.setuid(nobody.pw_uid)
        return subprocess.run(cmd, env=env, preexec_fn=drop, capture_output=True, text=True, timeout=300, **kwargs)

    # The login step, run as the student, releases from the world-readable copies alone.
    proc = as_student("/bin/sh", "-c", login, "segtutor-login", "true")
    assert proc.returncode == 0, proc.stderr
    released = sorted((home / FOLDER).glob("*.ipynb"))
    assert len(released) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    # Everything on this hub the student's account can read holds no solution.
    probe = (
        "import os, sys\n"
        "readable, leaks = 0, []\n"
        "for top, dirs, files in os.walk(sys.argv[1]):\n"
        "    for name in files:\n"
        "        path = os.path.join(top, name)\n"
        "        try:\n"
        "            text = open(path, encoding='utf-8', errors='replace').read()\n"
        "        except OSError:\n"
        "            continue\n"
        "        readable += 1\n"
        "        if '### BEGIN SOLUTION' in text:\n"
        "            leaks.append(path)\n"
        "print(readable, leaks)\n"
    )
    proc = as_student(sys.executable, "-c", probe, str(hub.root))
    assert proc.returncode == 0, proc.stderr
    readable, leaks = proc.stdout.split(" ", 1)
    assert int(readable) >= len(released) and leaks.strip() == "[]", proc.stdout
    # The solutions are there, for the instructor only.
    assert "### BEGIN SOLUTION" in (clone / "notebooks" / "00_welcome.ipynb").read_text()
