"""Checking a decoded message against its command's ABNF, and building error answers.

``validate`` applies RFC 6733 §3.2 / §4.4 formats from the dictionary to the commands we
define (base CE/DW/DP and Cx), recursing into Grouped AVPs, and raises DiameterParseError
with the Result-Code and Failed-AVP that §7.1.5 / §7.5 prescribe. ``error_answer`` turns
such an error into the answer to send (§7.2 for protocol errors, the command's answer
format otherwise).
"""

from __future__ import annotations

from collections.abc import Callable

from .codec import Avp, Message, _dec_grouped, decode_value, make_avp
from .constants import (
    APPLICATION_VENDORS,
    AVP_FLAG_MANDATORY,
    AVP_FLAGS_RESERVED,
    MAX_GROUPED_DEPTH,
    ResultCode,
    is_protocol_error,
)
from .dictionary import (
    ANSWER_MESSAGE,
    AvpKey,
    Format,
    avp_def,
    command_def,
    find_avp_def,
    grouped_format,
    is_opaque_grouped,
    zero_data,
)
from .errors import DiameterParseError

_ANY = Format("*[AVP]", (), True)

Wrap = Callable[[Avp], Avp]


def _identity(avp: Avp) -> Avp:
    return avp


def _wrapper(outer: Avp, inner_wrap: Wrap) -> Wrap:
    """RFC 6733 §7.5: an offending AVP inside a Grouped AVP is reported inside a copy of the
    Grouped AVP holding only that AVP (recursively)."""

    def wrap(avp: Avp) -> Avp:
        return inner_wrap(
            Avp(outer.code, avp.encode(), flags=outer.flags, vendor_id=outer.vendor_id)
        )

    return wrap


def validate(message: Message) -> None:
    """Raise DiameterParseError if the message breaks its command's format.

    First re-raises ``message.decode_error`` (set by StreamParser on a partly decoded
    message). Only commands in the dictionary are checked; others pass. Checks, in order:
    requests: P bit as the command defines (3008); each AVP: reserved flag bits (3009),
    unknown with M bit (5001), more occurrences than allowed (5009), AVP not allowed by a
    format without *[AVP] (5008), fixed-size value length (5014), undecodable value (5004),
    Grouped content recursively; then missing required AVPs (5005, Failed-AVP holds a
    zero-filled example). Answers with the E bit are checked against §7.2 answer-message.
    """
    if message.decode_error is not None:
        raise message.decode_error
    cmd = command_def(message.command_code, message.application_id, message.request)
    if cmd is None:
        return
    if message.request and message.proxiable != cmd.proxiable:
        raise DiameterParseError(
            ResultCode.DIAMETER_INVALID_HDR_BITS,
            f"P bit {'set' if message.proxiable else 'clear'} in {cmd.name}",
        )
    fmt = ANSWER_MESSAGE if (message.error and not message.request) else cmd.format
    _check(message.avps, fmt, 0, _identity)


def _check(avps: list[Avp], fmt: Format, depth: int, wrap: Wrap) -> None:
    counts: dict[AvpKey, int] = {}
    for avp in avps:
        if avp.flags & AVP_FLAGS_RESERVED:
            raise DiameterParseError(
                ResultCode.DIAMETER_INVALID_AVP_BITS,
                f"AVP {avp.code}: reserved flag bits set (0x{avp.flags:02x})",
                failed_avp=wrap(avp),
            )
        key = (avp.code, avp.vendor_id)
        defn = find_avp_def(avp.code, avp.vendor_id)
        if defn is None:
            if avp.flags & AVP_FLAG_MANDATORY:
                raise DiameterParseError(
                    ResultCode.DIAMETER_AVP_UNSUPPORTED,
                    f"unsupported AVP {avp.code}"
                    + (f" (vendor {avp.vendor_id})" if avp.vendor_id is not None else "")
                    + " with the M bit",
                    failed_avp=wrap(avp),
                )
            continue
        count = counts.get(key, 0) + 1
        counts[key] = count
        rule = fmt.rule_for(key)
        if rule is None:
            if not fmt.allows_any:
                raise DiameterParseError(
                    ResultCode.DIAMETER_AVP_NOT_ALLOWED,
                    f"{defn.name} not allowed in {fmt.name}",
                    failed_avp=wrap(avp),
                )
        elif rule.max_count is not None and count > rule.max_count:
            raise DiameterParseError(
                ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES,
                f"{defn.name} occurs more than {rule.max_count} time(s) in {fmt.name}",
                failed_avp=wrap(avp),
            )
        if defn.type == "Grouped":
            _check_grouped(avp, key, depth, wrap)
        else:
            try:
                decode_value(defn, avp.data)
            except DiameterParseError as exc:
                exc.failed_avp = wrap(avp)
                raise
    for rule in fmt.rules:
        if rule.key is not None and counts.get(rule.key, 0) < rule.min_count:
            d = avp_def(rule.name)
            raise DiameterParseError(
                ResultCode.DIAMETER_MISSING_AVP,
                f"missing {rule.name} in {fmt.name}",
                failed_avp=wrap(Avp(d.code, zero_data(d), flags=d.flags, vendor_id=d.vendor_id)),
            )


def _check_grouped(avp: Avp, key: AvpKey, depth: int, wrap: Wrap) -> None:
    if depth >= MAX_GROUPED_DEPTH:
        raise DiameterParseError(
            ResultCode.DIAMETER_INVALID_AVP_VALUE,
            f"Grouped AVPs nested deeper than {MAX_GROUPED_DEPTH}",
            failed_avp=wrap(avp),
        )
    inner_wrap = _wrapper(avp, wrap)
    try:
        children = _dec_grouped(avp.data).avps
    except DiameterParseError as exc:
        exc.failed_avp = inner_wrap(exc.failed_avp) if exc.failed_avp is not None else wrap(avp)
        raise
    if is_opaque_grouped(key):
        return
    _check(children, grouped_format(key) or _ANY, depth + 1, inner_wrap)


def error_answer(
    request: Message, err: DiameterParseError, *, origin_host: str, origin_realm: str
) -> Message:
    """The answer to a request that failed ``Message.decode``/``StreamParser``/``validate``.

    Pass ``err.partial`` as ``request`` when the error came from ``Message.decode``. Protocol
    errors (3xxx) get the E bit and the RFC 6733 §7.2 answer-message format. Other errors
    keep the command's answer format: Vendor-Specific-Application-Id and Auth-Session-State
    are copied from the request when well-formed, else synthesised if the answer format
    requires them (vendor from ``APPLICATION_VENDORS``; NO_STATE_MAINTAINED), and so are
    Auth-Application-Id, CC-Request-Type and CC-Request-Number (Gx, Rx). Error-Message
    and Failed-AVP (§7.5) are added. CEA needs more (Host-IP-Address...): build it yourself.
    """
    ans = request.answer(err.result_code, origin_host=origin_host, origin_realm=origin_realm)
    if not is_protocol_error(err.result_code):
        _add_application_head(request, ans)
    ans.add("Error-Message", err.error_message)
    if err.failed_avp is not None:
        ans.add("Failed-AVP", [err.failed_avp])
    return ans


def _well_formed(avp: Avp) -> bool:
    try:
        _check([avp], _ANY, 0, _identity)
    except DiameterParseError:
        return False
    return True


def _add_application_head(request: Message, ans: Message) -> None:
    cmd = command_def(request.command_code, request.application_id, False)
    required = {r.name for r in cmd.format.rules if r.min_count > 0} if cmd is not None else set()
    at = 1 if ans.avps and ans.avps[0].code == 263 and ans.avps[0].vendor_id is None else 0
    head: list[Avp] = []
    vsai = request.find("Vendor-Specific-Application-Id")
    if vsai is not None and _well_formed(vsai):
        head.append(vsai.copy())
    elif "Vendor-Specific-Application-Id" in required:
        vendor = APPLICATION_VENDORS.get(request.application_id)
        if vendor is not None:
            head.append(
                make_avp(
                    "Vendor-Specific-Application-Id",
                    [("Vendor-Id", vendor), ("Auth-Application-Id", request.application_id)],
                )
            )
    state = request.find("Auth-Session-State")
    if state is not None and _well_formed(state):
        head.append(state.copy())
    elif "Auth-Session-State" in required:
        head.append(make_avp("Auth-Session-State", 1))  # RFC 6733 §8.11 NO_STATE_MAINTAINED
    # NASREQ-style applications (Gx, Rx) name themselves in Auth-Application-Id; credit
    # control answers echo CC-Request-Type/-Number (RFC 8506 §3.2).
    for name in _ECHOED:
        if name not in required:
            continue
        avp = request.find(name)
        if avp is not None and _well_formed(avp):
            head.append(avp.copy())
        else:
            head.append(make_avp(name, _SYNTHESISED.get(name, request.application_id)))
    ans.avps[at:at] = head


_ECHOED = ("Auth-Application-Id", "CC-Request-Type", "CC-Request-Number")
# When the request lacks them, the answer still needs the AVPs its format requires, or the
# peer rejects the answer itself: CC-Request-Type INITIAL_REQUEST and number 0 (the only
# request a peer can send without having a number yet, RFC 8506 §8.2/§8.3).
_SYNTHESISED = {"CC-Request-Type": 1, "CC-Request-Number": 0}
