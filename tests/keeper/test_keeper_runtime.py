"""The keeper process: configuration errors by name, /healthz and /metrics, SIGTERM stops it."""
from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import httpx
import pytest
from quantdesk.keeper.config import InvalidValue, MissingKey, UnreadableConfig, UnreadableKeypair, load_config
from quantdesk.keeper.registry import BOTS
from quantdesk.keeper.runtime import Keeper
from solders.keypair import Keypair

from quantdesk.localnet import free_port, run_in_background


def write(tmp: Path, body: str, keypair: bool = True) -> Path:
    if keypair:
        (tmp / "id.json").write_text(json.dumps(list(bytes(Keypair()))))
    path = tmp / "keeper.toml"
    path.write_text(body)
    return path


BASE = 'rpc_url = "http://127.0.0.1:1"\nws_url = "ws://127.0.0.1:2"\nkeypair = "id.json"\n'


def test_config_loads_with_overrides(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "reconcile_secs = 5\n[bots.risk]\ninterval_secs = 1\n"), {"port": 0, "ws_url": None})
    assert (config.reconcile_secs, config.port, config.ws_url, config.bots) == (5.0, 0, "ws://127.0.0.1:2", {"risk": {"interval_secs": 1}})
    assert config.keypair == tmp_path / "id.json"


@pytest.mark.parametrize(("body", "error", "match"), [
    ('ws_url = "x"\nkeypair = "id.json"\n', MissingKey, "rpc_url"),
    (BASE + "reconcile_secs = 61\n", InvalidValue, "reconcile_secs"),
    (BASE + 'port = "9464"\n', InvalidValue, "port"),
    (BASE + "dead_after_slots = true\n", InvalidValue, "dead_after_slots"),
    (BASE + "bots = 3\n", InvalidValue, "bots"),
    (BASE + "surprise = 1\n", InvalidValue, "surprise"),
    ("rpc_url = [", UnreadableConfig, "keeper.toml"),
])
def test_config_errors_are_named(tmp_path: Path, body: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        load_config(write(tmp_path, body))


def test_unreadable_keypair_and_config(tmp_path: Path) -> None:
    with pytest.raises(UnreadableKeypair, match="id.json"):
        load_config(write(tmp_path, BASE, keypair=False))
    (tmp_path / "id.json").write_text("[1, 2, 3]")
    with pytest.raises(UnreadableKeypair, match="64 bytes"):
        load_config(tmp_path / "keeper.toml")
    with pytest.raises(UnreadableConfig):
        load_config(tmp_path / "missing.toml")


async def test_health_metrics_and_sigterm(tmp_path: Path) -> None:
    async with run_in_background(slot_ms=100) as node:
        port = free_port()
        path = write(tmp_path, f'rpc_url = "{node.rpc_url}"\nws_url = "{node.ws_url}"\nkeypair = "id.json"\nslot_secs = 0.1\n'
                               "[bots.risk]\ninterval_secs = 0.2\n")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "quantdesk", "keeper", "run", "--config", str(path),
                                                    "--port", str(port), stderr=asyncio.subprocess.PIPE)
        assert proc.stderr is not None
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(400):  # until the keeper listens and its cache is live
                    try:
                        health = await http.get(f"{url}/healthz")
                        if health.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.05)
                assert health.status_code == 200 and health.json()["live"] is True
                metrics = (await http.get(f"{url}/metrics")).text
                assert 'quantdesk_keeper_reconciles_total{reason="snapshot"} 1.0' in metrics
                assert "quantdesk_keeper_cache_lag_slots" in metrics
                await http.post(node.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "qd_pauseClock"})
                for _ in range(200):  # slots stopped: stale after dead_after_slots (20 x 0.1 s)
                    health = await http.get(f"{url}/healthz")
                    if health.status_code == 503:
                        break
                    await asyncio.sleep(0.05)
                assert health.status_code == 503 and health.json()["fresh"] is False
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        lines = [json.loads(line) for line in (await proc.stderr.read()).decode().splitlines()]
        events = [line["event"] for line in lines]
        assert events[0] == "keeper.started" and events[-1] == "keeper.stopped" and "risk.report" in events
        assert all({"ts", "level", "event"} <= set(line) for line in lines)
        assert lines[-1]["metrics"]['quantdesk_keeper_reconciles_total{reason="snapshot"}'] == 1.0


async def test_unknown_bot_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "[bots.nope]\n")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "quantdesk", "keeper", "run", "--config", str(path),
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 2 and b"UnknownBot" in err


def test_the_example_configuration_loads_with_every_bot() -> None:
    root = Path(__file__).resolve().parents[2]
    config = load_config(root / "keeper.example.toml")
    assert set(config.bots) == set(BOTS) and config.keypair == root / "keys/localnet/wallet.json"
    assert set(Keeper(config).bots) == set(BOTS)
