"""`bango-resale-contract`: one command line whose `--help` lists every command, whose every
option says what it does, and whose usage errors are one line naming the flag, exit status 2,
before anything runs."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bango_resale_contract import cli
from bango_resale_contract.certification.__main__ import main as certification_main
from bango_resale_spec.distribution import install_command

COMMANDS = ("run", "certify", "proxy", "audit", "receiver")
# An entry of a help section, indented two spaces (four for the commands under COMMAND): its
# invocation (words one space apart), then its help, if any, two spaces or more further on or
# on the lines below, which argparse indents to the help column (further than any entry).
ENTRY = re.compile(r"^ {2,4}(?P<invocation>[^ ]\S*(?: \S+)*?)(?: {2,}(?P<help>\S.*))?$")


@pytest.fixture(autouse=True)
def _wide_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # argparse wraps help at the terminal's width


def help_of(*arguments: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main([*arguments, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def entries(help_text: str) -> Iterator[tuple[str, str, str]]:
    """(section, invocation, help) for each entry of each section of a `--help` output."""
    section = ""
    lines = help_text.splitlines()
    for number, line in enumerate(lines):
        if line and not line.startswith(" ") and line.endswith(":"):
            section = line[:-1]
            continue
        found = ENTRY.match(line) if section else None
        if found is None:
            continue
        text = found["help"] or ""
        for below in lines[number + 1 :]:
            if not below.startswith(" " * 5):
                break
            text += " " + below.strip()
        yield section, found["invocation"], text.strip()


def options_without_help(help_text: str) -> list[str]:
    return [invocation for _, invocation, text in entries(help_text) if not text]


def test_help_lists_every_command_with_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    top = help_of(capsys=capsys)
    listed = {
        invocation: text for section, invocation, text in entries(top) if section == "commands"
    }
    assert [name for name in listed if name != "COMMAND"] == list(COMMANDS)
    for name in COMMANDS:
        assert listed[name], f"`bango-resale-contract --help` says nothing of {name}"
    assert "bango-resale-contract --url URL` is `bango-resale-contract run --url URL" in top


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_has_help_text(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_of(command, capsys=capsys)
    assert text.startswith(f"usage: bango-resale-contract {command} ")
    found = list(entries(text))
    assert len(found) >= 3, text  # -h and at least two of the command's own
    assert options_without_help(text) == [], f"`{command} --help` leaves options unexplained"


def test_the_help_check_sees_an_option_without_help() -> None:
    text = (
        "usage: x [-h] [--a A] [--long-option-name LONG_OPTION_NAME] [--b B]\n\noptions:\n"
        "  -h, --help            show this help message and exit\n"
        "  --a A                 what a is,\n"
        "                        on two lines\n"
        "  --long-option-name LONG_OPTION_NAME\n"
        "  --b B\n"
    )
    assert options_without_help(text) == ["--long-option-name LONG_OPTION_NAME", "--b B"]


def test_no_command_or_options_first_runs_the_suite(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--max-examples", "0"]) == 2
    assert capsys.readouterr().err == (
        "bango-resale-contract run: error: --max-examples: 0 is not a positive number\n"
    )
    usage = help_of("--url", "http://x", capsys=capsys)
    assert usage.startswith("usage: bango-resale-contract run")


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (["frob"], "bango-resale-contract: error: COMMAND: invalid choice: 'frob'"),
        (["run", "--max-examples", "x"], "run: error: --max-examples: invalid int value: 'x'"),
        (["--max-time", "-1"], "run: error: --max-time: -1 is not a positive number"),
        (["--phases", "fuzing"], "run: error: --phases: unknown phases ['fuzing']"),
        (["--product", "NOSLASH", "--url", "http://x"], "run: error: --product: 'NOSLASH'"),
        (["--product", "A/B"], "run: error: --product only applies with --url"),
        (["--url", "http://x", "--fault", "extra_field"], "run: error: --fault only applies"),
        (["--notify-listen", "8099"], "run: error: --notify-listen: '8099' is not HOST:PORT"),
        (["--config", "/no/such.toml"], "run: error: --config: /no/such.toml is not a file"),
        (["run", "--frob"], "run: error: unrecognized arguments: --frob"),
        (["certify", "--url", "http://x"], "certify: error: --url needs --user and --password"),
        (["certify", "--frob"], "certify: error: unrecognized arguments: --frob"),
        (["proxy"], "proxy: error: the following arguments are required: --upstream"),
        (["proxy", "--upstream", "example.com"], "proxy: error: --upstream: 'example.com' is"),
        (["proxy", "--upstream", "http://x", "--port", "70000"], "proxy: error: --port: 70000"),
        (["proxy", "--upstream", "http://x", "--notify", "x"], "proxy: error: --notify: 'x'"),
        (
            ["proxy", "--upstream", "http://x", "--max-judged-bytes", "0"],
            "proxy: error: --max-judged-bytes: 0 is not a positive size",
        ),
        (["proxy", "--upstream", "http://x", "--config", "/no/such.toml"], "error: --config: "),
        (
            ["proxy", "--upstream", "http://x", "--host", "nowhere.invalid"],
            "proxy: error: --host: cannot listen on nowhere.invalid:8080",
        ),
        (
            ["proxy", "--upstream", "http://x", "--port", "0", "--report", "/dev/null/x"],
            "proxy: error: --report: ",
        ),
        (["audit"], "audit: error: the following arguments are required: FILE.har"),
        (["audit", "/no/such.har"], "audit: error: FILE.har: /no/such.har is not a file"),
        (["receiver"], "receiver: error: the following arguments are required: URL"),
        (["receiver", "http://r.test/", "--basic", "x"], "receiver: error: --basic: expected"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_flag(
    arguments: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("bango-resale-contract"), captured.err
    assert line in captured.err


def test_a_busy_port_is_a_usage_error_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        arguments = ["proxy", "--upstream", "http://127.0.0.1:9", "--port", str(port)]
        assert cli.main(arguments) == 2
    assert capsys.readouterr().err == (
        f"bango-resale-contract proxy: error: --port: cannot listen on 127.0.0.1:{port}"
        " (Address already in use)\n"
    )


def test_a_bad_har_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    har = tmp_path / "traffic.har"
    har.write_text('{"log": {}}')
    assert cli.main(["audit", str(har)]) == 2
    assert capsys.readouterr().err == (
        "bango-resale-contract audit: error: FILE.har: not a HAR: it has no log.entries list\n"
    )


@pytest.mark.parametrize("command", ["run", "certify", "proxy", "audit"])
def test_a_missing_extra_names_the_install_command(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "EXTRA_MODULES", ("schemathesis", "no_such_module_here"))
    arguments = {"proxy": ["--upstream", "http://x"], "audit": ["x.har"]}.get(command, [])
    assert cli.main([command, *arguments]) == 2
    error = capsys.readouterr().err
    assert error == (
        f"bango-resale-contract {command}: error: missing no_such_module_here, from the"
        f" 'contract' extra: {install_command('contract')}\n"
    )


def test_the_receiver_needs_no_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "EXTRA_MODULES", ("no_such_module_here",))
    assert cli.main(["receiver", "not-a-url", "--bearer", "t"]) == 2
    assert "URL: 'not-a-url' is not an http(s) URL" in capsys.readouterr().err


def test_the_old_certification_command_is_certify(capsys: pytest.CaptureFixture[str]) -> None:
    assert certification_main(["--url", "http://x"]) == 2
    assert capsys.readouterr().err == (
        "bango-resale-contract certify: error: --url needs --user and --password"
        " (USER= and PASSWORD= with make)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bango_resale_contract.certification", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: bango-resale-contract certify ")
    assert "--journey WORKFLOW_ID" in result.stdout
