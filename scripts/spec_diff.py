"""The partner spec's change gate (`make spec-diff`) and release verb (`make spec-release`).

`check` compares spec/bango-resale.openapi.yaml with the last released version kept in
spec/released/<version>.openapi.yaml (or, with `--base`, any earlier one: a partner on 1.0.0
asks `make spec-diff BASE=1.0.0` what changed since theirs), in two parts:

* the OpenAPI shapes, through the pinned Redocly CLI's `diff` with its `diff-recommended` rules
  (redocly.yaml), which rates every change as a major, minor or patch bump. Both documents go
  to it with their `$ref`s inlined, so a change to a shared component is rated at every
  operation and webhook it reaches; the report lists it once, with those places;
* the spec's own data tables, which Redocly does not read: the reason table (`x-reasons`, rows
  keyed by Bango index), the fallback reason (`x-reason-fallback`), the response-code table
  (`x-response-codes`), and the status preconditions. Preconditions are read from
  `x-allowed-from` and from the rows of `x-status-machine`, whichever a version has, so moving
  from one to the other with the same statuses is no change. When both versions carry
  `x-status-machine`, its rows are also compared by `id`.

Each change is rated by the policy of spec/CHANGELOG.md: breaking (major), additive (minor) or
wording (patch). The gate fails when the new `info.version` is lower than the change needs (a
breaking change without a major bump), or when a bumped version has no CHANGELOG entry. It
prints a change report that can be sent to partners as it is.

`release` copies the partner spec to spec/released/<info.version>.openapi.yaml once that
version has its CHANGELOG entry; run again after further changes to the same unreleased
version, it cuts the baseline again.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from node_tools import ToolFailed, run_json

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "bango-resale.openapi.yaml"
RELEASED = ROOT / "spec" / "released"
CHANGELOG = ROOT / "spec" / "CHANGELOG.md"

IMPACTS = ("none", "patch", "minor", "major")
LABELS = {
    "major": "Breaking (needs a major version)",
    "minor": "Additions (need a minor version)",
    "patch": "Wording and examples (patch)",
}
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

# Preconditions are named by what they constrain: an operation by its operationId, an update body
# by its schema name, a field of one by `Schema.field` (as `x-allowed-from` sat, and as a machine
# row's `request` names it).


@dataclass(frozen=True, slots=True)
class Change:
    impact: str  # "major", "minor" or "patch"
    where: str
    message: str
    #: A change inside a shared component: the component and the changed part of it
    #: (`schemas/Envelope/properties/responseMessage`); `where` is then one place using it.
    shared: str | None = None


def _version(text: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text.strip())
    if match is None:
        raise SystemExit(f"info.version {text!r} is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


def load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: dict[str, Any] = yaml.load(path.read_text("utf-8"), Loader=loader)
    return document


class BaselineError(ValueError):
    """`--base` names neither a file nor a released version."""


def baseline(value: str | None, directory: Path = RELEASED) -> Path:
    """The spec to compare with: `value` as a file (`spec/released/1.0.0.openapi.yaml`) or as
    a released version (`1.0.0`); the latest release when None."""
    if value is None:
        return latest_release(directory)
    if Path(value).is_file():
        return Path(value)
    released = directory / f"{value}.openapi.yaml"
    if re.fullmatch(r"\d+\.\d+\.\d+", value) and released.is_file():
        return released
    versions = sorted(
        (p.name.removesuffix(".openapi.yaml") for p in directory.glob("*.openapi.yaml")),
        key=_version,
    )
    raise BaselineError(
        f"--base: {value!r} is neither a spec file nor a released version"
        f" (released: {', '.join(versions) or 'none'})"
    )


def latest_release(directory: Path = RELEASED) -> Path:
    releases = sorted(
        directory.glob("*.openapi.yaml"),
        key=lambda p: _version(p.name.removesuffix(".openapi.yaml")),
    )
    if not releases:
        raise SystemExit(f"no released baseline in {directory}; cut one with `make spec-release`")
    return releases[-1]


# -- OpenAPI shapes, through Redocly ----------------------------------------------------------


def redocly_changes(base: Path, revision: Path) -> list[Change]:
    """Redocly's changes between the two documents, each at every place it reaches.

    Redocly visits a shared component once: a change to a schema that five operations use
    would be listed at the first of them only, rated for that place alone. Both documents are
    therefore compared with their local `$ref`s inlined (`inline_refs`), so a change shows up,
    and is rated, at every operation and webhook that uses it, request and response alike.
    """
    config = str(ROOT / "redocly.yaml")
    with tempfile.TemporaryDirectory(prefix="spec-diff-") as folder:
        inlined = []
        for name, path in (("base", base), ("revision", revision)):
            document, origins = inline_refs(load(path), path.resolve().parent)
            # JSON: it has no aliases, which would make a node used twice one node again.
            target = Path(folder) / f"{name}.openapi.json"
            target.write_text(json.dumps(document), "utf-8")
            inlined.append((target, origins))
        (base_file, base_origins), (revision_file, revision_origins) = inlined
        try:
            report = run_json(
                "redocly",
                "diff",
                str(base_file),
                str(revision_file),
                "--format=json",
                "--fail-on=none",
                "--config",
                config,
            )
        except ToolFailed as exc:
            raise SystemExit(str(exc)) from None
    origins = {**base_origins, **revision_origins}
    changes = []
    for change in report["changes"]:
        if change["path"] == "#/info" and change.get("property") == "version":
            continue  # the version itself is what the gate checks
        if change["path"].startswith("#/x-"):
            continue  # root data tables: compared below, row by row
        messages = [verdict["message"] for verdict in change["verdicts"]]
        if not messages:
            what = change.get("property") or change["path"].rsplit("/", 1)[-1]
            messages = [f"`{_unescape(what)}` {change['kind']}"]
        where, shared = _where(change["path"], origins)
        for message in messages:
            changes.append(Change(change["impact"], where, message, shared))
    return changes


# Component kinds a `$ref` points into; `securitySchemes` are named, never referenced.
_REFERENCED_KINDS = frozenset(
    {
        "schemas",
        "responses",
        "parameters",
        "examples",
        "requestBodies",
        "headers",
        "links",
        "callbacks",
        "pathItems",
    }
)


def inline_refs(
    document: Mapping[str, Any], folder: Path | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of `document` with each local `$ref` replaced by a copy of what it points at.

    Returns the copy and, for every place a reference was inlined, the JSON pointer of that
    place -> the component it came from (for the change report). Keywords beside a `$ref`
    (a `description` that overrides the target's) are kept over the target's. A reference to
    a component already being inlined on the way down (a recursive schema) stays a `$ref`,
    as does one into another file (made absolute against `folder`, the document's own, so
    that the copy may be written anywhere). Components that were inlined somewhere are then
    left out of `components`: their changes are reported where they are used; components
    nothing references stay, so their changes are still seen.
    """
    origins: dict[str, str] = {}
    inlined: set[str] = set()

    def walk(node: Any, pointer: str, within: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, f"{pointer}/{index}", within) for index, item in enumerate(node)]
        if not isinstance(node, Mapping):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/") and reference not in within:
            target = _pointed(document, reference)
            if target is not None:
                origins[pointer] = reference
                inlined.add(reference)
                siblings = {key: value for key, value in node.items() if key != "$ref"}
                merged = {**target, **siblings} if isinstance(target, Mapping) else target
                return walk(merged, pointer, (*within, reference))
        if isinstance(reference, str) and folder is not None and _is_relative_file(reference):
            file, hash_, fragment = reference.partition("#")
            node = {**node, "$ref": f"{(folder / file).resolve()}{hash_}{fragment}"}
        return {
            key: walk(value, f"{pointer}/{_escape(str(key))}", within)
            for key, value in node.items()
        }

    copy: dict[str, Any] = walk(document, "#", ())
    components = copy.get("components")
    if isinstance(components, dict):
        for kind, entries in components.items():
            if kind in _REFERENCED_KINDS and isinstance(entries, dict):
                for name in list(entries):
                    if f"#/components/{kind}/{_escape(name)}" in inlined:
                        del entries[name]
    return copy, origins


def _is_relative_file(reference: str) -> bool:
    file = reference.partition("#")[0]
    return bool(file) and "://" not in file and not Path(file).is_absolute()


def _pointed(document: Mapping[str, Any], reference: str) -> Any:
    """What a local JSON pointer (`#/components/schemas/X`) points at, or None."""
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        key = _unescape(part)
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _escape(pointer_part: str) -> str:
    return pointer_part.replace("~", "~0").replace("/", "~1")


def _unescape(pointer_part: str) -> str:
    return pointer_part.replace("~1", "/").replace("~0", "~")


def _where(pointer: str, origins: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """Where a change of Redocly's lies: `#/paths/~1v1~1entitlement/post/...` as
    `POST /v1/entitlement ...`, and, for a change inside an inlined component, that
    component's part (see `Change.shared`) with the place shortened to the operation's part
    (`request body`, `response 200`)."""
    parts = [_unescape(p) for p in pointer.removeprefix("#/").split("/") if p]
    operation = len(parts) >= 3 and parts[0] in ("paths", "webhooks") and parts[2] in HTTP_METHODS
    # The innermost inlined reference the changed place lies in names the shared component.
    places = [p for p in (origins or {}) if pointer == p or pointer.startswith(f"{p}/")]
    if not places:
        if operation:
            return " ".join([_operation(parts), *parts[3:]]), None
        return "/".join(parts) or "document root", None
    place = max(places, key=len)
    inner = [_unescape(p) for p in pointer.removeprefix(place).split("/") if p]
    component = (origins or {})[place].removeprefix("#/components/")
    shared = "/".join([_unescape(component), *inner])
    if not operation:
        return "/".join(parts) or "document root", shared
    section = parts[3:5] if parts[3:4] == ["responses"] else parts[3:4]
    label = {"requestBody": "request body", "responses": "response"}
    return " ".join([_operation(parts), *(label.get(p, p) for p in section)]), shared


def _operation(parts: list[str]) -> str:
    if parts[0] == "webhooks":
        return f"webhook {parts[1]}"
    return f"{parts[2].upper()} {parts[1]}"


# -- the spec's own tables ---------------------------------------------------------------------


def reason_changes(base: Mapping[str, Any], revision: Mapping[str, Any]) -> list[Change]:
    old = {int(row["index"]): row for row in base.get("x-reasons", [])}
    new = {int(row["index"]): row for row in revision.get("x-reasons", [])}
    changes = []
    for index in sorted(old.keys() | new.keys()):
        where = f"x-reasons row {index}"
        if index not in new:
            pair = f"{old[index]['category']}/{old[index]['code']}"
            changes.append(Change("major", where, f"reason {pair} was removed"))
        elif index not in old:
            pair = f"{new[index]['category']}/{new[index]['code']}"
            changes.append(Change("minor", where, f"reason {pair} was added"))
        else:
            changes.extend(_row_changes(where, old[index], new[index], keys=("category", "code")))
    old_fallback = (base.get("x-reason-fallback") or {}).get("code")
    new_fallback = (revision.get("x-reason-fallback") or {}).get("code")
    if old_fallback != new_fallback:
        impact = "minor" if old_fallback is None else "major"
        changes.append(
            Change(
                impact,
                "x-reason-fallback",
                f"the code every category accepts went from {old_fallback} to {new_fallback}",
            )
        )
    return changes


def _row_changes(
    where: str, old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str]
) -> list[Change]:
    """Changed key fields are breaking (the row now means something else); other fields are
    wording."""
    changes = []
    keys = tuple(keys)
    for field in sorted(old.keys() | new.keys()):
        if old.get(field) == new.get(field):
            continue
        impact = "major" if field in keys else "patch"
        changes.append(
            Change(
                impact, where, f"`{field}` changed from {old.get(field)!r} to {new.get(field)!r}"
            )
        )
    return changes


def response_code_changes(base: Mapping[str, Any], revision: Mapping[str, Any]) -> list[Change]:
    def rows(document: Mapping[str, Any]) -> dict[tuple[str, int], Mapping[str, Any]]:
        return {
            (str(row["responseCode"]), int(row["httpStatus"])): row
            for row in document.get("x-response-codes", [])
        }

    old, new = rows(base), rows(revision)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        where = f"x-response-codes {key[0]} with HTTP {key[1]}"
        if key not in new:
            changes.append(Change("major", where, "row removed"))
        elif key not in old:
            changes.append(Change("minor", where, "row added"))
        else:
            # Whether a code is transient decides retries: a change there is breaking.
            changes.extend(_row_changes(where, old[key], new[key], keys=("transient", "cause")))
    return changes


def preconditions(document: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Trigger -> the statuses it is accepted from, from `x-allowed-from` or `x-status-machine`."""
    found: dict[str, set[str]] = {}

    def add(trigger: str, statuses: Iterable[Any]) -> None:
        found.setdefault(trigger, set()).update(map(str, statuses))

    for path_item in (document.get("paths") or {}).values():
        for method, operation in path_item.items():
            if method in HTTP_METHODS and "x-allowed-from" in operation:
                add(str(operation["operationId"]), operation["x-allowed-from"])
    schemas = (document.get("components") or {}).get("schemas") or {}
    for name, schema in schemas.items():
        if "x-allowed-from" in schema:
            add(name, schema["x-allowed-from"])
        for field, node in (schema.get("properties") or {}).items():
            if isinstance(node, Mapping) and "x-allowed-from" in node:
                add(f"{name}.{field}", node["x-allowed-from"])
    # Machine rows: an operation row (an update row is named by its `request` body) that is not
    # refused states where the trigger is accepted. Operations that create an entitlement have
    # no precondition, and event rows are the platform's own.
    rows = [row for row in document.get("x-status-machine") or [] if row.get("operation")]
    creating = {str(row["operation"]) for row in rows if not _as_list(row.get("from"))}
    for row in rows:
        if str(row["operation"]) in creating or int(row.get("httpStatus") or 0) >= 400:
            continue
        add(str(row.get("request") or row["operation"]), _as_list(row.get("from")))
    return {trigger: frozenset(statuses) for trigger, statuses in found.items()}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple | set | frozenset) else [value]


def precondition_changes(base: Mapping[str, Any], revision: Mapping[str, Any]) -> list[Change]:
    old, new = preconditions(base), preconditions(revision)
    changes = []
    for trigger in sorted(old.keys() | new.keys()):
        where = f"status preconditions of {trigger}"
        before, after = old.get(trigger, frozenset()), new.get(trigger, frozenset())
        if lost := before - after:
            changes.append(
                Change("major", where, f"no longer accepted from {', '.join(sorted(lost))}")
            )
        if gained := after - before:
            changes.append(Change("minor", where, f"now accepted from {', '.join(sorted(gained))}"))
    return changes


def machine_changes(base: Mapping[str, Any], revision: Mapping[str, Any]) -> list[Change]:
    """Rows of `x-status-machine` compared by `id`, when both versions carry the machine."""
    if "x-status-machine" not in base or "x-status-machine" not in revision:
        return []
    old = {str(row["id"]): row for row in base["x-status-machine"]}
    new = {str(row["id"]): row for row in revision["x-status-machine"]}
    changes = []
    for row_id in sorted(old.keys() | new.keys()):
        where = f"x-status-machine row {row_id}"
        if row_id not in new:
            changes.append(Change("major", where, "transition removed"))
            continue
        if row_id not in old:
            changes.append(Change("minor", where, "transition added"))
            continue
        before, after = old[row_id], new[row_id]
        lost = {str(s) for s in _as_list(before.get("from"))} - {
            str(s) for s in _as_list(after.get("from"))
        }
        gained = {str(s) for s in _as_list(after.get("from"))} - {
            str(s) for s in _as_list(before.get("from"))
        }
        if lost:
            changes.append(Change("major", where, f"no longer from {', '.join(sorted(lost))}"))
        if gained:
            changes.append(Change("minor", where, f"now also from {', '.join(sorted(gained))}"))
        for field in sorted((before.keys() | after.keys()) - {"id", "from"}):
            if before.get(field) == after.get(field):
                continue
            impact = "patch" if field in ("description", "modelled", "note", "notes") else "major"
            if field == "notifications":
                removed = set(map(str, _as_list(before.get(field)))) - set(
                    map(str, _as_list(after.get(field)))
                )
                impact = "major" if removed else "minor"
            changes.append(
                Change(
                    impact,
                    where,
                    f"`{field}` changed from {before.get(field)!r} to {after.get(field)!r}",
                )
            )
    return changes


def table_changes(base: Mapping[str, Any], revision: Mapping[str, Any]) -> list[Change]:
    changes = reason_changes(base, revision) + response_code_changes(base, revision)
    # Row by row, and as what a partner relies on: where each operation is accepted (a row can
    # narrow without narrowing the operation, when another row covers the status).
    return changes + machine_changes(base, revision) + precondition_changes(base, revision)


# -- the verdict ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    base_version: str
    revision_version: str
    changes: tuple[Change, ...]
    problems: tuple[str, ...]

    @property
    def needed(self) -> str:
        return max((c.impact for c in self.changes), key=IMPACTS.index, default="none")

    @property
    def passed(self) -> bool:
        return not self.problems


def bump_of(base: str, revision: str) -> str:
    old, new = _version(base), _version(revision)
    if new <= old:
        return "none"
    if new[0] > old[0]:
        return "major"
    return "minor" if new[1] > old[1] else "patch"


def changelog_has(version: str, changelog: Path = CHANGELOG) -> bool:
    text = changelog.read_text("utf-8") if changelog.exists() else ""
    return re.search(rf"^## {re.escape(version)}\b", text, re.M) is not None


def judge(base: Path, revision: Path, changelog: Path = CHANGELOG) -> Verdict:
    old, new = load(base), load(revision)
    changes = redocly_changes(base, revision) + table_changes(old, new)
    base_version, revision_version = str(old["info"]["version"]), str(new["info"]["version"])
    verdict = Verdict(base_version, revision_version, tuple(changes), ())
    problems = []
    if _version(revision_version) < _version(base_version):
        problems.append(
            f"info.version {revision_version} is lower than the released {base_version}"
        )
    bump = bump_of(base_version, revision_version)
    needed = verdict.needed
    if needed == "major" and bump != "major":
        problems.append(
            f"breaking changes need a major version: {base_version} -> {revision_version} is "
            f"{'no bump' if bump == 'none' else 'a ' + bump + ' bump'}"
        )
    elif needed == "minor" and bump == "patch":
        problems.append(f"additions need at least a minor version, not {revision_version}")
    if bump != "none" and not changelog_has(revision_version, changelog):
        problems.append(f"{changelog.name} has no `## {revision_version}` entry")
    return Verdict(base_version, revision_version, tuple(changes), tuple(problems))


def report(verdict: Verdict) -> str:
    lines = [
        f"# Partner spec changes: {verdict.base_version} -> {verdict.revision_version}",
        "",
    ]
    if not verdict.changes:
        lines.append("No change to the contract.")
    for impact in ("major", "minor", "patch"):
        group = [c for c in verdict.changes if c.impact == impact]
        if not group:
            continue
        entries = _report_entries(group)
        lines += [f"## {LABELS[impact]}: {len(entries)}", ""]
        lines += entries
        lines.append("")
    lines.append(f"Version bump needed: {verdict.needed}.")
    if verdict.needed != "none" and bump_of(verdict.base_version, verdict.revision_version) == (
        "none"
    ):
        lines.append(
            "Unreleased: bump info.version, add its CHANGELOG entry and run `make spec-release`."
        )
    if verdict.problems:
        lines += ["", "GATE FAILED:"] + [f"- {p}" for p in verdict.problems]
    return "\n".join(lines).rstrip() + "\n"


def _report_entries(changes: Iterable[Change]) -> list[str]:
    """One entry per change; a change to a shared component once, with every place it
    reaches (operations in order, each with the parts of it that use the component)."""
    entries: list[str | tuple[str, str]] = []
    reached: dict[tuple[str, str], dict[str, list[str]]] = {}
    for change in changes:
        if change.shared is None:
            entries.append(f"- {change.where}: {change.message}")
            continue
        key = (change.shared, change.message)
        if key not in reached:
            reached[key] = {}
            entries.append(key)
        operation, _, part = change.where.partition(" ")
        if operation in {m.upper() for m in HTTP_METHODS} | {"webhook"}:
            name, _, part = part.partition(" ")
            operation = f"{operation} {name}"
        reached[key].setdefault(operation, []).append(part)
    return [
        entry if isinstance(entry, str) else _shared_entry(*entry, reached[entry])
        for entry in entries
    ]


def _shared_entry(shared: str, message: str, places: Mapping[str, list[str]]) -> str:
    at = "; ".join(
        f"{operation} ({_parts(parts)})" if any(parts) else operation
        for operation, parts in places.items()
    )
    return f"- {shared}: {message}\n  at {at}"


def _parts(parts: Iterable[str]) -> str:
    """`request body, response 200, response 201` as `request body, responses 200, 201`."""
    parts = list(dict.fromkeys(parts))
    named = [p for p in parts if p and not p.startswith("response ")]
    codes = [p.removeprefix("response ") for p in parts if p.startswith("response ")]
    if codes:
        named.append(f"{'responses' if len(codes) > 1 else 'response'} {', '.join(codes)}")
    return ", ".join(named)


# -- release -------------------------------------------------------------------------------


def release(spec: Path = SPEC, directory: Path = RELEASED, changelog: Path = CHANGELOG) -> Path:
    version = str(load(spec)["info"]["version"])
    _version(version)
    if not changelog_has(version, changelog):
        raise SystemExit(f"{changelog.name} has no `## {version}` entry; write it first")
    newer = [
        p
        for p in directory.glob("*.openapi.yaml")
        if _version(p.name.removesuffix(".openapi.yaml")) > _version(version)
    ]
    if newer:
        raise SystemExit(f"{newer[0].name} is newer than {version}; bump info.version first")
    target = directory / f"{version}.openapi.yaml"
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="compare the spec with the last release")
    check.add_argument(
        "--base",
        help="the spec to compare with: a file, or a version in spec/released"
        " (default: the latest release)",
    )
    check.add_argument("--revision", type=Path, default=SPEC)
    check.add_argument("--changelog", type=Path, default=CHANGELOG)
    check.add_argument("--output", type=Path, help="also write the report to this file")
    commands.add_parser("release", help="cut spec/released/<info.version>.openapi.yaml")
    args = parser.parse_args(argv)
    if args.command == "release":
        target = release()
        print(f"released {target.relative_to(ROOT)}")
        return 0
    try:
        base = baseline(args.base)
    except BaselineError as error:
        print(error, file=sys.stderr)
        return 2
    verdict = judge(base, args.revision, args.changelog)
    text = report(verdict)
    print(text, end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, "utf-8")
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
