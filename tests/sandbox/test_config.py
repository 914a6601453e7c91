"""The sandbox's configuration file is checked by one JSON Schema, shipped in the package: unknown
keys and values of the wrong kind are refused with the key's path, never ignored or guessed."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema_rs
import pytest

from bango_resale_sandbox import config_schema
from bango_resale_sandbox.config import (
    ASYNC_CAPABLE_OPERATIONS,
    ActivationMode,
    CancelMode,
    ConfigError,
    default_config_text,
    load_config,
    parse_config,
)


def refusal(text: str) -> str:
    with pytest.raises(ConfigError) as refused:
        parse_config(tomllib.loads(text))
    return str(refused.value)


def test_the_packaged_configuration_passes_its_schema() -> None:
    validator = jsonschema_rs.Draft202012Validator(dict(config_schema.schema()))
    assert [e.message for e in validator.iter_errors(tomllib.loads(default_config_text()))] == []


def test_a_misspelt_key_is_refused_by_its_path_with_the_key_meant() -> None:
    assert refusal("[server]\nmax_conections = 5\n") == (
        "[server] max_conections: unknown key; did you mean max_connections?"
    )
    assert refusal("[sever]\nmax_connections = 5\n") == (
        "[sever]: unknown table; did you mean [server]?"
    )
    nested = "[merchants.BANGO.products.BangoMusic]\nsupport_suspend = true\n"
    assert refusal(nested) == (
        "[merchants.BANGO.products.BangoMusic] support_suspend: unknown key;"
        " did you mean supports_suspend?"
    )
    assert refusal("[resellers.x]\npassword = 'p'\nnotification_auth = {kind = 'basic'}\n") == (
        "[resellers.x.notification_auth] kind: unknown key (known: type, username, password,"
        " key, token)"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            '[server]\nmax_connections = "10"\n',
            '[server] max_connections: expected an integer, got "10"',
        ),
        (
            "[server]\nmax_connections = 10.5\n",
            "[server] max_connections: expected an integer, got 10.5",
        ),
        ("[server]\nmax_connections = 0\n", "[server] max_connections: expected at least 1, got 0"),
        ("[rate_limit]\nburst = true\n", "[rate_limit] burst: expected a number, got true"),
        ('[delivery]\nallowed_hosts = "127.0.0.1"\n', "[delivery] allowed_hosts: expected a list"),
        (
            "[delivery]\nallowed_hosts = ['a', 3]\n",
            "[delivery] allowed_hosts[1]: expected a string, got 3",
        ),
        ("server = 3\n", "[server]: expected a table, got 3"),
        ("[resellers.x]\n", "[resellers.x] password: missing"),
        (
            "[resellers.x]\npassword = 'p'\nnotification_auth = {type = 'bearer'}\n",
            "[resellers.x.notification_auth] token: missing",
        ),
        (
            '[merchants."A.B".products.P]\nactivation = "magic"\n',
            '[merchants."A.B".products.P] activation: expected one of "immediate", "pending",'
            ' "client_action", got "magic"',
        ),
        (
            '[server]\nsqlite_synchronous = "SOMETIMES"\n',
            '[server] sqlite_synchronous: expected one of "OFF", "NORMAL", "FULL", "EXTRA",'
            ' got "SOMETIMES"',
        ),
        (
            "[merchants.M]\nproduct = {}\n",
            "[merchants.M] product: unknown table; did you mean products?",
        ),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_by_its_path(text: str, says: str) -> None:
    assert refusal(text).startswith(says)


@pytest.mark.parametrize("written", ['"false"', '"true"', '"no"', "0", "1"])
def test_a_boolean_is_true_or_false_never_a_string_or_a_number(written: str) -> None:
    text = f"[merchants.BANGO.products.BangoMusic]\nsupports_suspend = {written}\n"
    assert refusal(text).startswith(
        "[merchants.BANGO.products.BangoMusic] supports_suspend: expected true or false"
    )
    if written in {'"false"', '"true"'}:
        assert "(without quotes)" in refusal(text)


def test_false_reads_as_false() -> None:
    text = "[merchants.M.products.P]\nsupports_suspend = false\nsupports_reactivate = false\n"
    product = parse_config(tomllib.loads(text)).product("M", "P")
    assert product is not None
    assert (product.supports_suspend, product.supports_reactivate) == (False, False)


def test_what_a_file_leaves_out_keeps_its_default() -> None:
    empty = parse_config({})
    packaged = load_config()
    assert empty.limits == packaged.limits
    assert empty.rate_limit.requests_per_second == packaged.rate_limit.requests_per_second
    assert empty.failed_logins_per_user == packaged.failed_logins_per_user
    assert empty.delivery == packaged.delivery
    assert empty.max_body_bytes == packaged.max_body_bytes


def test_the_schema_and_the_code_name_the_same_choices() -> None:
    assert set(config_schema.enum("product", "activation")) == {m.value for m in ActivationMode}
    assert set(config_schema.enum("product", "cancel")) == {m.value for m in CancelMode}
    assert {"cancel", "revoke", "suspend", "resume", "update", "reactivate"} == (
        ASYNC_CAPABLE_OPERATIONS
    )


def test_the_command_line_names_the_file_and_the_key_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "my-sandbox.toml"
    config.write_text(default_config_text().replace("max_connections =", "max_conections ="))
    result = subprocess.run(
        [sys.executable, "-m", "bango_resale_sandbox", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {config}: [server] max_conections: unknown key; did you mean max_connections?"
    ]
