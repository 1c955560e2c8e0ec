"""docs/mcp.md against a live server: its client configuration connects the SDK's client,
and its Python session lists the tools, predicts, asks what would change and reports the
outcome (a tenant with a real LoL champion, uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from tests.docs.markdown import blocks
from tests.docs.test_docs_code import run_page
from tests.mcp.conftest import TOOL, connect, live_server


def test_mcp_page_configuration_and_session_run_against_a_live_server(tmp_path, monkeypatch):
    from tracer_esports.lol import load_reference

    with live_server(tmp_path / "tracer-home") as live:
        key, _ = live.key("docs")
        live.enable(key)
        live.train("docs", load_reference().head(600), ["logistic regression C=1"])
        [config] = [json.loads(b.code) for b in blocks("mcp.md") if b.language == "json"]
        server = config["mcpServers"]["tracer"]
        assert urlsplit(server["url"]).path == "/mcp"
        scheme, token = server["headers"]["Authorization"].split(" ")
        assert scheme == "Bearer" and token.startswith("trk_")

        async def listed() -> list[str]:  # the configuration, with this server and key
            url = live.url + urlsplit(server["url"]).path
            async with connect(url, key) as client:
                return [t.name for t in (await client.list_tools()).tools]

        assert TOOL in asyncio.run(listed())
        monkeypatch.setenv("TRACER_MCP_URL", live.mcp)
        monkeypatch.setenv("TRACER_API_KEY", key)
        namespace = run_page("mcp.md", tmp_path)
    result = namespace["result"]
    assert result["prediction"]["model"]["name"] == "docs.esports.lol-10min"
    for change in result["changes"]["changes"]:
        assert change["label"] == 1 - result["prediction"]["label"]
