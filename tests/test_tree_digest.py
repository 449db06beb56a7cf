"""The project's content digest: what changes it (any byte, name or link of the project's files) and what
does not (caches, virtualenvs, what a link to a folder points into, the files left out on purpose)."""

from __future__ import annotations

from pathlib import Path

from tools.django_celery.tree_digest import env_digest, tree_digest


def make_tree(root: Path) -> Path:
    (root / "app" / "migrations").mkdir(parents=True)
    (root / "app" / "models.py").write_text("class A: ...\n")
    (root / "app" / "migrations" / "0001_initial.py").write_text("operations = []\n")
    (root / "manage.py").write_text("print('hi')\n")
    (root / "db.sqlite3").write_bytes(b"SQLite format 3\0")
    return root


def test_any_byte_name_or_link_changes_the_digest(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "project")
    digests = {tree_digest(root)}
    models = root / "app" / "models.py"
    models.write_text("class A: ... \n")  # one byte
    digests.add(tree_digest(root))
    models.rename(root / "app" / "model.py")
    digests.add(tree_digest(root))
    (root / "app" / "link.py").symlink_to(root / "manage.py")
    digests.add(tree_digest(root))
    (root / "app" / "migrations" / "0002_more.py").write_text("operations = []\n")
    digests.add(tree_digest(root))
    assert len(digests) == 5


def test_caches_virtualenvs_and_linked_folders_do_not_count(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "project")
    before = tree_digest(root)
    (root / "app" / "__pycache__").mkdir()
    (root / "app" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"\0")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "env" / "lib.py").write_text("x = 1\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "vendored").symlink_to(outside, target_is_directory=True)
    assert tree_digest(root) == before
    (outside / "new.py").write_text("y = 2\n")  # behind a link to a folder: never entered
    assert tree_digest(root) == before


def test_files_left_out_do_not_count(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "project")
    database = (root / "db.sqlite3").resolve()
    before = tree_digest(root, frozenset({database}))
    database.write_bytes(b"SQLite format 3\0 with tables")
    assert tree_digest(root, frozenset({database})) == before
    assert tree_digest(root) != tree_digest(root, frozenset({database}))


def test_environment_digest_ignores_the_shell_session_but_not_the_project_s_variables(tmp_path: Path) -> None:
    env_file = tmp_path / ".env.dev"
    env_file.write_text("DATABASE_URL=sqlite:///db.sqlite3\n")
    base = {"PATH": "/usr/bin", "DJANGO_SETTINGS_MODULE": "mysite.settings", "PWD": "/home/me"}
    digest = env_digest(base, [str(env_file)])
    assert (
        env_digest(base | {"PWD": "/tmp", "OLDPWD": "/", "SHLVL": "3", "TMUX_PANE": "%4"}, [str(env_file)])
        == digest
    )
    assert env_digest(base | {"DJANGO_SETTINGS_MODULE": "mysite.prod"}, [str(env_file)]) != digest
    assert env_digest(base | {"REDIS_URL": "redis://127.0.0.1:6379/1"}, [str(env_file)]) != digest
    env_file.write_text("DATABASE_URL=sqlite:///other.sqlite3\n")
    assert env_digest(base, [str(env_file)]) != digest
