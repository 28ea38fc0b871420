"""The kit is a pytest plugin any project gets by installing the package: registered through the
`pytest11` entry point, so a project with no conftest of ours sees its fixtures."""

from __future__ import annotations

import re
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

KIT_FIXTURES = (
    "bff_stack",
    "bff_stacks",
    "short_timeouts_stack",
    "make_user",
    "signed_in_context",
    "api_token",
    "bff_sign_ins",
    "bff_prepare_context",
)


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    (kit,) = [e for e in entry_points(group="pytest11") if e.name == "bff"]
    assert kit.value == "bff.testing.plugin"


def test_a_project_without_our_conftest_gets_every_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    listed = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    text = listed.stdout.str()
    for name in KIT_FIXTURES:  # each listed as the plugin's
        assert re.search(rf"^{name}( \[[a-z ]+\])? -- .*bff/testing/plugin\.py:", text, re.M), name
    assert "--bff-store" in pytester.runpytest_subprocess("--help").stdout.str()


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    listed = pytester.runpytest_subprocess("--fixtures", "-p", "no:bff")
    assert "make_user" not in listed.stdout.str()
