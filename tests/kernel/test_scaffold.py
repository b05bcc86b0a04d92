"""``scripts/new-domain NAME`` plus one line in hub/domains.py gives a domain that is served, has its CLI, its
settings validated and its facts schema-checked: proved on a copy of the repository, by the generated tests
and the domain-list tests run there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support.common import ROOT

pytestmark = pytest.mark.slow


def test_a_scaffolded_domain_is_served_declared_and_checked(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("hub", "handheld_ui", "scripts", "docs"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    (repo / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "conftest.py", repo / "tests" / "conftest.py")
    shutil.copytree(ROOT / "tests" / "support", repo / "tests" / "support", ignore=ignore)
    shutil.copytree(
        ROOT / "tests" / "kernel",
        repo / "tests" / "kernel",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "test_scaffold.py"),
    )
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(repo), "STOREHUB_TEST_HARD_EXIT": "0"}

    def run(*argv, timeout=300):
        return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)

    made = run(sys.executable, "scripts/new-domain", "giftcards", "--title", "Gift cards", "--title-zh", "礼品卡")
    assert made.returncode == 0, made.stderr
    assert "add one line" in made.stdout and (repo / "hub/giftcards/migrations").is_dir()
    assert run(sys.executable, "scripts/new-domain", "giftcards").returncode == 1  # taken
    assert run(sys.executable, "scripts/new-domain", "Gift-Cards").returncode == 2  # not a package name

    # the generated package is not served until it is listed: then it is, by that one line
    listed = repo / "hub" / "domains.py"
    text = listed.read_text()
    head, sep, tail = text.partition("DOMAIN_PACKAGES: tuple[str, ...] = (\n")
    assert sep, "hub/domains.py lists its packages in DOMAIN_PACKAGES"
    body, close, rest = tail.partition(")\n")
    listed.write_text(head + sep + body + '    "hub.giftcards",\n' + close + rest)  # the one line, last in the list
    doc = run(sys.executable, "-m", "hub.factsdoc", "docs/facts.md")
    assert doc.returncode == 0, doc.stderr

    tests = run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/giftcards",  # the generated domain's own tests, and the kernel's checks of the domain list, facts and migrations
        "tests/kernel/test_domains.py",
        "tests/kernel/test_fact_schemas.py",
        "tests/kernel/test_storage.py",
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
