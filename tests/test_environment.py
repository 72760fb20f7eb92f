"""Binder's environment.yml and the publishing workflow, checked offline (issue 17).

Binder builds ``environment.yml`` and then installs the companion (``-e .``): it must list
every requirement of ``pyproject.toml`` (the package and its ``book`` extra) with a range
inside the package's own. The GitHub Pages workflow cannot run here; its YAML is checked.
"""

from __future__ import annotations

import re

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.bookinfo import ROOT, config

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
ENV = yaml.safe_load((ROOT / "environment.yml").read_text())
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"


def pip_section() -> list[str]:
    sections = [d["pip"] for d in ENV["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    return sections[0]


def env_requirements() -> dict[str, Requirement]:
    reqs = [Requirement(r) for r in pip_section() if not r.startswith(("-", "."))]
    return {canonicalize_name(r.name): r for r in reqs}


def needed() -> list[Requirement]:
    reqs = PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["book"]
    return [Requirement(r) for r in reqs]


def probes(*specs: SpecifierSet) -> list[Version]:
    """Versions at and around every bound the specifiers mention."""
    found = set()
    for spec in specs:
        for s in spec:
            v = Version(s.version.replace(".*", ""))
            major, minor, micro = (list(v.release) + [0, 0])[:3]
            found |= {
                v,
                Version(f"{major}.{minor}.{micro + 1}"),
                Version(f"{major}.{minor + 1}"),
                Version(f"{major + 1}.0"),
                Version(f"{max(major - 1, 0)}.9"),
                Version(f"{major}.{max(minor - 1, 0)}.99"),
            }
    return sorted(found)


def test_environment_yml_is_a_conda_environment():
    assert set(ENV) >= {"name", "channels", "dependencies"}
    assert ENV["channels"] and all(isinstance(c, str) for c in ENV["channels"])
    conda = [d for d in ENV["dependencies"] if isinstance(d, str)]
    assert "pip" in conda
    python = next(d for d in conda if re.match(r"python\b", d))
    version = Version(python.split("=", 1)[1].lstrip("="))
    assert version in SpecifierSet(PYPROJECT["requires-python"])
    assert "-e ." in pip_section() or "." in pip_section(), "Binder must install the companion"


@pytest.mark.parametrize("req", needed(), ids=str)
def test_environment_lists_every_requirement_with_a_compatible_range(req):
    env = env_requirements()
    name = canonicalize_name(req.name)
    assert name in env, f"environment.yml does not list {req.name} (pyproject.toml needs {req})"
    mine = env[name].specifier
    versions = probes(mine, req.specifier)
    allowed = [v for v in versions if v in mine]
    assert allowed, f"environment.yml's range for {req.name} ({mine}) allows nothing"
    outside = [str(v) for v in allowed if v not in req.specifier]
    assert not outside, f"environment.yml allows {req.name} {outside}, pyproject.toml says {req}"


def test_the_range_check_catches_a_wrong_range():
    req = Requirement("jupyter-book>=1.0.4,<2")
    wrong = SpecifierSet(">=0.15")
    assert [v for v in probes(wrong, req.specifier) if v in wrong and v not in req.specifier]


def test_publish_workflow_builds_the_book_and_deploys_it_to_pages():
    flow = yaml.safe_load(WORKFLOW.read_text())
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads `on` as True
    assert triggers["push"]["branches"] == ["main"]
    assert flow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    uses = [s.get("uses", "").split("@")[0] for s in build["steps"]]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert "actions/upload-pages-artifact" in uses
    runs = [s["run"] for s in build["steps"] if "run" in s]
    assert any(r.startswith("make book") for r in runs)
    assert "whl/cpu" in build["env"]["PIP_EXTRA_INDEX_URL"]  # the CPU build of torch
    artifact = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert artifact["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")


def test_readme_links_the_published_book():
    owner, repo = config()["repository"]["url"].removeprefix("https://github.com/").split("/")
    assert f"https://{owner}.github.io/{repo}/" in (ROOT / "README.md").read_text()
