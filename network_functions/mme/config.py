"""The MME's configuration model (the file charts/volte-core/config/mme.yaml.j2 renders).

The network's identity comes from ``values.network`` (PLMN, MME group/code, TACs, APNs) in
the ``epc:`` block every EPC NF shares (``runtime/epc.py``); peers are named, never
addressed: ``hss`` for S6a, ``sgw`` for S11.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from network_functions.runtime.epc import ApnConfig, EpcConfig
from network_functions.runtime.service import BaseConfig
from network_functions.runtime.sipnf import DiameterClientConfig

__all__ = ["ApnConfig", "EpcConfig", "MmeConfig", "S1apConfig", "S11Config", "SecurityConfig"]


class S1apConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(default=36412, ge=0, le=65535)
    # TS 36.412 §7 says SCTP; this project's machines have none, so TCP with a 4-byte length
    # prefix per PDU is the default.
    transport: Literal["tcp", "sctp"] = "tcp"
    mme_name: str = "nfv-mme"
    relative_capacity: int = Field(default=127, ge=0, le=255)  # TS 36.413 §9.2.3.17


class S11Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sgw: str = "sgw"
    port: int = Field(default=2123, ge=1, le=65535)
    # TS 29.274 §7.6: T3-RESPONSE and N3-REQUESTS.
    t3: float = Field(default=2.0, gt=0)
    n3: int = Field(default=3, ge=0, le=10)
    # UDP sockets used in turn for S11: one flow each, so SGW replicas behind one address
    # (SO_REUSEPORT, a Kubernetes Service) share the load.
    sockets: int = Field(default=8, ge=1, le=64)


class SecurityConfig(BaseModel):
    """NAS algorithms in order of preference (TS 33.401 §7.2.4.2): the first the UE
    supports is selected."""

    model_config = ConfigDict(extra="forbid")
    integrity: list[int] = [2]
    ciphering: list[int] = [0, 2]

    @field_validator("integrity")
    @classmethod
    def _eia(cls, value: list[int]) -> list[int]:
        if not value or any(v not in (2,) for v in value):
            raise ValueError("only 128-EIA2 (2) is implemented for NAS integrity")
        return value

    @field_validator("ciphering")
    @classmethod
    def _eea(cls, value: list[int]) -> list[int]:
        if not value or any(v not in (0, 2) for v in value):
            raise ValueError("only EEA0 (0) and 128-EEA2 (2) are implemented for NAS ciphering")
        return value


class MmeConfig(BaseConfig):
    s1ap: S1apConfig = S1apConfig()
    epc: EpcConfig
    diameter: DiameterClientConfig = DiameterClientConfig()
    s11: S11Config = S11Config()
    security: SecurityConfig = SecurityConfig()
    # How long the MME waits for the UE or eNB during a procedure (TS 24.301 T3460/T3450
    # are 6 s; over TCP there is nothing to retransmit, so one timer ends the procedure).
    procedure_timeout: float = Field(default=6.0, gt=0)
    # Attaches in progress per replica beyond which new ones are rejected with EMM cause #22
    # "congestion" (TS 24.301 §5.5.1.2.5) instead of queueing without bound.
    max_pending_attaches: int = Field(default=2000, ge=1)

    @model_validator(mode="after")
    def _needs_the_hss(self) -> MmeConfig:
        if not self.diameter.peers:
            raise ValueError("diameter.peers must name the HSS (S6a)")
        return self
