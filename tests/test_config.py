"""Connection settings: profiles, environment, secrets kept out of reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import ConfigError, PromConfig, Prometheus, Secret

from . import promdata as pd_
from .httpstub import http_stub
from .test_prometheus import _success

PROFILES = """
[profiles.lab]
url = "{url}"
token_env = "LAB_TOKEN"
headers = {{ "X-Scope-OrgID" = "team-a" }}
timeout = 12

[profiles.files]
url = "https://prom.example:9090/"
token_file = "{tokfile}"
ca_bundle = "/etc/ssl/ca.pem"

[profiles.basic]
url = "http://127.0.0.1:9"
username = "bob"
password_env = "BOB_PW"
"""


def _write(tmp_path: Path, url: str = "http://127.0.0.1:9090") -> Path:
    tok = tmp_path / "tok"
    tok.write_text("file-token\n")
    p = tmp_path / "config.toml"
    p.write_text(PROFILES.format(url=url, tokfile=tok))
    return p


def test_profile_resolves_secrets_from_env_and_files(tmp_path: Path) -> None:
    p = _write(tmp_path)
    cfg = PromConfig.from_profile("lab", p, environ={"LAB_TOKEN": "env-token-123"})
    assert cfg.url == "http://127.0.0.1:9090" and cfg.timeout == 12
    assert cfg.token is not None and cfg.token.get() == "env-token-123"
    assert cfg.headers == {"X-Scope-OrgID": "team-a"}
    assert "env-token-123" not in repr(cfg) and "<hidden>" in repr(cfg)
    files = PromConfig.from_profile("files", p, environ={})
    assert files.url == "https://prom.example:9090" and files.ca_bundle == "/etc/ssl/ca.pem"
    assert files.token is not None and files.token.get() == "file-token"
    assert "file-token" not in repr(files.token)


def test_profile_errors_name_the_fix(tmp_path: Path) -> None:
    p = _write(tmp_path)
    with pytest.raises(ConfigError, match=r"known: basic, files, lab"):
        PromConfig.from_profile("prod", p, environ={})
    with pytest.raises(ConfigError, match=r"\$LAB_TOKEN, which is not set"):
        PromConfig.from_profile("lab", p, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        PromConfig.from_profile("lab", tmp_path / "nope.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text('[profiles.x]\nurl = "http://a"\ntoken = "tok-value-xyz"\n')
    with pytest.raises(ConfigError, match="token_env") as ei:
        PromConfig.from_profile("x", bad, environ={})
    assert "tok-value-xyz" not in str(ei.value)
    bad.write_text('[profiles.x]\nurl = "https://a"\nverify = "false"\n')
    with pytest.raises(ConfigError, match="TOML boolean"):
        PromConfig.from_profile("x", bad, environ={})
    bad.write_text('[profiles.x]\nurl = "https://a"\nverify = false\n')
    assert PromConfig.from_profile("x", bad, environ={}).verify is False
    bad.write_text('[profiles.x]\nurl = "http://a"\ntokn_env = "X"\n')
    with pytest.raises(ConfigError, match="unknown keys"):
        PromConfig.from_profile("x", bad, environ={})


def test_workbench_config_env_var_and_default_path(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    p = _write(tmp_path)
    monkeypatch.setenv("WORKBENCH_CONFIG", str(p))
    monkeypatch.setenv("BOB_PW", "pw")
    cfg = PromConfig.resolve("basic")
    assert cfg.username == "bob" and cfg.name == "basic"
    monkeypatch.delenv("WORKBENCH_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg" / "workbench").mkdir(parents=True)
    (tmp_path / "xdg" / "workbench" / "config.toml").write_text(p.read_text())
    assert PromConfig.resolve("basic").url == "http://127.0.0.1:9"


def test_from_env(tmp_path: Path) -> None:
    tok = tmp_path / "t"
    tok.write_text("tok-from-file")
    env = {"WORKBENCH_PROMETHEUS_URL": "https://m.example/prometheus/api/v1",
           "WORKBENCH_PROMETHEUS_TOKEN_FILE": str(tok),
           "WORKBENCH_PROMETHEUS_HEADERS": "X-Scope-OrgID=t1, X-Other = 2",
           "WORKBENCH_PROMETHEUS_INSECURE": "true", "WORKBENCH_PROMETHEUS_TIMEOUT": "5"}
    cfg = PromConfig.from_env(env)
    assert cfg.url == "https://m.example/prometheus"
    assert cfg.headers == {"X-Scope-OrgID": "t1", "X-Other": "2"}
    assert cfg.verify is False and cfg.timeout == 5.0
    assert cfg.token is not None and cfg.token.get() == "tok-from-file"
    with pytest.raises(ConfigError, match="WORKBENCH_PROMETHEUS_URL is not set"):
        PromConfig.from_env({})
    with pytest.raises(ConfigError, match="TIMEOUT"):
        PromConfig.from_env({"WORKBENCH_PROMETHEUS_URL": "http://a", "WORKBENCH_PROMETHEUS_TIMEOUT": "x"})


@pytest.mark.parametrize("url", ["prom:9090", "http://user:pw@host:9090", "ftp://x"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ConfigError) as ei:
        PromConfig(url=url)
    assert "pw" not in str(ei.value) or "password=" in str(ei.value)


def test_tls_verification_stays_on_unless_asked() -> None:
    assert PromConfig(url="https://a").verify is True
    import certifi

    prom = Prometheus("https://a", ca_bundle=certifi.where())
    assert prom.transport._kwargs(None)["verify"] == certifi.where()
    assert "verify" not in Prometheus("https://a").transport._kwargs(None)
    assert Prometheus("https://a", verify=False).transport._kwargs(None)["verify"] is False


def test_secret_repr_and_sensitive_headers() -> None:
    s = Secret("hunter2", source="$X")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and s.get() == "hunter2"
    cfg = PromConfig(url="http://a", headers={"Authorization": "Bearer zzz-secret", "X-T": "1"})
    assert "zzz-secret" not in repr(cfg) and "'X-T': '1'" in repr(cfg)


def test_profile_drives_a_real_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with http_stub(lambda req, n: (200, {}, _success())) as stub:
        p = _write(tmp_path, url=stub.url)
        monkeypatch.setenv("LAB_TOKEN", "tok-lab")
        prom = Prometheus("lab", config_path=p)
        assert repr(prom) == f"Prometheus(profile='lab', url='{stub.url}')"
        prom.query("up", time=pd_.BASE_S)
    h = stub.requests[0].headers
    assert h["Authorization"] == "Bearer tok-lab" and h["X-Scope-OrgID"] == "team-a"
    assert f"time={pd_.BASE_S}.000" in stub.requests[0].body.decode()
