"""Settings: round trips, every bad-value message exactly, broken files, profiles, and safe writes."""

from __future__ import annotations

import dataclasses
import os
import textwrap
from pathlib import Path

import pytest

from batchboard.core import config, paths
from batchboard.core.config import (
    ConfigError,
    ConfigProblem,
    Profile,
    Settings,
    UnknownProfileError,
    effective_settings_table,
    load_settings,
    set_setting,
    unset_setting,
)

FULL = """\
poll_interval = 2.5
theme = "nord"
default_model = "claude-haiku-5-5"
expiry_warning_hours = 6
expiry_critical_hours = 2
default_profile = "work"

[keymap]
cancel = "x"
refresh = "r,f5"

[profiles.work]
api_key_env = "WORK_ANTHROPIC_KEY"

[profiles.staging]
api_key_env = "STAGING_KEY"
base_url = "https://staging.example.com"

[prices.claude-haiku-5-5]
input = 1
output = 5.5
"""


def write(text: str) -> Path:
    file = paths.config_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(textwrap.dedent(text), encoding="utf-8")
    return file


def only_problem(text: str) -> tuple[Settings, str]:
    file = write(text)
    settings, problems = load_settings()
    assert len(problems) == 1, problems
    assert problems[0].file == file
    return settings, str(problems[0]).removeprefix(f"{file}: ")


# ------------------------------------------------------------------------------------------ reading


def test_missing_file_gives_defaults_and_no_problems() -> None:
    assert load_settings() == (Settings(), [])
    assert not paths.config_dir().exists()


def test_full_file_round_trip() -> None:
    write(FULL)
    settings, problems = load_settings()
    assert problems == []
    assert settings == Settings(
        poll_interval=2.5,
        theme="nord",
        keymap={"cancel": "x", "refresh": "r,f5"},
        default_model="claude-haiku-5-5",
        expiry_warning_hours=6.0,
        expiry_critical_hours=2.0,
        profiles={
            "work": Profile("work", "WORK_ANTHROPIC_KEY"),
            "staging": Profile("staging", "STAGING_KEY", "https://staging.example.com"),
        },
        default_profile="work",
        prices={"claude-haiku-5-5": {"input": 1.0, "output": 5.5}},
    )
    assert isinstance(settings.expiry_warning_hours, float)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().poll_interval = 1.0  # type: ignore[misc]


def test_problem_str_names_file_and_key(tmp_path: Path) -> None:
    problem = ConfigProblem(tmp_path / "config.toml", "poll_interval", 'expected x, got "fast"')
    assert str(problem) == f'{tmp_path}/config.toml: poll_interval: expected x, got "fast"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('poll_interval = "fast"', 'poll_interval: expected a number of seconds ≥ 1, got "fast"'),
        ("poll_interval = 0.5", "poll_interval: expected a number of seconds ≥ 1, got 0.5"),
        ("poll_interval = true", "poll_interval: expected a number of seconds ≥ 1, got true"),
        ("poll_interval = nan", "poll_interval: expected a number of seconds ≥ 1, got nan"),
        ("poll_interval = [1]", "poll_interval: expected a number of seconds ≥ 1, got an array"),
        ("expiry_warning_hours = -1", "expiry_warning_hours: expected a number of hours ≥ 0, got -1"),
        ("expiry_critical_hours = {}", "expiry_critical_hours: expected a number of hours ≥ 0, got a table"),
        (
            "fetch_results_days = -1",
            "fetch_results_days: expected a whole number of days ≥ 0 (0: off), got -1",
        ),
        (
            "fetch_results_days = 2.5",
            "fetch_results_days: expected a whole number of days ≥ 0 (0: off), got 2.5",
        ),
        (
            'fetch_results_days = "week"',
            'fetch_results_days: expected a whole number of days ≥ 0 (0: off), got "week"',
        ),
        ("theme = 5", "theme: expected a theme name (text), got 5"),
        ('theme = "  "', 'theme: expected a theme name (text), got "  "'),
        ("default_model = 1979-05-27", "default_model: expected a model name (text), got a date"),
        ("keymap = 3", 'keymap: expected a table of binding id = "keys", got 3'),
        (
            "[keymap]\ncancel = 1",
            'keymap.cancel: expected keys as text (for example "x" or "ctrl+x,f5"), got 1',
        ),
        ('profiles = "work"', 'profiles: expected a table of [profiles.NAME] tables, got "work"'),
        (
            "[profiles]\nwork = 1",
            "profiles.work: expected a table with api_key_env and base_url, got 1",
        ),
        (
            '[profiles.work]\napi_key_env = "MY KEY"',
            'profiles.work.api_key_env: expected an environment variable name, got "MY KEY"; '
            'profile "work" is ignored',
        ),
        (
            '[profiles.work]\nbase_url = "localhost:4010"',
            'profiles.work.base_url: expected a URL starting with http:// or https://, got "localhost:4010"',
        ),
        (
            '[profiles.work]\napi_key = "X"',
            'profiles.work.api_key: unknown profile setting "api_key"; did you mean "api_key_env"?',
        ),
        ("prices = 1", "prices: expected a table of [prices.MODEL] tables, got 1"),
        (
            '[prices.claude-haiku-5-5]\ninput = "cheap"',
            'prices.claude-haiku-5-5.input: expected a price in USD per million tokens ≥ 0, got "cheap"',
        ),
        (
            "[prices.claude-haiku-5-5]\noutput = -0.5",
            "prices.claude-haiku-5-5.output: expected a price in USD per million tokens ≥ 0, got -0.5",
        ),
        (
            "[prices.claude-haiku-5-5]\ncache_write = 1",
            'prices.claude-haiku-5-5.cache_write: unknown price "cache_write"; '
            'did you mean "cache_write_5m"?',
        ),
        (
            "expiry_critical_hours = 5",
            "expiry_critical_hours: expected at most expiry_warning_hours (4), got 5",
        ),
        (
            'default_profile = "wrok"\n[profiles.work]\napi_key_env = "W"',
            'default_profile: expected the name of a profile under [profiles] (work), got "wrok"; '
            'did you mean "work"?',
        ),
    ],
)
def test_each_bad_value_names_key_expected_and_got(text: str, message: str) -> None:
    settings, problem = only_problem(text)
    assert problem == message
    top_key = message.split(":")[0].split(".")[0]
    if top_key in (
        "poll_interval",
        "theme",
        "default_model",
        "expiry_warning_hours",
        "expiry_critical_hours",
        "fetch_results_days",
    ):
        assert getattr(settings, top_key) == getattr(Settings(), top_key)  # fell back to the default
    assert settings.profile(None).api_key_env in ("ANTHROPIC_API_KEY", "W")


def test_good_keys_survive_next_to_bad_ones() -> None:
    write('poll_interval = "fast"\ntheme = "nord"\n[prices.m]\ninput = 2\noutput = "x"\n')
    settings, problems = load_settings()
    assert [p.key for p in problems] == ["poll_interval", "prices.m.output"]
    assert settings.poll_interval == 5.0
    assert settings.theme == "nord"
    assert settings.prices == {"m": {"input": 2.0}}
    assert "theme" in settings.from_file and "poll_interval" not in settings.from_file


def test_critical_never_outranks_a_small_warning_threshold() -> None:
    settings, problem = only_problem("expiry_warning_hours = 0.5\nexpiry_critical_hours = 2")
    assert problem == "expiry_critical_hours: expected at most expiry_warning_hours (0.5), got 2"
    assert (settings.expiry_warning_hours, settings.expiry_critical_hours) == (0.5, 0.5)


def test_unknown_key_suggests_the_nearest() -> None:
    _, problem = only_problem("pol_interval = 3")
    assert problem == 'pol_interval: unknown setting "pol_interval"; did you mean "poll_interval"?'


def test_unknown_key_without_a_near_one_lists_the_settings() -> None:
    _, problem = only_problem("colour = 3")
    assert problem == (
        'colour: unknown setting "colour"; known settings: poll_interval, expiry_warning_hours, '
        "expiry_critical_hours, fetch_results_days, theme, default_model, default_profile, keymap, profiles, "
        "prices"
    )


def test_broken_toml_names_line_and_column() -> None:
    file = write('theme = "nord"\npoll_interval = = 3\n')
    settings, problems = load_settings()
    assert settings == Settings()
    assert [str(p) for p in problems] == [
        f"{file}: invalid TOML at line 2, column 17: Invalid value; using defaults"
    ]


def test_not_utf8() -> None:
    file = paths.config_file()
    file.parent.mkdir(parents=True)
    file.write_bytes(b'theme = "\xff"\n')
    settings, problems = load_settings()
    assert settings == Settings()
    assert [str(p) for p in problems] == [f"{file}: not UTF-8 text (byte 9); using defaults"]


def test_unreadable_file() -> None:
    paths.config_file().mkdir(parents=True)  # a directory where the file should be
    settings, problems = load_settings()
    assert settings == Settings()
    assert len(problems) == 1 and "cannot read the file" in problems[0].message


def test_api_key_in_the_file_is_reported_but_never_echoed() -> None:
    write('[profiles.work]\napi_key_env = "sk-ant-api03-SECRET"\n')
    settings, problems = load_settings()
    assert "SECRET" not in str(problems) and "sk-ant" not in str(problems)
    assert "got an API key (not shown)" in problems[0].message
    # The profile is dropped rather than silently reading ANTHROPIC_API_KEY for another account.
    assert settings.profiles == {}
    with pytest.raises(UnknownProfileError):
        settings.profile("work")


# ----------------------------------------------------------------------------------------- profiles


def test_profile_resolution() -> None:
    write(FULL)
    settings, _ = load_settings()
    assert settings.profile("staging") == Profile("staging", "STAGING_KEY", "https://staging.example.com")
    assert settings.profile(None) == Profile("work", "WORK_ANTHROPIC_KEY")  # default_profile
    assert settings.profile("default") == Profile("default", "ANTHROPIC_API_KEY")


def test_implicit_default_profile() -> None:
    assert Settings().profile(None) == Profile("default", "ANTHROPIC_API_KEY", None)
    write('default_profile = "default"\n')
    settings, problems = load_settings()
    assert problems == [] and settings.default_profile == "default"
    assert settings.profile(None) == Profile("default", "ANTHROPIC_API_KEY", None)


def test_unknown_profile_is_a_clear_error() -> None:
    write(FULL)
    settings, _ = load_settings()
    with pytest.raises(UnknownProfileError) as info:
        settings.profile("wrok")
    assert str(info.value) == 'unknown profile "wrok" (configured: staging, work); did you mean "work"?'
    with pytest.raises(UnknownProfileError, match=r"no profiles are configured \(add \[profiles.work\]"):
        Settings().profile("work")


# ------------------------------------------------------------------------------------------ writing


def test_set_creates_the_file_and_round_trips() -> None:
    settings = set_setting("poll_interval", "3")
    assert settings.poll_interval == 3.0
    assert load_settings() == (settings, [])
    assert paths.config_file().read_text() == "poll_interval = 3\n"


def test_set_nested_keys_and_preserve_the_rest() -> None:
    write(FULL)
    set_setting("keymap.cancel", "ctrl+x")
    set_setting("profiles.home.api_key_env", "HOME_KEY")
    set_setting("prices.claude-3.5-odd.cache_read", "0.03")  # a model id with a dot in it
    settings, problems = load_settings()
    assert problems == []
    assert settings.keymap == {"cancel": "ctrl+x", "refresh": "r,f5"}
    assert settings.profiles["home"] == Profile("home", "HOME_KEY")
    assert settings.profiles["staging"].base_url == "https://staging.example.com"
    assert settings.prices["claude-3.5-odd"] == {"cache_read": 0.03}
    assert settings.prices["claude-haiku-5-5"] == {"input": 1.0, "output": 5.5}
    assert (settings.theme, settings.default_profile, settings.poll_interval) == ("nord", "work", 2.5)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("poll_interval", "fast", 'poll_interval: expected a number of seconds ≥ 1, got "fast"'),
        ("poll_interval", "0", "poll_interval: expected a number of seconds ≥ 1, got 0"),
        ("poll_interval", "inf", "poll_interval: expected a number of seconds ≥ 1, got inf"),
        ("pol_interval", "3", 'pol_interval: unknown setting "pol_interval"; did you mean "poll_interval"?'),
        ("theme.dark", "x", "theme.dark: theme is a single value, not a table; use 'theme'"),
        ("keymap", "x", "keymap: keymap is a table; set one binding, for example keymap.dashboard.cancel"),
        (
            "profiles.work",
            "X",
            "profiles.work: profiles is a table of tables; set one value, "
            "for example profiles.NAME.api_key_env",
        ),
        (
            "prices.claude-haiku-5-5.input",
            "-1",
            "prices.claude-haiku-5-5.input: expected a price in USD per million tokens ≥ 0, got -1",
        ),
        (
            "profiles.work.api_key_env",
            "my key",
            'profiles.work.api_key_env: expected an environment variable name, got "my key"; '
            'profile "work" is ignored; default_profile: expected the name of a profile under [profiles] '
            '(staging), got "work"',
        ),
        (
            "default_profile",
            "nope",
            'default_profile: expected the name of a profile under [profiles] (staging, work), got "nope"',
        ),
        (
            "expiry_critical_hours",
            "9",
            "expiry_critical_hours: expected at most expiry_warning_hours (6), got 9",
        ),
        (
            "expiry_warning_hours",
            "1",
            "expiry_critical_hours: expected at most expiry_warning_hours (1), got 2",
        ),
    ],
)
def test_bad_set_raises_and_writes_nothing(key: str, value: str, message: str) -> None:
    file = write(FULL)
    with pytest.raises(ConfigError) as info:
        set_setting(key, value)
    assert str(info.value) == message
    assert file.read_text() == FULL
    assert os.listdir(file.parent) == ["config.toml"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("profiles.work.api_key_env", "sk-ant-api03-abcdef"),
        ("theme", "  sk-ant-api03-abcdef"),
        ("profiles.sk-ant-api03-abcdef.api_key_env", "KEY"),
        ("sk-ant-api03-abcdef", "x"),
    ],
)
def test_set_refuses_to_store_an_api_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match="looks like an API key") as info:
        set_setting(key, value)
    assert "abcdef" not in str(info.value)
    assert not paths.config_file().exists()


def test_unset_never_echoes_a_key_typed_as_a_setting_name() -> None:
    with pytest.raises(ConfigError, match=r"looks like an API key \(not shown\)") as info:
        unset_setting("sk-ant-api03-abcdef")
    assert "abcdef" not in str(info.value)


def test_set_refuses_to_overwrite_a_broken_file() -> None:
    file = write("poll_interval = = 3\n")
    with pytest.raises(ConfigError, match=r"invalid TOML at line 1, column 17.*fix or remove the file"):
        set_setting("theme", "nord")
    assert file.read_text() == "poll_interval = = 3\n"


def test_old_problems_elsewhere_do_not_block_a_fix() -> None:
    write('poll_interval = "fast"\ntheme = 5\n')
    settings = set_setting("theme", "nord")
    assert settings.theme == "nord"
    settings = set_setting("poll_interval", "4")
    assert load_settings() == (settings, [])


def test_write_is_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    file = write(FULL)

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        set_setting("theme", "nord")
    assert file.read_text() == FULL
    assert os.listdir(file.parent) == ["config.toml"]  # the temp file was cleaned up


def test_write_makes_the_file_private() -> None:
    file = write(FULL)
    file.chmod(0o644)
    set_setting("theme", "nord")
    assert file.stat().st_mode & 0o777 == 0o600
    file.unlink()
    set_setting("theme", "nord")
    assert file.stat().st_mode & 0o777 == 0o600


def test_unset_returns_to_default_and_prunes_empty_tables() -> None:
    write(FULL)
    unset_setting("default_profile")
    unset_setting("profiles.work.api_key_env")
    unset_setting("profiles.nothing.base_url")  # absent: not an error
    settings, problems = load_settings()
    assert problems == []
    assert settings.default_profile is None
    assert "work" not in settings.profiles
    assert "[profiles.work]" not in paths.config_file().read_text()


def test_unset_refuses_to_break_a_reference() -> None:
    file = write(FULL)
    with pytest.raises(ConfigError, match=r"default_profile: expected the name of a profile"):
        unset_setting("profiles.work.api_key_env")
    assert file.read_text() == FULL


def test_dotted_binding_ids_quoted_or_not() -> None:
    write('[keymap]\ndashboard.cancel = "x"\n"app.quit" = "ctrl+q"\n')
    settings, problems = load_settings()
    assert problems == []
    assert settings.keymap == {"dashboard.cancel": "x", "app.quit": "ctrl+q"}
    set_setting("keymap.dashboard.cancel", "k")
    unset_setting("keymap.app.quit")
    assert load_settings() == (Settings(keymap={"dashboard.cancel": "k"}), [])
    assert '"dashboard.cancel" = "k"' in paths.config_file().read_text()


# -------------------------------------------------------------------------------------------- table


def test_effective_settings_table_sources() -> None:
    rows = effective_settings_table(Settings())
    assert ("poll_interval", "5", "default") in rows
    assert ("profiles", "(none: the key comes from ANTHROPIC_API_KEY)", "default") in rows
    write(FULL)
    rows = effective_settings_table(load_settings()[0])
    assert rows[:6] == [
        ("poll_interval", "2.5", "file"),
        ("theme", "nord", "file"),
        ("default_model", "claude-haiku-5-5", "file"),
        ("expiry_warning_hours", "6", "file"),
        ("expiry_critical_hours", "2", "file"),
        ("default_profile", "work", "file"),
    ]
    assert ("keymap.refresh", "r,f5", "file") in rows
    assert ("profiles.work.base_url", "(SDK default)", "default") in rows
    assert ("prices.claude-haiku-5-5.output", "5.5", "file") in rows


def test_readme_example_is_valid() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration and local state", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    settings, problems = load_settings(write(example))
    assert problems == []
    assert settings.profile(None).api_key_env == "WORK_ANTHROPIC_API_KEY"
    assert settings.keymap == {"dashboard.cancel": "x", "app.quit": "q,ctrl+q"}


def test_a_key_anywhere_is_refused_and_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    write(
        """
        [profiles.leaky]
        api_key_env = "LEAKY_KEY"
        base_url = "https://proxy.example.com/sk-ant-api03-SECRET7"

        [prices."sk-ant-api03-SECRET4"]
        input = "sk-ant-api03-SECRET5"

        [profiles."sk-ant-api03-SECRET6"]
        base_url = "https://example.com"
        """
    )
    settings, problems = load_settings()
    said = "\n".join(str(p) for p in problems)
    assert "SECRET" not in said and "sk-ant-" not in said
    assert "profiles.leaky.base_url" in said  # a key inside a URL is still a key: refused
    assert all(p.base_url is None or "sk-ant-" not in p.base_url for p in settings.profiles.values())
    with pytest.raises(config.ConfigError) as refused:
        config.set_setting("profiles.x.base_url", "https://h.example.com/?k=sk-ant-api03-SECRET8")
    assert "SECRET" not in str(refused.value)


def test_fetch_results_days_is_a_whole_number_and_zero_turns_it_off() -> None:
    assert Settings().fetch_results_days == 7
    write("fetch_results_days = 0\n")
    settings, problems = load_settings()
    assert problems == [] and settings.fetch_results_days == 0 and "fetch_results_days" in settings.from_file
    write("fetch_results_days = 14.0\n")  # a float that is a whole number is fine
    settings, problems = load_settings()
    assert problems == [] and settings.fetch_results_days == 14
    assert isinstance(settings.fetch_results_days, int)
    assert set_setting("fetch_results_days", "3").fetch_results_days == 3
    with pytest.raises(ConfigError, match="fetch_results_days: expected a whole number of days ≥ 0"):
        set_setting("fetch_results_days", "1.5")
    assert load_settings()[0].fetch_results_days == 3  # nothing written
