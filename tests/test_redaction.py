"""Credentials never reach our exceptions, warnings or logs, whatever the server echoes.

The stub is a real HTTP server on 127.0.0.1 that echoes the ``Authorization`` header it got
(as a vmauth or a misconfigured proxy does) in a 401 body, an error JSON, a warning, or a
200 page that is not JSON."""

from __future__ import annotations

import base64
import logging
import traceback
import warnings

import orjson
import pytest

from workbench import ConfigError, Prometheus, WorkbenchError

from .httpstub import Seen, http_stub

TOKEN = "tok-3cr3t-ABCDEFGHIJ-0123456789"
USER, PASSWORD = "alice", "pw-s3cr3t-Zz9!\"\\ü"
API_KEY = "key-0123456789-SECRET"


def _echo(kind: str):  # type: ignore[no-untyped-def]
    def handler(req: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
        auth = req.headers.get("Authorization", "")
        key = req.headers.get("X-Api-Key", "")
        raw = auth.split(" ", 1)[-1]
        decoded = base64.b64decode(raw).decode() if auth.startswith("Basic") else raw
        echo = f"got {auth!s} ({decoded}) key={key}"
        if kind == "401":
            return 401, {}, f"Unauthorized: {echo}".encode()
        if kind == "error-json":
            return 422, {}, orjson.dumps({"status": "error", "errorType": "bad_data",
                                          "error": echo})
        if kind == "warning":
            return 200, {}, orjson.dumps({"status": "success", "warnings": [echo], "data": {
                "resultType": "vector", "result": []}})
        if kind == "escaped-json":  # the echo JSON-escaped inside a non-Prometheus JSON body
            return 403, {}, orjson.dumps({"message": echo})
        return 200, {}, f"<html>{echo}</html>".encode()  # not JSON: the decode error previews it
    return handler


SECRETS = [TOKEN, PASSWORD, API_KEY, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
           orjson.dumps(PASSWORD).decode()[1:-1]]


@pytest.mark.parametrize("kind", ["401", "error-json", "warning", "escaped-json", "html"])
@pytest.mark.parametrize("auth", ["token", "basic"])
def test_echoed_credentials_are_hidden_everywhere(kind: str, auth: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    creds = {"token": TOKEN} if auth == "token" else {"username": USER, "password": PASSWORD}
    texts: list[str] = []
    with http_stub(_echo(kind)) as stub, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        prom = Prometheus(stub.url, headers={"X-Api-Key": API_KEY}, max_retries=0, **creds)
        for call in (lambda: prom.query("up"), lambda: prom.query_range("up", 0, 60, step=15),
                     lambda: prom.labels()):
            try:
                call()
            except WorkbenchError as exc:
                texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)),
                          repr(vars(exc))]
    texts += [str(w.message) for w in seen] + [caplog.text]
    # The server really got (and echoed) the credential.
    sent = stub.requests[0].headers["Authorization"]
    assert sent == (f"Bearer {TOKEN}" if auth == "token"
                    else "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    joined = "\n".join(texts)
    assert "<hidden>" in joined
    for secret in SECRETS:
        assert secret not in joined


@pytest.mark.parametrize("field", ["token", "password", "header"])
def test_non_latin1_credentials_raise_without_the_secret(field: str) -> None:
    secret = "s3cr3t-ünïcödé-☃-€-0123456789"
    kw: dict = {"token": secret} if field == "token" else (
        {"username": "bob", "password": secret} if field == "password"
        else {"headers": {"X-Api-Key": secret}})
    with http_stub(lambda req, n: (200, {}, b'{"status":"success","data":{"resultType":'
                                            b'"vector","result":[]}}')) as stub:
        prom = Prometheus(stub.url, **kw)
        if field == "password":  # RFC 7617 UTF-8: sent, not an error
            assert prom.query("up").height == 0
            raw = stub.requests[0].headers["Authorization"].split()[1]
            assert base64.b64decode(raw).decode() == f"bob:{secret}"
            return
        with pytest.raises(ConfigError) as ei:
            prom.query("up")
    text = "".join(traceback.format_exception(ei.value)) + repr(ei.value)
    assert secret not in text and "☃" not in text and "Fix:" in str(ei.value)
    assert stub.requests == []


def _header(req: Seen, name: str) -> str | None:
    return next((v for k, v in req.headers.items() if k.lower() == name.lower()), None)


def _kube(url: str, token: str):  # type: ignore[no-untyped-def]
    from kubernetes.client import ApiClient, Configuration

    from workbench import MetricsServer

    cfg = Configuration()
    cfg.host = url
    cfg.api_key = {"authorization": f"Bearer {token}"}
    return MetricsServer(ApiClient(cfg), timeout=5)


@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_metrics_api_errors_hide_an_echoed_token(status: int) -> None:
    def echo(req: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, orjson.dumps(
            {"kind": "Status", "message": f"denied {_header(req, 'Authorization')}"})

    with http_stub(echo) as stub:
        ms = _kube(stub.url, TOKEN)
        with pytest.raises(WorkbenchError) as ei:
            ms.pods(namespace="default")
    assert _header(stub.requests[0], "Authorization") == f"Bearer {TOKEN}"
    text = "".join(traceback.format_exception(ei.value)) + repr(vars(ei.value))
    assert TOKEN not in text
    assert "<hidden>" in str(ei.value) or status == 404  # the 404 message quotes no body


def test_metrics_api_token_outside_latin1_is_not_quoted() -> None:
    secret = "kube-s3cr3t-☃-0123456789"
    stub_ = http_stub(lambda req, n: (200, {}, b"{}"))
    with stub_ as stub, pytest.raises(WorkbenchError) as ei:
        _kube(stub.url, secret).nodes()
    text = "".join(traceback.format_exception(ei.value)) + repr(ei.value)
    assert secret not in text and "☃" not in text and "Fix:" in str(ei.value)
    assert stub.requests == []


REPORT_PARAMS = '''prometheus: str = "lab"  # connection profile
interactive: bool = True  # static when False'''
REPORT_BODY = '''from workbench import Prometheus
frame = Prometheus(prometheus, max_retries=0).query("up")
print("rows", frame.height)'''


@pytest.mark.parametrize("kind", ["warning", "401"])
def test_report_outputs_never_hold_an_echoed_token(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The notebook, page, record and index of a report run hold no echoed credential."""
    import os
    import subprocess
    import sys

    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [new_markdown_cell("# Echo\n\nA report whose server echoes the token."),
                new_code_cell(REPORT_PARAMS, metadata={"tags": ["parameters"]}),
                new_code_cell(REPORT_BODY)]
    nbformat.write(nb, nbdir / "echo.ipynb")
    out = tmp_path / "reports"
    with http_stub(_echo(kind)) as stub:
        config = tmp_path / "config.toml"
        config.write_text(f'[profiles.lab]\nurl = "{stub.url}"\ntoken_env = "LAB_TOKEN"\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
        env.update(WORKBENCH_CONFIG=str(config), LAB_TOKEN=TOKEN)
        res = subprocess.run([sys.executable, "-m", "workbench", "report", "run", "echo",
                              "--notebooks", str(nbdir), "--out", str(out)], env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=300, check=False)
    assert _header(stub.requests[0], "Authorization") == f"Bearer {TOKEN}"
    assert res.returncode == (0 if kind == "warning" else 1), res.stdout + res.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".ipynb" for p in files)
    written = "".join(p.read_text(errors="replace") for p in files) + res.stdout + res.stderr
    assert "<hidden>" in written or "&lt;hidden&gt;" in written
    for secret in (TOKEN, TOKEN[4:20]):
        assert secret not in written


def test_shared_session_basic_auth_is_hidden_too() -> None:
    """A PrometheusConnect-style session carrying HTTPBasicAuth: its password is redacted."""
    import requests
    from requests.auth import HTTPBasicAuth

    session = requests.Session()
    session.auth = HTTPBasicAuth(USER, "sess-pw-0123456789")
    sent = base64.b64encode(f"{USER}:sess-pw-0123456789".encode()).decode()
    with http_stub(_echo("401")) as stub, pytest.raises(WorkbenchError) as ei:
        Prometheus(stub.url, session=session, max_retries=0).query("up")
    assert stub.requests[0].headers["Authorization"] == f"Basic {sent}"
    text = "".join(traceback.format_exception(ei.value))
    assert sent not in text and "sess-pw-0123456789" not in text and "<hidden>" in text
