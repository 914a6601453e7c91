"""The portability pieces that run without the partner tools: the lint's refusal of YAML anchors
and aliases, and how scripts/portability.py reads the tools' output. (`make portability` runs
the tools themselves; `make test` runs it.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import lint_spec  # noqa: E402
import portability  # noqa: E402

ANCHORED = """\
openapi: 3.1.0
info: {title: t, version: '1'}
paths: {}
components:
  examples:
    First:
      value: &shared
        salesChannel: retail-store
    Second:
      value: *shared
"""


def test_the_lint_refuses_anchors_and_aliases(tmp_path: Path) -> None:
    document = tmp_path / "anchored.openapi.yaml"
    document.write_text(ANCHORED)
    found = lint_spec.yaml_references(document)
    assert found == [
        "anchor &shared at line 7: write its uses out in full",
        "alias *shared at line 10: write the value out in full",
    ]


@pytest.mark.parametrize("document", sorted((ROOT / "spec").glob("*.yaml")), ids=lambda p: p.name)
def test_the_published_documents_are_written_out_in_full(document: Path) -> None:
    assert lint_spec.yaml_references(document) == []


@pytest.mark.parametrize(
    ("line", "fault"),
    [
        ("[main] WARN  o.o.codegen.DefaultGenerator - FILEPATH_COLLISION: File path ...", True),
        ("[main] WARN  o.o.c.l.AbstractPythonCodegen - Failed to lookup model in createImp", True),
        ("[main] ERROR o.o.codegen.DefaultGenerator - Could not generate api file", True),
        ("[main] WARN  o.o.codegen.DefaultCodegen - OpenAPI 3.1 support is still in beta.", False),
        ("[main] INFO  o.o.codegen.TemplateManager - writing file .../ApiException.java", False),
    ],
)
def test_generator_faults_are_told_from_its_notes(line: str, fault: bool) -> None:
    assert bool(portability.GENERATOR_FAULTS.search(line)) is fault


def test_every_check_is_reachable_by_name() -> None:
    assert set(portability.CHECKS) == {
        "python",
        "typescript-fetch",
        "java",
        "openapi-typescript",
        "specmatic",
        "prism",
    }
    with pytest.raises(SystemExit):
        portability.main(["--only", "no-such-tool"])
