"""EPS security against published data: key derivation (TS 33.401 Annex A on the TS 33.220
B.2 KDF), 128-EEA2 / 128-EIA2 (Annex C) and the NAS security context (TS 24.301 §4.4, §9.1).

3GPP publishes no test data for the EPS KDF, so the expected values come from the test suites
of two independent open-source implementations that are interoperability-tested against
commercial UEs and networks, and the two agree with each other and with this module:

* srsRAN 4G, ``lib/test/common/test_security_kdf.cc`` (github.com/srsran/srsRAN_4G):
  K_ASME from CK/IK/AK/SQN with MCC 001 / MNC 01, K_NASint for 128-EIA1, K_eNB for
  NAS COUNT 0.
* OpenAirInterface, ``openair-cn/TEST/test_secu_knas.c`` and ``test_secu_kenb.c``
  (github.com/chunyeow/openairinterface5g): K_NASenc / K_NASint for algorithm
  identities 0, 1, 2 and K_eNB for several uplink NAS COUNTs.

The PLMN encoding (TS 24.301 §9.9.3.32) is cross-checked against pycrate's independent
TS 24.008 PLMN codec. The K_ASME vector exercises it too (the serving network identity is
derived from MCC/MNC inside srsRAN's function).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrate_mobile.TS24008_IE import PLMN

from network_functions.protocols import kdf
from network_functions.protocols.kdf import KdfError
from network_functions.protocols.nas import security
from network_functions.protocols.nas.errors import NasError, NasMacFailure

pytestmark = pytest.mark.unit

H = bytes.fromhex


# --- K_ASME, TS 33.401 A.2 -------------------------------------------------------------------


def test_kasme_srsran_vector() -> None:
    ck = H("7bc15d69309cf3ec5d324404edd6f0f9")
    ik = H("c15d69309cf3ec5d324404edd6f0f97b")
    ak = H("5d69309cf3ec")
    sqn = H("0000000012d9")
    sqn_xor_ak = bytes(a ^ b for a, b in zip(sqn, ak, strict=True))
    expected = H("d5ef4d8f33266902295d42f322a2f2cf11fb2ccc124c09b4d88d361597037990")
    assert kdf.kasme(ck, ik, kdf.plmn_bytes("001", "01"), sqn_xor_ak) == expected


def test_kasme_depends_on_every_input() -> None:
    ck, ik, plmn, sqn = H("00" * 16), H("11" * 16), kdf.plmn_bytes("001", "01"), H("22" * 6)
    base = kdf.kasme(ck, ik, plmn, sqn)
    assert kdf.kasme(H("01" + "00" * 15), ik, plmn, sqn) != base
    assert kdf.kasme(ck, H("10" + "11" * 15), plmn, sqn) != base
    assert kdf.kasme(ck, ik, kdf.plmn_bytes("001", "001"), sqn) != base
    assert kdf.kasme(ck, ik, plmn, H("22" * 5 + "23")) != base


# --- K_NASenc / K_NASint, TS 33.401 A.7 ----------------------------------------------------


# (K_ASME, algorithm identity, full 256-bit NAS-enc output, full 256-bit NAS-int output), OAI.
OAI_NAS = [
    (
        "70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C",
        0,
        "64BA839B29C451085C552F4DE9D278B263CB5BDD7FC21A38120637B2A9E5CD39",
        "A66A2D198AF2A8D6A5FF2FAA51676037DF204187C61EDD3AAA70F3B7D8B59E8B",
    ),
    (
        "70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C",
        1,
        "DF8FEBA477891617C42FB16F750E572C9E59ED7564879150F6BB0DAEF5932E89",
        "EA1158BA3F387BC96C967BC32FB43F65AE172A3267343479CAA826034A90A250",
    ),
    (
        "70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C",
        2,
        "99D63BD2D43AF81EBB7599F7E8F8B3E81CF7897F31D6270C19C4836070FE11F0",
        "FC7A3850D19AE29EC7000B9DF98787F11A4329FD23FD3A93C9D2D92D853EC9DB",
    ),
    (
        "9EA141DA4B24CDEBC8F5FB3F61A0511216681F121199B23EBCFACC75B358BE43",
        2,
        "2A6854D25282FFD738FA8BBCFDCE853C0C4DFB9F559DCBB71D5120DB2CAC66A6",
        "5EDCAE62A35BC42399C55F64ECAE7B17524BED1ED1601218D2772E55DDFAD959",
    ),
    (
        "546A79BC6D1613A72A4D631EE0351D66036B2A0C44A3831BE6D365E24F023013",
        2,
        "7BD2A0864452D3D9EDE3B2E38A9958777F231AC4F4B9AF3FC8CE0E1EAAB425A7",
        "89E8049EBE9374F238B0F3278EEA47D9BF8877111D99D6378FFF66FEBB06F3F8",
    ),
]


@pytest.mark.parametrize(("kasme", "alg", "enc", "integ"), OAI_NAS)
def test_nas_keys_oai_vectors(kasme: str, alg: int, enc: str, integ: str) -> None:
    # The generic KDF gives the full 256 bits; nas_keys keeps the 16 least significant octets.
    assert kdf.kdf(H(kasme), kdf.FC_NAS_ALG, b"\x01", bytes((alg,))) == H(enc)
    assert kdf.kdf(H(kasme), kdf.FC_NAS_ALG, b"\x02", bytes((alg,))) == H(integ)
    k_enc, k_int = kdf.nas_keys(H(kasme), alg, alg)
    assert (k_enc, k_int) == (H(enc)[16:], H(integ)[16:])


def test_nas_int_key_srsran_vector() -> None:
    kasme = H("d5ef4d8f33266902295d42f322a2f2cf11fb2ccc124c09b4d88d361597037990")
    full = H("b855871d17d4a717e931d9a6069c6e54b79408e243dd367dc8c6392295b3b451")
    _, k_int = kdf.nas_keys(kasme, 0, 1)  # EEA0, 128-EIA1
    assert k_int == full[16:]


def test_nas_keys_enc_and_int_algorithms_are_independent() -> None:
    kasme = H("ab" * 32)
    enc2, int2 = kdf.nas_keys(kasme, 2, 2)
    enc0, int2b = kdf.nas_keys(kasme, 0, 2)
    assert int2 == int2b and enc0 != enc2 and len(enc2) == len(int2) == 16


# --- K_eNB, TS 33.401 A.3 --------------------------------------------------------------------


KENB = [
    # srsRAN
    (
        "6144c681d1bea9dae1b8cf6cd10a686341db8046a1e7a9ab4d1ea0e33c994ac0",
        0,
        "c4c7bc798ab94e3d354cd6608e79aa92f5569df46519507850051e36f018ca5f",
    ),
    # OAI
    (
        "238E457E0F758BADBCA8D34BB2612C10428D426757CB5553B2B184FA64BFC549",
        0xDB1A3569,
        "8EB1BF0083BD79281EF7034BF677E9EC529F196E15287514A2D122ACF713B8E8",
    ),
    (
        "564CB4D2007E4F293B67D9B29392A64ADD4C776B133D895AF6499AA6882AAB62",
        0x001FB39C,
        "009010688F85855E218339DE6C5BD7B6394958DA12DDFBF7559E978CE43408F1",
    ),
    (
        "FA77E41F693C2A6E71455CB8687E6E6058EF91E2F5ABD1BD3C496179481F308C",
        0x00000012,
        "0AFE81266DE52B8C8F1C3F4FE799BE883F364B018E7368C41F14DD6D050E13E1",
    ),
    (
        "70D7071AA016A087F9D888AD51F3A83E2C83443AB27843B35BD1B4923615091C",
        0xAABBCCDD,
        "158781A2FDF2CE53ABFA186D22EB751DECB8273471DC792B5016C9016947D1AE",
    ),
]


@pytest.mark.parametrize(("kasme", "count", "expected"), KENB)
def test_kenb_vectors(kasme: str, count: int, expected: str) -> None:
    assert kdf.kenb(H(kasme), count) == H(expected)


# --- the generic KDF, TS 33.220 B.2 ----------------------------------------------------------


def test_kdf_string_layout() -> None:
    # S = FC || P0 || L0 || P1 || L1: check the framing by building S by hand.
    import hashlib
    import hmac

    key = bytes(range(32))
    s = b"\x42" + b"abc" + b"\x00\x03" + b"" + b"\x00\x00" + b"z" * 300 + b"\x01\x2c"
    assert kdf.kdf(key, 0x42, b"abc", b"", b"z" * 300) == hmac.digest(key, s, hashlib.sha256)


@pytest.mark.parametrize(
    "call",
    [
        lambda: kdf.kdf(b"short", 0x10),
        lambda: kdf.kdf(b"\0" * 32, 256),
        lambda: kdf.kdf(b"\0" * 32, 0x10, b"\0" * 65536),
        lambda: kdf.kasme(b"\0" * 15, b"\0" * 16, b"\0" * 3, b"\0" * 6),
        lambda: kdf.kasme(b"\0" * 16, b"\0" * 16, b"\0" * 2, b"\0" * 6),
        lambda: kdf.kasme(b"\0" * 16, b"\0" * 16, b"\0" * 3, "abcdef"),  # type: ignore[arg-type]
        lambda: kdf.nas_keys(b"\0" * 32, 8, 0),
        lambda: kdf.nas_keys(b"\0" * 32, 0, -1),
        lambda: kdf.kenb(b"\0" * 32, 2**32),
        lambda: kdf.kenb(b"\0" * 31, 0),
        lambda: kdf.plmn_bytes("01", "01"),
        lambda: kdf.plmn_bytes("001", "1"),
        lambda: kdf.plmn_bytes("001", "0a1"),
        lambda: kdf.plmn_bytes("\uff10\uff101", "01"),
    ],
)
def test_bad_arguments_raise_kdf_error(call: object) -> None:
    with pytest.raises(KdfError):
        call()  # type: ignore[operator]


# --- PLMN identity, TS 24.301 §9.9.3.32 -----------------------------------------------------


@pytest.mark.parametrize(
    ("mcc", "mnc", "wire"),
    [
        ("001", "01", "00f110"),
        ("310", "260", "130062"),
        ("208", "93", "02f839"),
        ("999", "999", "999999"),
    ],
)
def test_plmn_bytes(mcc: str, mnc: str, wire: str) -> None:
    assert kdf.plmn_bytes(mcc, mnc) == H(wire)


@given(
    mcc=st.text(alphabet="0123456789", min_size=3, max_size=3),
    mnc=st.text(alphabet="0123456789", min_size=2, max_size=3),
)
def test_plmn_bytes_matches_pycrate(mcc: str, mnc: str) -> None:
    ref = PLMN()
    ref.encode(mcc + mnc)
    assert kdf.plmn_bytes(mcc, mnc) == ref.to_bytes()


# --- 128-EEA2 / 128-EIA2, TS 33.401 Annex C -------------------------------------------------
#
# Test sets of TS 33.401 Annex C.1 (128-EEA2) and C.2 (128-EIA2), as also carried by the
# OpenAirInterface (openair-cn/TEST/test_secu_knas_encrypt_eea2.c / _eia2.c) and srsRAN Project
# (tests/unittests/security/security_test.cpp, "TS 33.501 D.4.4, TS 33.401 C.1") test suites.
# Lengths are in bits: the last octet of a non-aligned set is compared on its leading bits.

EEA2_SETS = [
    (  # C.1.1
        "d3c5d592327fb11c4035c6680af8c6d1",
        0x398A59B4,
        0x15,
        1,
        253,
        "981ba6824c1bfb1ab485472029b71d808ce33e2cc3c0b5fc1f3de8a6dc66b1f0",
        "e9fed8a63d155304d71df20bf3e82214b20ed7dad2f233dc3c22d7bdeeed8e78",
    ),
    (  # C.1.2
        "2bd6459f82c440e0952c49104805ff48",
        0xC675A64B,
        0x0C,
        1,
        798,
        "7ec61272743bf1614726446a6c38ced166f6ca76eb5430044286346cef130f92"
        "922b03450d3a9975e5bd2ea0eb55ad8e1b199e3ec4316020e9a1b285e7627953"
        "59b7bdfd39bef4b2484583d5afe082aee638bf5fd5a606193901a08f4ab41aab"
        "9b134880",
        "5961605353c64bdca15b195e288553a910632506d6200aa790c4c806c99904cf"
        "2445cc50bb1cf168a49673734e081b57e324ce5259c0e78d4cd97b870976503c"
        "0943f2cb5ae8f052c7b7d392239587b8956086bcab18836042e2e6ce42432a17"
        "105c53d0",
    ),
    (  # C.1.3
        "0a8b6bd8d9b08b08d64e32d1817777fb",
        0x544D49CD,
        0x04,
        0,
        310,
        "fd40a41d370a1f65745095687d47ba1d36d2349e23f644392c8ea9c49d40c13271aff264d0f248",
        "75750d37b4bba2a4dedb34235bd68c6645acdaaca48138a3b0c471e2a7041a576423d2927287f0",
    ),
    (  # C.1.4
        "aa1f95aea533bcb32eb63bf52d8f831a",
        0x72D8C671,
        0x10,
        1,
        1022,
        "fb1b96c5c8badfb2e8e8edfde78e57f2ad81e74103fc430a534dcc37afcec70e"
        "1517bb06f27219dae49022ddc47a068de4c9496a951a6b09edbdc864c7adbd74"
        "0ac50c022f3082bafd22d78197c5d508b977bca13f32e652e74ba728576077ce"
        "628c535e87dc6077ba07d29068590c8cb5f1088e082cfa0ec961302d69cf3d44",
        "dfb440acb3773549efc04628aeb8d8156275230bdc690d94b00d8d95f28c4b56"
        "307f60f4ca55eba661ebba72ac808fa8c49e26788ed04a5d606cb418de74878b"
        "9a22f8ef29590bc4eb57c9faf7c41524a885b8979c423f2f8f8e0592a9879201"
        "be7ff9777a162ab810feb324ba74c4c156e04d39097209653ac33e5a5f2d8864",
    ),
]

EIA2_SETS = [
    (  # C.2.2
        "d3c5d592327fb11c4035c6680af8c6d1",
        0x398A59B4,
        0x1A,
        1,
        "484583d5afe082ae",
        "b93787e6",
    ),
    (  # C.2.5
        "83fd23a244a74cf358da3019f1722635",
        0x36AF6144,
        0x0F,
        1,
        "35c68716633c66fb750c266865d53c11ea05b1e9fa49c8398d48e1efa5909d39"
        "47902837f5ae96d5a05bc8d61ca8dbef1b13a4b4abfe4fb1006045b674bb5472"
        "9304c382be53a5af05556176f6eaa2ef1d05e4b083181ee674cda5a485f74d7a",
        "e657e182",
    ),
]


def _mask(data: bytes, bits: int) -> bytes:
    n = (bits + 7) // 8
    out = bytearray(data[:n])
    if bits % 8:
        out[-1] &= (0xFF << (8 - bits % 8)) & 0xFF
    return bytes(out)


@pytest.mark.parametrize(("key", "count", "bearer", "direction", "bits", "pt", "ct"), EEA2_SETS)
def test_eea2_annex_c1(
    key: str, count: int, bearer: int, direction: int, bits: int, pt: str, ct: str
) -> None:
    out = security.eea2(H(key), count, bearer, direction, _mask(H(pt), bits))
    assert _mask(out, bits) == _mask(H(ct), bits)
    # CTR mode: the same operation deciphers.
    assert _mask(security.eea2(H(key), count, bearer, direction, out), bits) == _mask(H(pt), bits)


@pytest.mark.parametrize(("key", "count", "bearer", "direction", "msg", "mac"), EIA2_SETS)
def test_eia2_annex_c2(
    key: str, count: int, bearer: int, direction: int, msg: str, mac: str
) -> None:
    assert security.eia2(H(key), count, bearer, direction, H(msg)) == H(mac)
    # Any change of COUNT, BEARER, DIRECTION or message changes the MAC.
    assert security.eia2(H(key), count ^ 1, bearer, direction, H(msg)) != H(mac)
    assert security.eia2(H(key), count, bearer ^ 1, direction, H(msg)) != H(mac)
    assert security.eia2(H(key), count, bearer, direction ^ 1, H(msg)) != H(mac)
    assert security.eia2(H(key), count, bearer, direction, H(msg) + b"\0") != H(mac)


def test_null_algorithms() -> None:
    assert security.eia(security.EIA0, b"\0" * 16, 5, 0, b"abc") == b"\0\0\0\0"
    assert security.eea(security.EEA0, b"\0" * 16, 5, 0, b"abc") == b"abc"
    with pytest.raises(ValueError):
        security.eia(1, b"\0" * 16, 0, 0, b"")
    with pytest.raises(ValueError):
        security.eea(3, b"\0" * 16, 0, 0, b"")


# --- NAS security context, TS 24.301 §4.4 / §9.1 --------------------------------------------

KASME = H("d5ef4d8f33266902295d42f322a2f2cf11fb2ccc124c09b4d88d361597037990")
# An EMM STATUS (PD 7, type 0x60, cause #111): any plain EMM message will do.
PLAIN = b"\x07\x60\x6f"


def _pair(
    enc: int = security.EEA2, integ: int = security.EIA2
) -> tuple[security.NasSecurityContext, security.NasSecurityContext]:
    mme = security.NasSecurityContext(kasme=KASME, ksi=1, enc_alg=enc, int_alg=integ, network=True)
    ue = security.NasSecurityContext(kasme=KASME, ksi=1, enc_alg=enc, int_alg=integ, network=False)
    return mme, ue


def test_protect_layout_matches_spec() -> None:
    mme, _ = _pair()
    k_enc, k_int = kdf.nas_keys(KASME, 2, 2)
    wire = mme.protect(PLAIN, security.SEC_HDR_INTEGRITY_CIPHERED)
    # TS 24.301 §9.1: sec header type 2 | PD 7, MAC(4), SN, ciphered message.
    assert wire[0] == 0x27 and wire[5] == 0
    ciphered = security.eea2(k_enc, 0, 0, security.DOWNLINK, PLAIN)
    assert wire[6:] == ciphered
    assert wire[1:5] == security.eia2(k_int, 0, 0, security.DOWNLINK, b"\x00" + ciphered)
    # Integrity only (SMC, type 3): the message travels in clear.
    smc = mme.protect(PLAIN, security.SEC_HDR_INTEGRITY_NEW_CTX)
    assert smc[0] == 0x37 and smc[5] == 1 and smc[6:] == PLAIN
    assert mme.dl_count == 2


@pytest.mark.parametrize("header_type", [1, 2, 3, 4])
@pytest.mark.parametrize(("enc", "integ"), [(0, 2), (2, 2), (2, 0), (0, 0)])
def test_round_trip_both_directions(header_type: int, enc: int, integ: int) -> None:
    mme, ue = _pair(enc, integ)
    for i in range(300):  # across a sequence-number wrap (overflow counter increments)
        down = mme.protect(PLAIN + bytes((i & 0xFF,)), header_type)
        got = ue.unprotect(down)
        assert got == (header_type, PLAIN + bytes((i & 0xFF,)), i)
        up = ue.protect(PLAIN, header_type)
        assert mme.unprotect(up).message == PLAIN
    assert mme.dl_count == ue.dl_count == 300 and mme.ul_count == ue.ul_count == 300
    assert mme.last_ul_count == 299


def test_mac_failure_leaves_context_unchanged() -> None:
    mme, ue = _pair()
    wire = bytearray(mme.protect(PLAIN))
    wire[-1] ^= 0x01
    with pytest.raises(NasMacFailure):
        ue.unprotect(bytes(wire))
    assert ue.dl_count == 0
    wire[-1] ^= 0x01
    assert ue.unprotect(bytes(wire)).message == PLAIN


def test_replay_is_rejected() -> None:
    mme, ue = _pair()
    up = ue.protect(PLAIN)
    assert mme.unprotect(up).nas_count == 0
    with pytest.raises(NasMacFailure):
        mme.unprotect(up)  # same SN again: estimated COUNT is 256, the MAC fails


def test_wrong_direction_fails() -> None:
    mme, _ = _pair()
    other_mme, _ = _pair()
    with pytest.raises(NasMacFailure):
        other_mme.unprotect(mme.protect(PLAIN))  # a downlink message fed to the network side


def test_plain_messages() -> None:
    mme, _ = _pair()
    assert mme.unprotect(PLAIN) == (0, PLAIN, None)
    esm = b"\x52\x01\xc2"  # ESM (PD 2, EBI 5): never carries an EMM security header
    assert mme.unprotect(esm).header_type == 0
    with pytest.raises(NasError):
        mme.unprotect(PLAIN, allow_plain=False)


@pytest.mark.parametrize(
    "data", [b"", b"\x07", b"\x27\x00\x00\x00\x00\x00", b"\xc7\x00\x00\x00\x00\x00\x00\x00"]
)
def test_malformed_protected_messages(data: bytes) -> None:
    mme, _ = _pair()
    with pytest.raises(NasError):
        mme.unprotect(data)


@given(data=st.binary(max_size=64))
def test_unprotect_raises_only_nas_error(data: bytes) -> None:
    mme, _ = _pair()
    try:
        mme.unprotect(data)
    except NasError:
        pass


def test_context_persistence() -> None:
    mme, ue = _pair()
    for _ in range(3):
        mme.unprotect(ue.protect(PLAIN))
    restored = security.NasSecurityContext.from_dict(mme.to_dict())
    assert restored.ul_count == 3 and restored.k_nas_int == mme.k_nas_int
    assert restored.unprotect(ue.protect(PLAIN)).nas_count == 3


def test_context_rejects_unsupported_algorithms() -> None:
    with pytest.raises(ValueError):
        security.NasSecurityContext(kasme=KASME, ksi=0, enc_alg=1, int_alg=2, network=True)
    with pytest.raises(ValueError):
        security.NasSecurityContext(kasme=KASME, ksi=7, enc_alg=0, int_alg=2, network=True)
    ctx = security.NasSecurityContext(kasme=KASME, ksi=0, enc_alg=0, int_alg=2, network=True)
    with pytest.raises(ValueError):
        ctx.protect(PLAIN, 0)
    ctx.dl_count = security.MAX_NAS_COUNT + 1
    with pytest.raises(ValueError):
        ctx.protect(PLAIN)


# --- the whole EPS-AKA chain: HSS and USIM derive the same keys --------------------------------


def test_eps_aka_chain_hss_and_ue_agree() -> None:
    """TS 35.208 test set 1 subscriber: the HSS's K_ASME (from the vector's CK/IK and AUTN)
    equals the UE's (from the USIM's answer), and so do the NAS keys and K_eNB; a NAS message
    protected by one side verifies on the other."""
    from network_functions.protocols import aka

    k = H("465b5ce8b199b49faa5f0a2ee238a6bc")
    opc = H("cd63cb71954a9f4e48a5994e37a02baf")
    plmn = kdf.plmn_bytes("001", "01")
    vector = aka.generate_vector(k, opc, 0x20, rand=H("23553cbe9637a89d218ae64dae47bf35"))
    hss_kasme = kdf.kasme(vector.ck, vector.ik, plmn, vector.autn[:6])
    usim = aka.ue_authenticate(k, opc, vector.rand, vector.autn, sqn_ms=0)
    ue_kasme = kdf.kasme(usim.ck, usim.ik, plmn, vector.autn[:6])
    assert usim.res == vector.xres and ue_kasme == hss_kasme
    # SQN xor AK is what enters A.2: the serving network must use AUTN[0:6] as received.
    sqn_xor_ak = bytes(a ^ b for a, b in zip((0x20).to_bytes(6, "big"), vector.ak, strict=True))
    assert sqn_xor_ak == vector.autn[:6]
    mme = security.NasSecurityContext(kasme=hss_kasme, ksi=0, enc_alg=2, int_alg=2, network=True)
    ue = security.NasSecurityContext(kasme=ue_kasme, ksi=0, enc_alg=2, int_alg=2, network=False)
    assert ue.unprotect(mme.protect(PLAIN)).message == PLAIN
    assert kdf.kenb(hss_kasme, mme.last_ul_count) == kdf.kenb(ue_kasme, ue.last_ul_count)
    # Another serving network gives another K_ASME (TS 33.401 §6.1.1: binding to the SN id).
    assert kdf.kasme(usim.ck, usim.ik, kdf.plmn_bytes("001", "02"), vector.autn[:6]) != ue_kasme
