"""What the live judge saw, as a summary table, JSON and JUnit XML (for CI)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

from bango_resale_contract._report_files import write_atomically
from bango_resale_contract.live import LiveJudge

JSON_NAME = "proxy-report.json"
JUNIT_NAME = "proxy-junit.xml"
SUMMARY_NAME = "proxy-summary.txt"
# What XML 1.0 refuses even as a character reference: most control characters, unpaired
# surrogates, U+FFFE and U+FFFF. The judge escapes these in what it records; this is the
# last guard, so that CI can always read the file.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda found: repr(found.group())[1:-1], text)


def summary_table(judge: LiveJudge) -> str:
    """Exchanges seen per operation, then violations per rule (every rule, zeros included),
    then what the traffic exercised (rows made, the answers to handle it never met)."""
    per_rule = judge.violations_per_rule
    rows = [("exchanges per operation", "")]
    rows += [(f"  {name}", str(count)) for name, count in sorted(judge.exchanges.items())]
    rows.append(("violations per rule", ""))
    rows += [(f"  {rule}", str(per_rule.get(rule, 0))) for rule in judge.rules()]
    rows += [
        (f"  {rule}", str(n)) for rule, n in sorted(per_rule.items()) if rule not in judge.rules()
    ]
    rows.append(("total violations", str(sum(per_rule.values()))))
    if judge.not_judged_per_operation:
        rows.append(("not judged (a body past the size kept, or not decodable)", ""))
        rows += [
            (f"  {name}", str(count))
            for name, count in sorted(judge.not_judged_per_operation.items())
        ]
    width = max(len(left) for left, _ in rows)
    table = [f"{left:<{width}}  {right:>7}".rstrip() for left, right in rows]
    return "\n".join([*table, *judge.coverage.summary_lines()])


def report_data(judge: LiveJudge) -> dict[str, object]:
    per_rule = judge.violations_per_rule
    return {
        "exchanges": dict(sorted(judge.exchanges.items())),
        "violationsPerRule": {rule: per_rule.get(rule, 0) for rule in judge.rules()},
        "violations": [v.to_json() for v in judge.violations],
        "violationsNotKept": sum(per_rule.values()) - len(judge.violations),
        "entitlementsTracked": judge.tracked_count(),
        "notJudgedPerOperation": dict(sorted(judge.not_judged_per_operation.items())),
        "notJudged": [n.to_json() for n in judge.not_judged_kept],
        "coverage": judge.coverage.to_json(),
    }


def junit_xml(judge: LiveJudge) -> bytes:
    """One test case per rule; each violation of it is a failure."""
    suite = ElementTree.Element(
        "testsuite",
        name="bango-resale-contract proxy",
        tests=str(len(judge.rules())),
        failures=str(len(judge.violations_per_rule)),
    )
    for rule in judge.rules():
        case = ElementTree.SubElement(
            suite, "testcase", classname="bango_resale_contract.live", name=rule
        )
        broken = [v for v in judge.violations if v.rule == rule]
        if broken:
            count = judge.violations_per_rule[rule]
            failure = ElementTree.SubElement(
                case, "failure", message=_xml_text(f"{count} violation(s) of {rule}")
            )
            failure.text = _xml_text("\n".join(v.line() for v in broken))
    if judge.not_judged_per_operation:
        # Exchanges the judge could not vouch for are listed, never counted as passing.
        case = ElementTree.SubElement(
            suite, "testcase", classname="bango_resale_contract.live", name="not_judged"
        )
        count = sum(judge.not_judged_per_operation.values())
        skipped = ElementTree.SubElement(
            case, "skipped", message=f"{count} exchange(s) that could not be judged"
        )
        skipped.text = _xml_text("\n".join(n.line() for n in judge.not_judged_kept))
        suite.set("tests", str(len(judge.rules()) + 1))
        suite.set("skipped", "1")
    suites = ElementTree.Element("testsuites")
    suites.append(suite)
    xml: bytes = ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True)
    return xml


def write_reports(judge: LiveJudge, directory: Path) -> list[Path]:
    """Write JSON, JUnit XML and the summary table into `directory` (atomically, each)."""
    outputs = {
        JSON_NAME: json.dumps(report_data(judge), indent=2).encode() + b"\n",
        JUNIT_NAME: junit_xml(judge),
        SUMMARY_NAME: summary_table(judge).encode() + b"\n",
    }
    return write_atomically(directory, outputs)
