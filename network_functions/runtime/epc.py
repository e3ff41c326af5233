"""The EPC's identity as every EPC NF's config file carries it (the ``epc:`` block that
charts/volte-core/config/_common.j2's ``epc(nf)`` macro renders from ``values.network``).

Shared code, so that every NF image has it (an NF image holds the shared packages and its own
NF package only): the MME, SGW-C, PGW-C, PCRF and the HSS (for S6a) all read this shape.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ApnConfig", "EpcConfig"]


class ApnConfig(BaseModel):
    """An APN: its UE address pool and default bearer QoS (TS 23.203 §6.1.7 QCI/ARP) and
    APN-AMBR in kbit/s."""

    model_config = ConfigDict(extra="forbid")
    name: str
    pool: str = ""
    qci: int = Field(default=9, ge=1, le=255)
    arp: int = Field(default=8, ge=1, le=15)
    ambr_ul_kbps: int = Field(default=100_000, ge=0)
    ambr_dl_kbps: int = Field(default=100_000, ge=0)


class EpcConfig(BaseModel):
    """The serving network: PLMN, the S6a/Gx realm, GUMMEI parts (TS 23.003 §2.8), tracking
    areas and APNs."""

    model_config = ConfigDict(extra="forbid")
    realm: str
    mcc: str = Field(pattern=r"^[0-9]{3}$")
    mnc: str = Field(pattern=r"^[0-9]{2,3}$")
    mme_group_id: int = Field(ge=0, le=0xFFFF)
    mme_code: int = Field(ge=0, le=0xFF)
    tacs: list[int] = Field(min_length=1)
    apns: list[ApnConfig] = Field(min_length=1)

    @field_validator("tacs")
    @classmethod
    def _tac_range(cls, value: list[int]) -> list[int]:
        for tac in value:
            if not 0 <= tac <= 0xFFFF:
                raise ValueError(f"TAC {tac} is not a 16-bit value (TS 23.003 §19.4.2.3)")
        return value
