"""``segtutor collect``: students' folders from their homes into ``submissions/<user>/`` (issue 29)."""

import json
import os
from pathlib import Path

import pytest

from segtutor.cli import main
from segtutor.grading.collect import RECORD_NAME, collect_homes


def _home(root, user, folder="segtutor-work", notebooks=("00_welcome.ipynb",)):
    path = root / "home" / user / folder
    path.mkdir(parents=True)
    for name in notebooks:
        (path / name).write_text(json.dumps({"user": user, "name": name}))
    return path


def test_each_home_becomes_its_users_submission_folder(tmp_path):
    homes = [_home(tmp_path, "alice"), _home(tmp_path, "bob", notebooks=("00_welcome.ipynb", "01_images.ipynb"))]
    (homes[0] / "notes.txt").write_text("not a notebook")
    (homes[0] / ".hidden.ipynb").write_text("{}")
    copied = collect_homes(homes, tmp_path / "submissions")
    assert copied == {"alice": ["00_welcome.ipynb"], "bob": ["00_welcome.ipynb", "01_images.ipynb"]}
    subs = tmp_path / "submissions"
    assert json.loads((subs / "bob" / "01_images.ipynb").read_text()) == {"user": "bob", "name": "01_images.ipynb"}
    assert sorted(p.name for p in (subs / "alice").iterdir()) == [RECORD_NAME, "00_welcome.ipynb"]


def test_collecting_again_refreshes_the_same_homes(tmp_path):
    home = _home(tmp_path, "alice")
    collect_homes([home], tmp_path / "subs")
    (home / "00_welcome.ipynb").write_text('{"edited": true}')
    collect_homes([home], tmp_path / "subs")
    assert json.loads((tmp_path / "subs" / "alice" / "00_welcome.ipynb").read_text()) == {"edited": True}


def test_a_real_collision_is_still_an_error(tmp_path):
    first = _home(tmp_path, "alice")
    second = _home(tmp_path / "other-server", "alice")
    with pytest.raises(ValueError, match="both claim student 'alice'"):
        collect_homes([first, second], tmp_path / "subs")
    assert not (tmp_path / "subs").exists()  # checked before anything is copied
    collect_homes([first], tmp_path / "subs")
    with pytest.raises(ValueError, match="already holds student 'alice'"):
        collect_homes([second], tmp_path / "subs")
    (tmp_path / "subs" / "bob").mkdir()
    with pytest.raises(ValueError, match="by hand or by another tool"):
        collect_homes([_home(tmp_path, "bob")], tmp_path / "subs")


def test_symbolic_links_are_not_followed(tmp_path):
    home = _home(tmp_path, "mallory")
    victim = _home(tmp_path, "alice", notebooks=("01_images.ipynb",))
    os.symlink(victim / "01_images.ipynb", home / "01_images.ipynb")
    assert collect_homes([home], tmp_path / "subs") == {"mallory": ["00_welcome.ipynb"]}


@pytest.mark.parametrize("folders, to, error, message", [
    ([], "subs", ValueError, "at least one student folder"),
    (["missing"], "subs", FileNotFoundError, "does not exist"),
    ([None], "subs", ValueError, "must be paths"),
    (["file"], "subs", ValueError, "is not a folder"),
    (["home/alice/segtutor-work"], 3, ValueError, "to must be the path"),
])
def test_bad_arguments_say_what_to_give(tmp_path, monkeypatch, folders, to, error, message):
    monkeypatch.chdir(tmp_path)
    _home(tmp_path, "alice")
    (tmp_path / "file").write_text("x")
    with pytest.raises(error, match=message):
        collect_homes(folders, to)


def test_cli_collect_then_grade_reads_one_student_per_home(tmp_path, capsys):
    from segtutor.grading.grade import collect_submissions, load_sources

    sources = load_sources([Path(__file__).resolve().parents[1] / "notebooks" / "00_welcome.ipynb"])
    homes = [_home(tmp_path, user) for user in ("alice", "bob")]
    assert main(["collect", *map(str, homes), "--to", str(tmp_path / "subs")]) == 0
    assert "alice: 1 notebook(s)" in capsys.readouterr().out
    subs = collect_submissions([tmp_path / "subs"], sources)
    assert sorted(s.student for s in subs) == ["alice", "bob"]
    # The folders as they sit in the homes share one name, hence collect.
    with pytest.raises(ValueError, match="both claim student 'segtutor-work'"):
        collect_submissions(homes, sources)
    assert main(["collect", str(tmp_path / "nowhere"), "--to", str(tmp_path / "subs")]) == 2
    assert "segtutor collect: error:" in capsys.readouterr().err
