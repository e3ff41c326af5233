"""HTTP Digest for SIP (RFC 2617, RFC 3261 §22.4, RFC 7616) and IMS AKA Digest (RFC 3310)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network_functions.protocols import aka
from network_functions.protocols.sip import digest
from network_functions.protocols.sip.digest import (
    Challenge,
    Credentials,
    DigestError,
    aka_nonce,
    compute_response,
    decode_auts,
    encode_auts,
    ha1,
    make_credentials,
    new_nonce,
    parse_challenge,
    parse_credentials,
    split_aka_nonce,
    verify,
)

pytestmark = pytest.mark.unit


def md5(s: str | bytes) -> str:
    return hashlib.md5(s.encode() if isinstance(s, str) else s).hexdigest()


# ------------------------------------------------------------------------------------------
# Golden examples from the RFCs

RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
# RFC 2617 §3.5, folded over several lines as in the RFC.
RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa",\r\n realm="testrealm@host.com",\r\n'
    ' nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",\r\n uri="/dir/index.html",\r\n'
    ' qop=auth,\r\n nc=00000001,\r\n cnonce="0a4f113b",\r\n'
    ' response="6629fae49393a05397450978507c4ef1",\r\n'
    ' opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_RESPONSE = "6629fae49393a05397450978507c4ef1"


def test_rfc2617_example_response() -> None:
    h1 = ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    resp = compute_response(
        h1,
        method="GET",
        uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert resp == RFC2617_RESPONSE


def test_rfc2617_example_parse_and_verify() -> None:
    c = parse_credentials(RFC2617_AUTHORIZATION)
    assert c == Credentials(
        username="Mufasa",
        realm="testrealm@host.com",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        uri="/dir/index.html",
        response=RFC2617_RESPONSE,
        algorithm="MD5",
        cnonce="0a4f113b",
        nc="00000001",
        qop="auth",
        opaque="5ccc069c403ebaf9f0171e9517f40e41",
    )
    good = ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    assert verify(c, method="GET", ha1_hex=good)
    assert verify(c, method="GET", ha1_hex=good.upper())
    assert not verify(c, method="GET", ha1_hex=ha1("Mufasa", "testrealm@host.com", "circle"))
    assert not verify(c, method="POST", ha1_hex=good)


def test_rfc2617_example_client_side() -> None:
    ch = parse_challenge(RFC2617_CHALLENGE)
    assert ch.qop_options == ("auth", "auth-int")
    c = make_credentials(
        username="Mufasa",
        realm=ch.realm,
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        challenge=ch,
        cnonce="0a4f113b",
    )
    assert c == parse_credentials(RFC2617_AUTHORIZATION)
    assert parse_credentials(c.to_header()) == c


def test_rfc7616_md5_example() -> None:
    # RFC 7616 §3.9.1, the MD5 variant.
    ch = parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    c = make_credentials(
        username="Mufasa",
        realm=ch.realm,
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        challenge=ch,
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert c.response == "8ca523f5e9506fed4657c9700eebdbec"
    assert c.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


# ------------------------------------------------------------------------------------------
# RFC 3261-style computations (checked against an independent hashlib computation)


def test_register_auth_computation() -> None:
    user, realm, pw = "bob", "biloxi.com", "zanzibar"
    nonce, cnonce, uri = "dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b", "sip:biloxi.com"
    h1 = md5(f"{user}:{realm}:{pw}")
    assert ha1(user, realm, pw) == h1
    expected = md5(f"{h1}:{nonce}:00000001:{cnonce}:auth:{md5('REGISTER:' + uri)}")
    got = compute_response(
        h1, method="REGISTER", uri=uri, nonce=nonce, qop="auth", nc="00000001", cnonce=cnonce
    )
    assert got == expected
    creds = Credentials(user, realm, nonce, uri, got, cnonce=cnonce, nc="00000001", qop="auth")
    assert verify(creds, method="REGISTER", ha1_hex=h1)
    assert not verify(creds, method="INVITE", ha1_hex=h1)


def test_rfc2069_form_without_qop() -> None:
    h1 = md5("bob:biloxi.com:zanzibar")
    expected = md5(f"{h1}:abc:{md5('INVITE:sip:bob@biloxi.com')}")
    ch = Challenge(realm="biloxi.com", nonce="abc", qop=None)
    assert ch.to_header() == 'Digest realm="biloxi.com", nonce="abc", algorithm=MD5'
    c = make_credentials(
        username="bob",
        realm="biloxi.com",
        password="zanzibar",
        method="INVITE",
        uri="sip:bob@biloxi.com",
        challenge=ch,
        cnonce="ignored",
    )
    assert (c.response, c.qop, c.nc, c.cnonce) == (expected, None, None, None)
    assert verify(c, method="INVITE", ha1_hex=h1)
    assert not verify(c, method="INVITE", ha1_hex=h1, require_qop=True)


def test_auth_int_covers_the_body() -> None:
    body = b"v=0\r\no=alice 2890844526 2890844526 IN IP4 host.atlanta.com\r\n"
    h1 = md5("alice:atlanta.com:secret")
    ha2 = md5(f"INVITE:sip:bob@biloxi.com:{md5(body)}")
    expected = md5(f"{h1}:n0nce:0000000a:c:auth-int:{ha2}")
    ch = Challenge(realm="atlanta.com", nonce="n0nce", qop="auth-int")
    c = make_credentials(
        username="alice",
        realm="atlanta.com",
        password="secret",
        method="INVITE",
        uri="sip:bob@biloxi.com",
        challenge=ch,
        cnonce="c",
        nc=10,
        body=body,
    )
    assert (c.qop, c.nc, c.response) == ("auth-int", "0000000a", expected)
    assert verify(c, method="INVITE", ha1_hex=h1, body=body)
    assert not verify(c, method="INVITE", ha1_hex=h1, body=body + b"x")
    empty = compute_response(
        h1, method="BYE", uri="sip:x", nonce="n", qop="auth-int", nc="00000001", cnonce="c"
    )
    assert empty == md5(f"{h1}:n:00000001:c:auth-int:{md5('BYE:sip:x:' + md5(b''))}")


def test_md5_sess() -> None:
    h1 = md5("u:r:p")
    sess = md5(f"{h1}:NONCE:CN")
    ch = Challenge(realm="r", nonce="NONCE", algorithm="MD5-sess")
    c = make_credentials(
        username="u", realm="r", password="p", method="GET", uri="/x", challenge=ch, cnonce="CN"
    )
    assert c.response == md5(f"{sess}:NONCE:00000001:CN:auth:{md5('GET:/x')}")
    assert verify(c, method="GET", ha1_hex=h1)
    with pytest.raises(DigestError):
        make_credentials(
            username="u",
            realm="r",
            password="p",
            method="GET",
            uri="/x",
            challenge=Challenge(realm="r", nonce="N", algorithm="MD5-sess", qop=None),
        )


def test_make_credentials_choices() -> None:
    ch = Challenge(realm="r", nonce="n", qop="auth-int, auth")
    c = make_credentials(username="u", realm="r", password="p", method="M", uri="u", challenge=ch)
    assert c.qop == "auth"
    assert c.cnonce is not None and len(c.cnonce) == 16
    assert c.nc == "00000001"
    with pytest.raises(DigestError, match="no supported qop"):
        make_credentials(
            username="u",
            realm="r",
            password="p",
            method="M",
            uri="u",
            challenge=Challenge(realm="r", nonce="n", qop="auth-conf"),
        )
    with pytest.raises(DigestError, match="unsupported algorithm"):
        make_credentials(
            username="u",
            realm="r",
            password="p",
            method="M",
            uri="u",
            challenge=Challenge(realm="r", nonce="n", algorithm="SHA-256"),
        )
    with pytest.raises(ValueError):
        make_credentials(
            username="u", realm="r", password="p", method="M", uri="u", challenge=ch, nc=0
        )


def test_compute_response_rejects_unknown_qop() -> None:
    with pytest.raises(DigestError, match="unsupported qop"):
        compute_response("0" * 32, method="M", uri="u", nonce="n", qop="x", nc="1", cnonce="c")
    with pytest.raises(DigestError):
        compute_response("0" * 32, method="M", uri="u", nonce="n", qop="auth", nc=None, cnonce="c")


def test_verify_returns_false_rather_than_raising() -> None:
    base = Credentials("u", "r", "n", "/", "0" * 32, cnonce="c", nc="00000001", qop="auth")
    h1 = md5("u:r:p")
    assert not verify(base, method="GET", ha1_hex=h1)
    weird = Credentials("u", "r", "n", "/", "réponse", cnonce="c", nc="00000001", qop="auth")
    assert not verify(weird, method="GET", ha1_hex=h1)
    other_alg = Credentials("u", "r", "n", "/", "0" * 32, algorithm="SHA-256")
    assert not verify(other_alg, method="GET", ha1_hex=h1)
    other_qop = Credentials("u", "r", "n", "/", "0" * 32, cnonce="c", nc="00000001", qop="x")
    assert not verify(other_qop, method="GET", ha1_hex=h1)
    sess_no_cnonce = Credentials("u", "r", "n", "/", "0" * 32, algorithm="MD5-sess")
    assert not verify(sess_no_cnonce, method="GET", ha1_hex=h1)


# ------------------------------------------------------------------------------------------
# IMS AKA (RFC 3310)

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
IMPI = "user1_private@home1.net"
REALM = "home1.net"


def test_aka_nonce_layout() -> None:
    rand, autn = bytes(range(16)), bytes(range(16, 32))
    nonce = aka_nonce(rand, autn, b"srv")
    assert base64.b64decode(nonce) == rand + autn + b"srv"
    assert split_aka_nonce(nonce) == (rand, autn, b"srv")
    assert split_aka_nonce(aka_nonce(rand, autn)) == (rand, autn, b"")
    # Tolerate a nonce whose '=' padding was dropped.
    assert split_aka_nonce(aka_nonce(rand, autn, b"x").rstrip("="))[2] == b"x"
    with pytest.raises(ValueError):
        aka_nonce(rand[:15], autn)


@pytest.mark.parametrize(
    "bad",
    ["", "AAAA", base64.b64encode(bytes(31)).decode(), "not base64!", "é", "AA=A", "\ud800"],
)
def test_split_aka_nonce_rejects(bad: str) -> None:
    with pytest.raises(DigestError):
        split_aka_nonce(bad)


def test_initial_ims_register_authorization() -> None:
    # TS 24.229 §5.1.1.2.1: the first REGISTER carries empty nonce and response.
    c = parse_credentials(
        'Digest username="user1_private@home1.net", realm="home1.net", nonce="", '
        'uri="sip:home1.net", response=""'
    )
    assert (c.nonce, c.response, c.algorithm, c.qop) == ("", "", "MD5", None)
    assert parse_credentials(c.to_header()) == c


def _aka_exchange(sqn_hss: int, sqn_ms: int) -> tuple[Credentials, aka.AkaVector, str]:
    # S-CSCF: a vector from the HSS, the challenge of RFC 3310 §3.2.
    v = aka.generate_vector(K, OPC, sqn_hss)
    ch = Challenge(realm=REALM, nonce=aka_nonce(v.rand, v.autn), algorithm="AKAv1-MD5", qop="auth")
    header = ch.to_header()
    # UE: parse, run the USIM, answer with RES as the password (RFC 3310 §3.3).
    got = parse_challenge(header)
    rand, autn, _ = split_aka_nonce(got.nonce)
    uri = "sip:home1.net"
    try:
        r = aka.ue_authenticate(K, OPC, rand, autn, sqn_ms=sqn_ms)
    except aka.SyncFailure as e:
        # RFC 3310 §3.4: empty password plus the auts parameter.
        c = make_credentials(
            username=IMPI,
            realm=REALM,
            password=b"",
            method="REGISTER",
            uri=uri,
            challenge=got,
            auts=e.auts,
        )
    else:
        c = make_credentials(
            username=IMPI, realm=REALM, password=r.res, method="REGISTER", uri=uri, challenge=got
        )
    return parse_credentials(c.to_header()), v, got.nonce


def test_ims_aka_register_round_trip() -> None:
    c, v, nonce = _aka_exchange(sqn_hss=0x40, sqn_ms=0x20)
    assert c.algorithm == "AKAv1-MD5" and c.auts is None and c.nonce == nonce
    # S-CSCF: HA1 from XRES (RFC 3310 §3.3).
    assert verify(c, method="REGISTER", ha1_hex=ha1(IMPI, REALM, v.xres))
    assert not verify(c, method="REGISTER", ha1_hex=ha1(IMPI, REALM, bytes(8)))


def test_ims_aka_resync_round_trip() -> None:
    c, v, _ = _aka_exchange(sqn_hss=0x40, sqn_ms=0x1000)
    assert c.auts is not None
    # The response uses the empty password; the S-CSCF passes RAND and AUTS to the HSS.
    assert verify(c, method="REGISTER", ha1_hex=ha1(IMPI, REALM, b""))
    assert aka.resync(K, OPC, v.rand, decode_auts(c.auts)) == 0x1000


def test_auts_codec() -> None:
    auts = bytes(range(14))
    assert decode_auts(encode_auts(auts)) == auts
    with pytest.raises(ValueError):
        encode_auts(bytes(13))
    for bad in (base64.b64encode(bytes(13)).decode(), "!!", ""):
        with pytest.raises(DigestError):
            decode_auts(bad)


def test_new_nonce() -> None:
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    n = nonces.pop()
    assert len(n) == 32
    assert parse_challenge(Challenge(realm="r", nonce=n).to_header()).nonce == n


# ------------------------------------------------------------------------------------------
# Parsing: tolerance


def test_tolerant_parsing() -> None:
    c = parse_credentials(
        'digest   USERNAME = "a\\"b\\\\c" ,, Realm="r",nonce= "n" ,URI="sip:x",'
        'response="00",  QOP="auth", NC="0000000F", cnonce=c1, Algorithm=md5, foo=bar,'
    )
    assert c.username == 'a"b\\c'
    assert (c.realm, c.nonce, c.uri, c.qop, c.nc, c.cnonce, c.algorithm) == (
        "r",
        "n",
        "sip:x",
        "auth",
        "0000000F",
        "c1",
        "md5",
    )
    assert parse_credentials(c.to_header()) == c


def test_challenge_parsing_defaults_and_flags() -> None:
    ch = parse_challenge('Digest realm="r", nonce="n"')
    assert ch == Challenge(realm="r", nonce="n", algorithm="MD5", qop=None)
    assert ch.qop_options == ()
    assert parse_challenge('Digest realm="r", nonce="n", stale=TRUE').stale
    assert parse_challenge('Digest realm="r", nonce="n", stale="true"').stale
    assert not parse_challenge('Digest realm="r", nonce="n", stale=false').stale
    full = Challenge(realm="r", nonce="n", algorithm="AKAv1-MD5", opaque="o", stale=True)
    assert full.to_header() == (
        'Digest realm="r", nonce="n", algorithm=AKAv1-MD5, qop="auth", opaque="o", stale=true'
    )
    assert parse_challenge(full.to_header()) == full
    # Tabs, folding and unquoted values.
    assert parse_challenge("Digest\trealm=r,\r\n\tnonce=abc/def==").nonce == "abc/def=="


def test_username_star() -> None:
    c = parse_credentials(
        'Digest username*=UTF-8\'\'J%C3%A4s%C3%B8n%20Doe, realm="r", nonce="n", '
        'uri="/", response=""'
    )
    assert c.username == "Jäsøn Doe"
    for bad in ("ISO-8859-1''x", "x", "UTF-8''%ff"):
        with pytest.raises(DigestError):
            parse_credentials(f'Digest username*={bad}, realm="r", nonce="n", uri="/", response=""')
    with pytest.raises(DigestError, match="both"):
        parse_credentials(
            'Digest username="a", username*=UTF-8\'\'a, realm="r", nonce="n", uri="/", response=""'
        )


# ------------------------------------------------------------------------------------------
# Parsing: errors

_CRED = {
    "username": '"u"',
    "realm": '"r"',
    "nonce": '"n"',
    "uri": '"sip:x"',
    "response": '"00"',
}


def _cred_header(params: dict[str, str]) -> str:
    return "Digest " + ", ".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("missing", list(_CRED))
def test_credentials_missing_parameter(missing: str) -> None:
    params = {k: v for k, v in _CRED.items() if k != missing}
    with pytest.raises(DigestError) as ei:
        parse_credentials(_cred_header(params))
    assert ei.value.reason == f"credentials: missing {missing} parameter"
    assert ei.value.status == 400


@pytest.mark.parametrize("missing", ["realm", "nonce"])
def test_challenge_missing_parameter(missing: str) -> None:
    params = {"realm": '"r"', "nonce": '"n"'}
    del params[missing]
    with pytest.raises(DigestError, match=f"missing {missing}"):
        parse_challenge(_cred_header(params))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('Basic realm="r"', "unsupported auth-scheme"),
        ("", "missing auth-scheme"),
        ("   ", "missing auth-scheme"),
        ('Digest realm="r", realm="s", nonce="n"', "duplicate parameter"),
        ('Digest realm="r, nonce="n"', "expected ','"),
        ('Digest realm="r', "unterminated quoted-string"),
        ('Digest realm="r\\', "unterminated quoted-pair"),
        ('Digest realm="a\nb", nonce="n"', "control character"),
        ('Digest realm="a\x00b", nonce="n"', "control character"),
        ("Digest realm=a\x01b, nonce=n", "control character"),
        ('Digest realm, nonce="n"', "has no value"),
        ('Digest realm=, nonce="n"', "empty value"),
        ('Digest realm="r" nonce="n"', "expected ','"),
        ('Digest =x, realm="r"', "where a parameter was expected"),
        ('Digest, realm="r"', "bad character after auth-scheme"),
        ('Digest realm="r", nonce="n", algorithm="MD 5"', "algorithm is not a token"),
        ("Digest " + ", ".join(f"p{i}=x" for i in range(70)), "more than"),
        ('Digest realm="' + "r" * 9000 + '"', "longer than"),
    ],
)
def test_challenge_errors(value: str, reason: str) -> None:
    with pytest.raises(DigestError) as ei:
        parse_challenge(value)
    assert reason in ei.value.reason


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("qop=auth, nc=00000001", "qop without cnonce"),
        ('qop=auth, cnonce="c"', "qop without nc"),
        ('qop=auth, cnonce="c", nc=1', "nc is not 8 hex digits"),
        ('nc="0000000g"', "nc is not 8 hex digits"),
        ('qop="auth auth-int", cnonce="c", nc=00000001', "qop is not a token"),
        ('algorithm="a b"', "algorithm is not a token"),
    ],
)
def test_credentials_errors(extra: str, reason: str) -> None:
    with pytest.raises(DigestError) as ei:
        parse_credentials(_cred_header(_CRED) + ", " + extra)
    assert reason in ei.value.reason


def test_non_text_input() -> None:
    with pytest.raises(DigestError, match="must be text"):
        parse_challenge(b'Digest realm="r", nonce="n"')  # type: ignore[arg-type]


def test_header_injection_is_refused() -> None:
    with pytest.raises(DigestError, match="control character in realm"):
        Challenge(realm="r\r\nVia: SIP/2.0/UDP evil", nonce="n")
    with pytest.raises(DigestError):
        Credentials("u\n", "r", "n", "/", "")
    with pytest.raises(DigestError, match="algorithm"):
        Challenge(realm="r", nonce="n", algorithm="MD5, qop=auth")
    with pytest.raises(DigestError, match="nc"):
        Credentials("u", "r", "n", "/", "", nc="1")
    with pytest.raises(DigestError, match="qop"):
        Credentials("u", "r", "n", "/", "", qop="auth, x")
    with pytest.raises(DigestError, match="invalid character"):
        Challenge(realm="\ud800", nonce="n")


def test_surrogateescaped_octets_hash_as_raw_octets() -> None:
    # A SIP layer that decodes with errors="surrogateescape" keeps raw octets recoverable.
    raw_user = b"caf\xe9"  # Latin-1, not UTF-8
    user = raw_user.decode("utf-8", "surrogateescape")
    c = parse_credentials(f'Digest username="{user}", realm="r", nonce="n", uri="/", response=""')
    assert c.username == user
    assert ha1(user, "r", "p") == md5(raw_user + b":r:p")


# ------------------------------------------------------------------------------------------
# Property tests

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")),
    max_size=40,
)


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_parse_arbitrary_text_raises_only_digest_error(value: str) -> None:
    for parse in (parse_challenge, parse_credentials):
        try:
            parse(value)
        except DigestError:
            pass
        try:
            parse("Digest " + value)
        except DigestError:
            pass


_names = st.sampled_from(
    [
        "realm",
        "nonce",
        "username",
        "uri",
        "response",
        "qop",
        "nc",
        "cnonce",
        "algorithm",
        "opaque",
        "stale",
        "auts",
        "username*",
        "REALM",
        "x",
    ]
)
_values = st.one_of(
    st.text(max_size=12),
    st.from_regex(r'"[^"\\]{0,8}(\\.[^"\\]{0,4})?"', fullmatch=True),
    st.sampled_from(["auth", "auth-int", "00000001", "MD5", "AKAv1-MD5", "true", '""']),
)


@settings(max_examples=300)
@given(st.lists(st.tuples(_names, _values), max_size=12), st.sampled_from([",", ", ", " ,", ""]))
def test_parse_near_valid_headers_raises_only_digest_error(
    params: list[tuple[str, str]], sep: str
) -> None:
    value = "Digest " + sep.join(f"{k}={v}" for k, v in params)
    for parse in (parse_challenge, parse_credentials):
        try:
            result = parse(value)
        except DigestError:
            continue
        # Whatever parsed must format and parse back to the same thing.
        assert parse(result.to_header()) == result


@given(
    realm=_text,
    nonce=_text,
    algorithm=st.sampled_from(["MD5", "AKAv1-MD5", "MD5-sess"]),
    qop=st.sampled_from([None, "auth", "auth,auth-int", "auth-int"]),
    opaque=st.none() | _text,
    stale=st.booleans(),
)
def test_challenge_round_trip(
    realm: str, nonce: str, algorithm: str, qop: str | None, opaque: str | None, stale: bool
) -> None:
    ch = Challenge(realm, nonce, algorithm, qop, opaque, stale)
    assert parse_challenge(ch.to_header()) == ch


@given(
    username=_text,
    realm=_text,
    nonce=_text,
    uri=_text,
    response=_text,
    cnonce=_text,
    opaque=st.none() | _text,
    auts=st.none() | _text,
    nc=st.integers(min_value=1, max_value=0xFFFFFFFF),
)
def test_credentials_round_trip(
    username: str,
    realm: str,
    nonce: str,
    uri: str,
    response: str,
    cnonce: str,
    opaque: str | None,
    auts: str | None,
    nc: int,
) -> None:
    c = Credentials(
        username, realm, nonce, uri, response, "MD5", cnonce, f"{nc:08x}", "auth", opaque, auts
    )
    assert parse_credentials(c.to_header()) == c


@settings(deadline=None)
@given(password=st.text(max_size=20) | st.binary(max_size=16), body=st.binary(max_size=64))
def test_client_and_server_agree(password: str | bytes, body: bytes) -> None:
    if isinstance(password, str):
        password = password.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    for qop in ("auth", "auth-int"):
        ch = Challenge(realm="ims.example", nonce=new_nonce(), qop=qop)
        c = make_credentials(
            username="alice@ims.example",
            realm=ch.realm,
            password=password,
            method="REGISTER",
            uri="sip:ims.example",
            challenge=ch,
            body=body,
        )
        h1 = ha1("alice@ims.example", ch.realm, password)
        assert verify(parse_credentials(c.to_header()), method="REGISTER", ha1_hex=h1, body=body)


def test_module_limits_are_named() -> None:
    assert digest.MAX_HEADER_LEN == 8192
    assert digest.MAX_PARAMS == 64
