"""load_config: YAML + NFV__ environment overrides + pydantic validation, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from network_functions.runtime.config import ConfigError, load_config

pytestmark = pytest.mark.unit


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Peer(Strict):
    name: str
    port: int = 3868


class Diameter(Strict):
    watchdog_interval: float = 30.0
    peers: list[Peer] = []


class Sip(Strict):
    port: int = 5060
    transports: list[str] = ["udp"]
    t1: float = 0.5


class Admin(Strict):
    host: str = ""
    port: int = Field(default=8080, ge=0, le=65535)


class Cfg(Strict):
    nf: str
    domain: str
    admin: Admin = Admin()
    sip: Sip = Sip()
    diameter: Diameter = Diameter()
    tags: dict[str, str] = {}
    secret: str | None = None
    debug: bool = False


YAML = """\
nf: scscf
domain: ims.example.net
admin:
  port: 8080
sip:
  port: 5060
  transports: [udp, tcp]
diameter:
  peers:
    - {name: hss, port: 3868}
"""


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    p = tmp_path / "scscf.yaml"
    p.write_text(YAML)
    return p


def test_yaml_only(cfg_file: Path) -> None:
    cfg = load_config(cfg_file, Cfg, env={})
    assert cfg.nf == "scscf"
    assert cfg.sip.transports == ["udp", "tcp"]
    assert cfg.diameter.peers == [Peer(name="hss", port=3868)]
    assert load_config(str(cfg_file), Cfg, env={}) == cfg


def test_env_overrides(cfg_file: Path) -> None:
    env = {
        "NFV__ADMIN__PORT": "9090",
        "nfv__Sip__T1": "0.25",
        "NFV__SIP__TRANSPORTS": "[tcp]",
        "NFV__DIAMETER__PEERS__0__PORT": "3869",
        "NFV__DIAMETER__PEERS__1__NAME": "hss2",
        "NFV__DEBUG": "yes",
        "NFV__ADMIN__HOST": "0123",  # str field: verbatim, not the YAML int 123
        "NFV__SECRET": "true",  # Optional[str]: verbatim
        "NFV__TAGS__ZONE": "a",
        "OTHER": "ignored",
        "NFV_NAMES": "/not/a/config/override",
    }
    cfg = load_config(cfg_file, Cfg, env=env)
    assert cfg.admin.port == 9090
    assert cfg.sip.t1 == 0.25
    assert cfg.sip.transports == ["tcp"]
    assert cfg.diameter.peers == [Peer(name="hss", port=3869), Peer(name="hss2")]
    assert cfg.debug is True
    assert cfg.admin.host == "0123"
    assert cfg.secret == "true"
    assert cfg.tags == {"zone": "a"}


def test_env_only_without_file() -> None:
    cfg = load_config(
        None, Cfg, env={"NFV__NF": "hss", "NFV__DOMAIN": "d", "NFV__SIP__PORT": "5070"}
    )
    assert (cfg.nf, cfg.domain, cfg.sip.port) == ("hss", "d", 5070)


def test_custom_prefix(cfg_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"admin_port: Extra inputs.*X_ADMIN_PORT"):
        load_config(cfg_file, Cfg, env={"X_ADMIN_PORT": "1"}, prefix="X_")  # "_" does not nest
    cfg = load_config(cfg_file, Cfg, env={"APP__ADMIN__PORT": "1"}, prefix="APP__")
    assert cfg.admin.port == 1


def test_empty_value_is_empty_string(cfg_file: Path) -> None:
    assert load_config(cfg_file, Cfg, env={"NFV__ADMIN__HOST": ""}).admin.host == ""


def test_validation_error_names_file_field_and_env_var(cfg_file: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(cfg_file, Cfg, env={"NFV__ADMIN__PORT": "70000"})
    msg = str(info.value)
    assert str(cfg_file) in msg
    assert "admin.port" in msg
    assert "NFV__ADMIN__PORT" in msg
    assert "65535" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_validation_errors_are_all_listed(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("nf: x\nsip: {port: abc}\ndiameter: {peers: [{port: 1}]}\nbogus: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(p, Cfg, env={})
    msg = str(info.value)
    assert "4 problems" in msg
    assert "domain: Field required" in msg
    assert "sip.port:" in msg and "'abc'" in msg
    assert "diameter.peers[0].name: Field required" in msg
    assert "bogus: Extra inputs are not permitted" in msg


def test_unknown_env_field_is_rejected(cfg_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"admin\.bogus: Extra inputs.*NFV__ADMIN__BOGUS"):
        load_config(cfg_file, Cfg, env={"NFV__ADMIN__BOGUS": "1"})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", Cfg, env={})


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("nf: x\nsip:\n  port: [1, 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(p, Cfg, env={})
    assert f"{p}:" in str(info.value) and "invalid YAML" in str(info.value)
    assert info.value.__cause__ is None


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    p = tmp_path / "list.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(p, Cfg, env={})
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="nf: Field required"):
        load_config(empty, Cfg, env={})


def test_override_into_a_scalar_is_an_error(cfg_file: Path) -> None:
    with pytest.raises(ConfigError, match="NFV__NF__X: nf is not a section"):
        load_config(cfg_file, Cfg, env={"NFV__NF__X": "1"})


def test_list_index_errors(cfg_file: Path) -> None:
    with pytest.raises(ConfigError, match="would leave a gap"):
        load_config(cfg_file, Cfg, env={"NFV__DIAMETER__PEERS__5__NAME": "x"})
    with pytest.raises(ConfigError, match="not an index"):
        load_config(cfg_file, Cfg, env={"NFV__DIAMETER__PEERS__FIRST__NAME": "x"})
    with pytest.raises(ConfigError, match="empty section"):
        load_config(cfg_file, Cfg, env={"NFV__ADMIN____PORT": "1"})


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path, Cfg, env={})  # a directory


def test_service_base_config_loads_the_chart_shape(tmp_path: Path) -> None:
    from network_functions.runtime.service import BaseConfig

    p = tmp_path / "hss.yaml"
    p.write_text(
        "nf: hss\ndomain: ims.mnc001.mcc001.3gppnetwork.org\nrealm: r\n"
        "listen: {host: 0.0.0.0}\nadmin: {port: 8080}\nstore: {url: ''}\nlogging: {level: INFO}\n"
    )
    cfg = load_config(p, BaseConfig, env={"NFV__STORE__URL": "sqlite:///tmp/x.db"})
    assert cfg.store.url == "sqlite:///tmp/x.db"
    assert cfg.admin.port == 8080
