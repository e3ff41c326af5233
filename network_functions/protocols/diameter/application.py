"""What the Diameter applications (Cx, S6a, Gx, Rx) build and check alike: the head of a
request, the result of an answer (Result-Code or the 3GPP Experimental-Result), Proxy-Info
moved last, the head and answer skeleton of the 3GPP vendor-specific applications that keep
no session state (Cx, S6a), and the error for an AVP whose value breaks the spec.

Sans-IO like the rest of the package; the per-application modules call these and add their
own AVPs.
"""

from __future__ import annotations

from .base import AuthSessionState
from .codec import Avp, Message
from .constants import VENDOR_3GPP, ResultCode
from .errors import DiameterParseError

# RFC 6733 §6.7.2: Proxy-Info, a base (non-vendor) AVP.
PROXY_INFO = 284


def request_head(
    command_code: int, application_id: int, *, session_id: str, hop_by_hop: int, end_to_end: int
) -> Message:
    """A proxiable request of ``application_id`` opening with its Session-Id (RFC 6733
    §8.8: the Session-Id comes first)."""
    msg = Message(
        command_code,
        application_id,
        request=True,
        proxiable=True,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("Session-Id", session_id)
    return msg


def check_one_result(result_code: int | None, experimental_result_code: int | None) -> None:
    """An answer carries exactly one of Result-Code and Experimental-Result (RFC 6733 §7.1,
    §7.6); raises ValueError (our caller's mistake, not the peer's) otherwise."""
    if (result_code is None) == (experimental_result_code is None):
        raise ValueError("give exactly one of result_code and experimental_result_code")


def experimental_result(code: int) -> list[tuple[str, object]]:
    """Experimental-Result with the 3GPP Vendor-Id (TS 29.229 §6.2, TS 29.272 §7.4)."""
    return [("Vendor-Id", VENDOR_3GPP), ("Experimental-Result-Code", int(code))]


def add_result(ans: Message, result_code: int | None, experimental_result_code: int | None) -> None:
    """Append the answer's one result: Result-Code or the 3GPP Experimental-Result."""
    check_one_result(result_code, experimental_result_code)
    if result_code is not None:
        ans.add("Result-Code", int(result_code))
    else:
        ans.add("Experimental-Result", experimental_result(experimental_result_code or 0))


def move_proxy_info_last(ans: Message) -> None:
    """``request.answer()`` copies Proxy-Info next to the head; the applications' ABNFs put
    it after their own AVPs (e.g. TS 29.229 §6.1.2, TS 29.212 §5.6.3)."""
    proxy = [a for a in ans.avps if _is_proxy_info(a)]
    if proxy:
        ans.avps = [a for a in ans.avps if not _is_proxy_info(a)] + proxy


def _is_proxy_info(avp: Avp) -> bool:
    return avp.code == PROXY_INFO and avp.vendor_id is None


def stateless_request(
    command_code: int,
    application_id: int,
    vendor_specific_application_id: list[tuple[str, object]],
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    destination_host: str | None,
    hop_by_hop: int,
    end_to_end: int,
) -> Message:
    """The head shared by Cx (TS 29.229 §6.1.x) and S6a (TS 29.272 §7.2.x) requests:
    Session-Id, Vendor-Specific-Application-Id, Auth-Session-State NO_STATE_MAINTAINED,
    Origin-Host/Realm, [Destination-Host], Destination-Realm."""
    msg = request_head(
        command_code,
        application_id,
        session_id=session_id,
        hop_by_hop=hop_by_hop,
        end_to_end=end_to_end,
    )
    msg.add("Vendor-Specific-Application-Id", vendor_specific_application_id)
    msg.add("Auth-Session-State", AuthSessionState.NO_STATE_MAINTAINED)
    msg.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    if destination_host is not None:
        msg.add("Destination-Host", destination_host)
    msg.add("Destination-Realm", destination_realm)
    return msg


def stateless_answer(
    request: Message,
    vendor_specific_application_id: list[tuple[str, object]],
    *,
    origin_host: str,
    origin_realm: str,
    result_code: int | None,
    experimental_result_code: int | None,
) -> Message:
    """The answer skeleton shared by Cx and S6a: Session-Id, Vendor-Specific-Application-Id,
    the result (exactly one of ``result_code`` and ``experimental_result_code``),
    Auth-Session-State NO_STATE_MAINTAINED, Origin-Host/Realm, then Proxy-Info; add the
    command's AVPs afterwards."""
    check_one_result(result_code, experimental_result_code)
    ans = request.answer(result_code)
    ans.add("Vendor-Specific-Application-Id", vendor_specific_application_id)
    if experimental_result_code is not None:
        ans.add("Experimental-Result", experimental_result(experimental_result_code))
    ans.add("Auth-Session-State", AuthSessionState.NO_STATE_MAINTAINED)
    ans.add("Origin-Host", origin_host).add("Origin-Realm", origin_realm)
    move_proxy_info_last(ans)
    return ans


def invalid_value(msg: str, avp: Avp | None) -> DiameterParseError:
    """The peer sent an AVP whose value the spec forbids: DIAMETER_INVALID_AVP_VALUE (RFC
    6733 §7.1.5) with the offending AVP as Failed-AVP."""
    return DiameterParseError(ResultCode.DIAMETER_INVALID_AVP_VALUE, msg, failed_avp=avp)
