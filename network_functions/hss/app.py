"""The HSS: Diameter Cx (TS 29.228/29.229) and S6a (TS 29.272) server, provisioning REST API.

Cx procedures served (TS 29.228 §6):

* UAR → UAA  (§6.1.1) user authorisation at registration: is the IMPI/IMPU pair known,
  which S-CSCF serves it (first or subsequent registration);
* MAR → MAA  (§6.3) authentication vectors: IMS-AKA (Milenage, ``Digest-AKAv1-MD5``) or
  SIP Digest (``SIP Digest``, RFC 2617 HA1), and AKA re-synchronisation from AUTS;
* SAR → SAA  (§6.1.2) server assignment: stores the S-CSCF and returns the user profile
  (TS 29.228 Annex E XML), clears it on de-registration;
* LIR → LIA  (§6.1.4) location: which S-CSCF serves a public identity.

S6a (AIR/ULR/PUR for the MME, CLR to an old MME) is in s6a.py; it is served when the config
has the ``epc`` block (the deployment's PLMN and APNs). All state is in the shared store (see
subscribers.py), so HSS replicas are interchangeable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field

from network_functions.protocols import aka
from network_functions.protocols.diameter import (
    APP_CX,
    APP_S6A,
    CMD_LIR,
    CMD_MAR,
    CMD_SAR,
    CMD_UAR,
    VENDOR_3GPP,
    ExperimentalResultCode,
    Message,
    ResultCode,
)
from network_functions.protocols.ims import normalise_impu
from network_functions.protocols.sip import digest
from network_functions.runtime.diameter import DiameterServer
from network_functions.runtime.epc import EpcConfig
from network_functions.runtime.http import HttpError, HttpRequest, HttpResponse, HttpServer
from network_functions.runtime.service import BaseConfig, NetworkFunction

from .s6a import S6aService
from .subscribers import (
    Assignment,
    Subscriber,
    SubscriberError,
    SubscriberRepository,
)

# Server-Assignment-Type (TS 29.229 §6.3.15)
SAT_NO_ASSIGNMENT = 0
SAT_REGISTRATION = 1
SAT_RE_REGISTRATION = 2
SAT_UNREGISTERED_USER = 3
SAT_TIMEOUT_DEREGISTRATION = 4
SAT_USER_DEREGISTRATION = 5
SAT_TIMEOUT_DEREGISTRATION_STORE = 6
SAT_USER_DEREGISTRATION_STORE = 7
SAT_ADMINISTRATIVE_DEREGISTRATION = 8
SAT_AUTHENTICATION_FAILURE = 9
SAT_AUTHENTICATION_TIMEOUT = 10
DEREGISTRATIONS = {4, 5, 8, 9, 10, 11}
KEEP_NAME = {6, 7}
# User-Authorization-Type (TS 29.229 §6.3.24)
UAT_REGISTRATION = 0
UAT_DE_REGISTRATION = 1
UAT_REGISTRATION_AND_CAPABILITIES = 2

# RFC 6733 §7.1.3
DIAMETER_APPLICATION_UNSUPPORTED = 3007

SCHEME_AKA = "Digest-AKAv1-MD5"
SCHEME_DIGEST = "SIP Digest"
SCHEME_UNKNOWN = "Unknown"
# At most this many vectors per MAR (SIP-Number-Auth-Items), whatever is asked.
MAX_AUTH_ITEMS = 5


class HssDiameterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(default=3868, ge=0, le=65535)
    allow: list[str] = []
    transport: Literal["tcp", "sctp"] = "tcp"


class ProvisioningConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(default=8081, ge=0, le=65535)


class HssConfig(BaseConfig):
    diameter: HssDiameterConfig = HssDiameterConfig()
    provisioning: ProvisioningConfig = ProvisioningConfig()
    scscf_names: list[str] = Field(min_length=1)
    subscribers_file: str = ""
    # The EPC's identity (PLMN, realm, APNs): with it the HSS also serves S6a.
    epc: EpcConfig | None = None


def experimental(answer: Message, code: int) -> Message:
    answer.add(
        "Experimental-Result", [("Vendor-Id", VENDOR_3GPP), ("Experimental-Result-Code", code)]
    )
    return answer


def user_data_xml(sub: Subscriber) -> str:
    """The IMS subscription profile (TS 29.228 Annex E) with every IMPU, no iFCs."""
    identities = "".join(
        f"<PublicIdentity><Identity>{escape(u)}</Identity></PublicIdentity>" for u in sub.impus
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<IMSSubscription><PrivateID>{escape(sub.impi)}</PrivateID>"
        f"<ServiceProfile>{identities}</ServiceProfile></IMSSubscription>"
    )


class Hss(NetworkFunction[HssConfig]):
    config_model = HssConfig

    def __init__(self, config: HssConfig, *, replica: str) -> None:
        super().__init__(config, replica=replica)
        self.repo: SubscriberRepository | None = None
        applications = [(VENDOR_3GPP, APP_CX)]
        allow = list(config.diameter.allow)
        if config.epc is not None:
            applications.append((VENDOR_3GPP, APP_S6A))
            if not allow:
                # MMEs live in the EPC realm, the CSCFs in the IMS one.
                allow = [config.realm, config.epc.realm]
        self.server = DiameterServer(
            host=config.listen.host,
            port=config.diameter.port,
            origin_host=f"hss.{config.realm}",
            origin_realm=config.realm,
            advertise=self.address,
            auth_applications=[],
            vendor_applications=applications,
            handler=self.handle,
            metrics=self.metrics,
            allow=allow,
            transport=config.diameter.transport,
        )
        self.provisioning = HttpServer(
            config.listen.host, config.provisioning.port, reuse_port=True
        )
        self.m_vectors = self.metrics.counter(
            "hss_auth_vectors_total", "authentication vectors generated", ("scheme",)
        )
        self.m_registered = self.metrics.counter(
            "hss_server_assignments_total", "SAR by Server-Assignment-Type", ("type",)
        )
        self.s6a = S6aService(self, config.epc) if config.epc is not None else None
        self._s6a_handlers = self.s6a.handlers if self.s6a is not None else {}

    @property
    def subs(self) -> SubscriberRepository:
        assert self.repo is not None
        return self.repo

    async def start(self) -> None:
        store = await self.open_store()
        self.repo = SubscriberRepository(store, domain=self.config.domain)
        if self.config.subscribers_file:
            await self._load_file(Path(self.config.subscribers_file))
        await self.server.start()
        p = self.provisioning
        p.route("GET", "/subscribers", self.api_list)
        p.route("POST", "/subscribers", self.api_create)
        p.route("GET", "/subscribers/{imsi}", self.api_get)
        p.route("PUT", "/subscribers/{imsi}", self.api_put)
        p.route("DELETE", "/subscribers/{imsi}", self.api_delete)
        await p.start()

    async def _load_file(self, path: Path) -> None:
        """Provision the subscribers of the deployment's values, keeping existing SQNs."""
        records = json.loads(path.read_text())
        added = 0
        for record in records:
            sub = Subscriber.from_dict(record, domain=self.config.domain)
            if await self.subs.put(sub, only_if_new=True):
                added += 1
        self.log.info(
            "subscribers loaded", extra={"file": str(path), "added": added, "total": len(records)}
        )

    async def drain(self) -> None:
        await self.server.drain()

    async def close(self) -> None:
        if self.s6a is not None:
            await self.s6a.close()
        await self.server.close()
        await self.provisioning.close()

    # -- Cx --------------------------------------------------------------------------------
    def _answer(self, req: Message, code: int | None = None) -> Message:
        ans = req.answer(
            code, origin_host=self.server.origin_host, origin_realm=self.server.origin_realm
        )
        ans.add(
            "Vendor-Specific-Application-Id",
            [("Vendor-Id", VENDOR_3GPP), ("Auth-Application-Id", APP_CX)],
        )
        ans.add("Auth-Session-State", 1)
        return ans

    async def handle(self, req: Message) -> Message:
        if req.application_id == APP_S6A and self._s6a_handlers:
            s6a_handler = self._s6a_handlers.get(req.command_code)
            if s6a_handler is None:
                return req.answer(
                    ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
                    origin_host=self.server.origin_host,
                    origin_realm=self.server.origin_realm,
                )
            return await s6a_handler(req)
        if req.application_id != APP_CX:
            return req.answer(
                DIAMETER_APPLICATION_UNSUPPORTED,
                origin_host=self.server.origin_host,
                origin_realm=self.server.origin_realm,
            )
        handler = {
            CMD_UAR: self.on_uar,
            CMD_MAR: self.on_mar,
            CMD_SAR: self.on_sar,
            CMD_LIR: self.on_lir,
        }.get(req.command_code)
        if handler is None:
            return req.answer(
                ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
                origin_host=self.server.origin_host,
                origin_realm=self.server.origin_realm,
            )
        return await handler(req)

    async def _identify(self, req: Message) -> tuple[Subscriber | None, Message | None]:
        """Find the subscriber by User-Name and check the Public-Identity belongs to it."""
        impi = str(req.get("User-Name", ""))
        impu = str(req.get("Public-Identity", ""))
        sub = await self.subs.by_impi(impi) if impi else await self.subs.by_impu(impu)
        if sub is None:
            return None, experimental(
                self._answer(req), ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN
            )
        if impu and normalise_impu(impu) not in sub.impus:
            return None, experimental(
                self._answer(req), ExperimentalResultCode.DIAMETER_ERROR_IDENTITIES_DONT_MATCH
            )
        return sub, None

    async def on_uar(self, req: Message) -> Message:
        sub, error = await self._identify(req)
        if error is not None or sub is None:
            return error  # type: ignore[return-value]
        current = await self.subs.assignment(sub.imsi)
        kind = int(req.get("User-Authorization-Type", UAT_REGISTRATION))
        ans = self._answer(req)
        if kind == UAT_DE_REGISTRATION:
            if current is None:
                return experimental(
                    ans, ExperimentalResultCode.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED
                )
            ans.add("Server-Name", current.server_name)
            return self._success(ans)
        if current is not None:
            ans.add("Server-Name", current.server_name)
            return experimental(ans, ExperimentalResultCode.DIAMETER_SUBSEQUENT_REGISTRATION)
        ans.add("Server-Name", self._pick_scscf(sub))
        return experimental(ans, ExperimentalResultCode.DIAMETER_FIRST_REGISTRATION)

    def _pick_scscf(self, sub: Subscriber) -> str:
        names = self.config.scscf_names
        return names[int(sub.imsi) % len(names)]

    @staticmethod
    def _success(ans: Message) -> Message:
        ans.add("Result-Code", ResultCode.DIAMETER_SUCCESS)
        return ans

    async def on_mar(self, req: Message) -> Message:
        sub, error = await self._identify(req)
        if error is not None or sub is None:
            return error  # type: ignore[return-value]
        item = req.get("SIP-Auth-Data-Item")
        scheme = SCHEME_UNKNOWN
        authorization: bytes | None = None
        if item is not None:
            scheme = str(item.get("SIP-Authentication-Scheme", SCHEME_UNKNOWN))
            raw = item.get("SIP-Authorization")
            authorization = bytes(raw) if raw else None
        if scheme == SCHEME_UNKNOWN:
            scheme = SCHEME_DIGEST if sub.password else SCHEME_AKA
        server_name = req.get("Server-Name")
        current = await self.subs.assignment(sub.imsi)
        if server_name and (current is None or not current.registered):
            # §6.3: the HSS stores the S-CSCF name while authentication is pending.
            await self.subs.assign(sub.imsi, Assignment(str(server_name), registered=False))
        ans = self._answer(req)
        ans.add("User-Name", sub.impi)
        ans.add("Public-Identity", str(req.get("Public-Identity", sub.impus[0])))
        if scheme == SCHEME_DIGEST or scheme in ("Digest-MD5", "Digest"):
            if sub.password is None:
                return experimental(
                    ans, ExperimentalResultCode.DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED
                )
            ha1 = digest.ha1(sub.impi, self.config.domain, sub.password)
            ans.add("SIP-Number-Auth-Items", 1)
            ans.add(
                "SIP-Auth-Data-Item",
                [
                    ("SIP-Item-Number", 1),
                    ("SIP-Authentication-Scheme", SCHEME_DIGEST),
                    (
                        "SIP-Digest-Authenticate",
                        [
                            ("Digest-Realm", self.config.domain),
                            ("Digest-Algorithm", "MD5"),
                            ("Digest-QoP", "auth"),
                            ("Digest-HA1", ha1),
                        ],
                    ),
                ],
            )
            self.m_vectors.labels("digest").inc()
            return self._success(ans)
        if scheme != SCHEME_AKA:
            return experimental(
                ans, ExperimentalResultCode.DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED
            )
        k, opc = bytes.fromhex(sub.k), bytes.fromhex(sub.opc)
        if authorization is not None and len(authorization) >= 16 + 14:
            # §6.3.3 / TS 33.203 §6.1.2: RAND ‖ AUTS asks for re-synchronisation.
            rand, auts = authorization[:16], authorization[16:30]
            try:
                sqn_ms = aka.resync(k, opc, rand, auts)
            except aka.AkaError:
                return self._fail(ans, ResultCode.DIAMETER_AUTHENTICATION_REJECTED)
            await self.subs.resync_sqn(sub.imsi, sqn_ms)
        count = max(1, min(int(req.get("SIP-Number-Auth-Items", 1)), MAX_AUTH_ITEMS))
        ans.add("SIP-Number-Auth-Items", count)
        for n in range(1, count + 1):
            sqn = await self.subs.next_sqn(sub.imsi)
            vec = aka.generate_vector(k, opc, sqn, amf=bytes.fromhex(sub.amf))
            ans.add(
                "SIP-Auth-Data-Item",
                [
                    ("SIP-Item-Number", n),
                    ("SIP-Authentication-Scheme", SCHEME_AKA),
                    ("SIP-Authenticate", vec.rand + vec.autn),
                    ("SIP-Authorization", vec.xres),
                    ("Confidentiality-Key", vec.ck),
                    ("Integrity-Key", vec.ik),
                ],
            )
        self.m_vectors.labels("aka").inc(count)
        return self._success(ans)

    @staticmethod
    def _fail(ans: Message, code: int) -> Message:
        ans.add("Result-Code", code)
        return ans

    async def on_sar(self, req: Message) -> Message:
        sub, error = await self._identify(req)
        if error is not None or sub is None:
            return error  # type: ignore[return-value]
        kind = int(req.get("Server-Assignment-Type", SAT_NO_ASSIGNMENT))
        self.m_registered.labels(str(kind)).inc()
        server_name = str(req.get("Server-Name", ""))
        ans = self._answer(req)
        ans.add("User-Name", sub.impi)
        if kind in DEREGISTRATIONS:
            await self.subs.assign(sub.imsi, None)
            return self._success(ans)
        if kind in KEEP_NAME:
            await self.subs.assign(sub.imsi, Assignment(server_name, registered=False))
            return self._success(ans)
        if kind in (SAT_REGISTRATION, SAT_RE_REGISTRATION, SAT_UNREGISTERED_USER):
            if not server_name:
                return self._fail(ans, ResultCode.DIAMETER_MISSING_AVP)
            current = await self.subs.assignment(sub.imsi)
            if (
                current is not None
                and current.registered
                and current.server_name != server_name
                and kind == SAT_REGISTRATION
            ):
                # Another S-CSCF already serves the user: TS 29.228 §6.1.2.1 says the HSS
                # answers with that name; we re-assign (single S-CSCF service) and log it.
                self.log.info("re-assigning S-CSCF", extra={"imsi": sub.imsi})
            await self.subs.assign(
                sub.imsi, Assignment(server_name, registered=kind != SAT_UNREGISTERED_USER)
            )
            ans.add("User-Data", user_data_xml(sub).encode())
            return self._success(ans)
        if kind == SAT_NO_ASSIGNMENT:
            ans.add("User-Data", user_data_xml(sub).encode())
            return self._success(ans)
        return experimental(ans, ExperimentalResultCode.DIAMETER_ERROR_IN_ASSIGNMENT_TYPE)

    async def on_lir(self, req: Message) -> Message:
        impu = str(req.get("Public-Identity", ""))
        sub = await self.subs.by_impu(impu)
        ans = self._answer(req)
        if sub is None:
            return experimental(ans, ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN)
        current = await self.subs.assignment(sub.imsi)
        if current is None or not current.registered:
            return experimental(ans, ExperimentalResultCode.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED)
        ans.add("Server-Name", current.server_name)
        return self._success(ans)

    # -- provisioning REST API -----------------------------------------------------------
    def _parse(self, data: Any) -> Subscriber:
        try:
            return Subscriber.from_dict(data, domain=self.config.domain)
        except SubscriberError as exc:
            raise HttpError(400, str(exc)) from exc

    async def api_list(self, _req: HttpRequest) -> HttpResponse:
        subs = await self.subs.list()
        return HttpResponse.json([s.to_dict(secrets=False) for s in subs])

    async def api_create(self, req: HttpRequest) -> HttpResponse:
        data = req.json()
        records = data if isinstance(data, list) else [data]
        subs = [self._parse(r) for r in records]  # validate all before storing any
        for sub in subs:
            if await self.subs.get(sub.imsi) is not None:
                raise HttpError(409, f"subscriber {sub.imsi} exists (use PUT to replace)")
        for sub in subs:
            await self.subs.put(sub)
        return HttpResponse.json({"created": [s.imsi for s in subs]}, status=201)

    async def api_get(self, req: HttpRequest) -> HttpResponse:
        sub = await self.subs.get(req.params["imsi"])
        if sub is None:
            raise HttpError(404, f"no subscriber {req.params['imsi']}")
        out = sub.to_dict()
        assignment = await self.subs.assignment(sub.imsi)
        out["scscf"] = assignment.server_name if assignment else None
        out["registered"] = bool(assignment and assignment.registered)
        return HttpResponse.json(out)

    async def api_put(self, req: HttpRequest) -> HttpResponse:
        data = req.json()
        if isinstance(data, dict):
            data.setdefault("imsi", req.params["imsi"])
        sub = self._parse(data)
        if sub.imsi != req.params["imsi"]:
            raise HttpError(400, "imsi in the body differs from the URL")
        await self.subs.put(sub)
        return HttpResponse.json({"updated": sub.imsi})

    async def api_delete(self, req: HttpRequest) -> HttpResponse:
        if not await self.subs.delete(req.params["imsi"]):
            raise HttpError(404, f"no subscriber {req.params['imsi']}")
        return HttpResponse(status=204)
